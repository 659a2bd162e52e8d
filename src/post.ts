// The action's `post` step: runs after the job's steps, also when the main step was cancelled
// or crashed, and releases the deploy lock the main step still held.
import * as core from '@actions/core'
import { coreLog } from './log.ts'
import { releaseLockByEtag } from './rollover/lock-body.ts'
import { readLockState } from './state.ts'
import { createS3Client, S3ObjectStore } from './aws/s3.ts'

export async function post(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const state = readLockState()
  if (!state) {
    core.debug('No deploy lock left to release.')
    return
  }
  const region = core.getInput('aws-region') || env.AWS_REGION || env.AWS_DEFAULT_REGION
  const client = createS3Client({ region, env })
  try {
    const owner = core.getInput('expected-bucket-owner') || undefined
    const store = new S3ObjectStore(client, { region, expectedBucketOwner: owner })
    await releaseLockByEtag(store, state.location, state.etag, coreLog, state.deploymentId)
  } catch (error) {
    // The lease runs out by itself within a minute; a failing post step must not hide that.
    core.warning(
      `Could not release the deploy lock: ${error instanceof Error ? error.message : String(error)}. It expires within a minute.`,
    )
  } finally {
    client.destroy()
  }
}

await post()
