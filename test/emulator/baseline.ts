// The naive baseline of `npm run bench`: a rollover script as one is commonly written, with the
// AWS SDK v3 directly. It is the comparison point, not an example to follow:
//
// - it uploads the new jar only after the old driver has stopped, so the upload is downtime;
// - it waits with the SDK waiter `waitUntilStepComplete` at its defaults (a first check at once,
//   then after 30 s, then 30-120 s apart), which throws on CANCELLED and FAILED and ignores
//   INTERRUPTED;
// - no lock, no verification that the new step runs, no rollback, no kill of a stuck driver.
//
// It keeps the marker contract (delete the marker, wait for the step to end, write the new
// marker before submitting), so it is as safe for the data as the action, only slower.
import { readFile } from 'node:fs/promises'
import {
  AddJobFlowStepsCommand,
  ListStepsCommand,
  waitUntilStepComplete,
  type EMRClient,
} from '@aws-sdk/client-emr'
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'

export interface NaiveRolloverOptions {
  readonly emr: EMRClient
  readonly s3: S3Client
  readonly clusterId: string
  /** The step name, and how the script finds the running step again. */
  readonly appName: string
  readonly bucket: string
  /** One fixed marker object per app: the driver runs while it exists. */
  readonly markerKey: string
  /** The local jar, uploaded to `jarKey`. */
  readonly jarPath: string
  readonly jarKey: string
  readonly mainClass: string
  readonly appArgs: readonly string[]
}

export interface NaiveRolloverResult {
  readonly startedAt: number
  /** The step that was stopped (none on a first deploy). */
  readonly stoppedStepId?: string
  /** DeleteObject of the marker returned. */
  readonly markerDeletedAt?: number
  /** The waiter returned: the script knows the old step ended. */
  readonly stopConfirmedAt?: number
  readonly uploadMs: number
  /** AddJobFlowSteps returned. */
  readonly submittedAt: number
  readonly stepId: string
}

export async function naiveRollover(o: NaiveRolloverOptions): Promise<NaiveRolloverResult> {
  const startedAt = Date.now()
  const { Steps: running = [] } = await o.emr.send(
    new ListStepsCommand({ ClusterId: o.clusterId, StepStates: ['RUNNING'] }),
  )
  const current = running.find((s) => s.Name === o.appName)

  let markerDeletedAt: number | undefined
  let stopConfirmedAt: number | undefined
  if (current?.Id) {
    await o.s3.send(new DeleteObjectCommand({ Bucket: o.bucket, Key: o.markerKey }))
    markerDeletedAt = Date.now()
    // Throws on CANCELLED or FAILED, which is what a naive script would let happen.
    await waitUntilStepComplete(
      { client: o.emr, maxWaitTime: 30 * 60 },
      { ClusterId: o.clusterId, StepId: current.Id },
    )
    stopConfirmedAt = Date.now()
  }

  const uploadStarted = Date.now()
  await o.s3.send(
    new PutObjectCommand({ Bucket: o.bucket, Key: o.jarKey, Body: await readFile(o.jarPath) }),
  )
  const uploadMs = Date.now() - uploadStarted

  const markerUri = `s3://${o.bucket}/${o.markerKey}`
  await o.s3.send(new PutObjectCommand({ Bucket: o.bucket, Key: o.markerKey, Body: '{}' }))
  const out = await o.emr.send(
    new AddJobFlowStepsCommand({
      JobFlowId: o.clusterId,
      Steps: [
        {
          Name: o.appName,
          ActionOnFailure: 'CONTINUE',
          HadoopJarStep: {
            Jar: 'command-runner.jar',
            Args: [
              'spark-submit',
              '--deploy-mode',
              'cluster',
              '--master',
              'yarn',
              '--class',
              o.mainClass,
              '--conf',
              `spark.rollover.marker=${markerUri}`,
              '--conf',
              `spark.yarn.appMasterEnv.ROLLOVER_MARKER=${markerUri}`,
              `s3://${o.bucket}/${o.jarKey}`,
              ...o.appArgs,
            ],
          },
        },
      ],
    }),
  )
  const stepId = out.StepIds?.[0]
  if (!stepId) throw new Error('AddJobFlowSteps returned no step id')
  return {
    startedAt,
    stoppedStepId: current?.Id,
    markerDeletedAt,
    stopConfirmedAt,
    uploadMs,
    submittedAt: Date.now(),
    stepId,
  }
}
