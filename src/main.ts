// Wires inputs -> rollover -> outputs, job summary and GitHub deployment. Nothing here decides
// what to do to the cluster; that is rollover.ts.
import * as core from '@actions/core'
import { systemClock } from './clock.ts'
import { newDeploymentId } from './contract/identity.ts'
import { runContextFromEnv } from './settings/github-run.ts'
import { AwsEmr, createEmrClient } from './aws/emr.ts'
import { createDeploymentReporter, type DeploymentReporter } from './report/github-deployment.ts'
import { parseSettings } from './settings/inputs.ts'

import { actedOnTheApp, newReport, type RunReport } from './rollover/report.ts'
import { runRollover } from './rollover/run.ts'
import { timingsFromEnv, type Timings } from './rollover/timings.ts'
import { createS3Client, S3ObjectStore } from './aws/s3.ts'
import { outputsOf } from './report/outputs.ts'
import { clusterConsoleUrl, renderSummary } from './report/summary.ts'
import { UserError } from './errors.ts'
import { coreLog } from './log.ts'
import { saveLockState } from './state.ts'
import type { Log } from './log.ts'
import type { Settings } from './settings/settings.ts'

export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let settings: Settings
  let timings: Partial<Timings>
  try {
    settings = parseSettings((name) => core.getInput(name), env)
    timings = timingsFromEnv(env.ROLLOVER_TIMINGS)
  } catch (error) {
    // Nothing has been called yet: a bad input never changes anything.
    core.setFailed(error instanceof Error ? error.message : String(error))
    return
  }

  if (settings.githubToken) core.setSecret(settings.githubToken)
  const region = settings.awsRegion ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1'
  const emrClient = createEmrClient({ region, env })
  const s3Client = createS3Client({ region, env })
  // One SDK attempt per call: the run paces and retries EMR itself (rollover/run.ts, PacedEmr).
  const emr = new AwsEmr(emrClient, { log: coreLog })
  const store = new S3ObjectStore(s3Client, {
    region,
    expectedBucketOwner: settings.expectedBucketOwner,
    sseKmsKeyId: settings.sseKmsKeyId,
  })
  const github = runContextFromEnv(env)
  const deploymentId = newDeploymentId(systemClock.now())
  const report = newReport(deploymentId, settings.appName, region)
  const log = collectWarnings(coreLog, report)
  const deployment = deploymentReporter(settings, env, log)
  const cancel = new AbortController()
  const onSignal = (signal: NodeJS.Signals): void => {
    log.warning(
      `Received ${signal}: the runner is cancelling the job. Closing the rollover safely.`,
    )
    cancel.abort(new UserError(`Cancelled (${signal}).`))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  core.info(
    `Deployment ${deploymentId}: rolling '${settings.appName}' over to ${describeJar(settings)}.`,
  )
  try {
    if (!settings.dryRun)
      await deployment.start({
        description: `Rolling over ${settings.appName}`,
        logUrl: github.runUrl,
      })
    await runRollover(
      {
        settings,
        emr,
        store,
        clock: systemClock,
        log,
        deploymentId,
        github,
        signal: cancel.signal,
        onLockState: saveLockState,
        timings,
      },
      report,
    )
  } catch (error) {
    report.status = 'failed'
    report.error = error instanceof Error ? error.message : String(error)
    if (!actedOnTheApp(report)) report.error += ' Nothing was stopped or submitted.'
    if (!(error instanceof UserError)) core.debug(error instanceof Error ? (error.stack ?? '') : '')
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    emrClient.destroy()
    s3Client.destroy()
  }
  report.emrCalls = emr.totalCalls
  await finish(report, settings, deployment, github.runUrl)
}

async function finish(
  report: RunReport,
  settings: Settings,
  deployment: DeploymentReporter,
  runUrl: string | undefined,
): Promise<void> {
  for (const [name, value] of Object.entries(outputsOf(report))) core.setOutput(name, value)
  if (process.env.GITHUB_STEP_SUMMARY) {
    await core.summary.addRaw(renderSummary(report), true).write()
  }
  if (!settings.dryRun) {
    const ok = report.status === 'succeeded'
    await deployment.finish(ok ? 'success' : 'failure', {
      description: ok
        ? `${report.result}: step ${outputsOf(report)['step-id']}`
        : (report.error ?? 'failed'),
      environmentUrl: report.clusterId
        ? clusterConsoleUrl(report.region ?? 'us-east-1', report.clusterId)
        : undefined,
      logUrl: runUrl,
    })
  }
  if (report.status === 'failed' || report.result === 'rolled-back') {
    core.setFailed(report.error ?? `Rollover of '${settings.appName}' failed.`)
  } else {
    core.info(
      `Result: ${report.result}. ${outputsOf(report)['step-id'] ? `Step ${outputsOf(report)['step-id']} runs ${report.jarUri}.` : ''}`,
    )
  }
}

function deploymentReporter(
  settings: Settings,
  env: NodeJS.ProcessEnv,
  log: Log,
): DeploymentReporter {
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '').split('/')
  return createDeploymentReporter({
    token: settings.githubToken,
    environment: owner && repo ? settings.environment : undefined,
    context: { owner, repo, sha: env.GITHUB_SHA ?? '', ref: env.GITHUB_REF ?? '' },
    appName: settings.appName,
    log,
  })
}

/** Warnings go to the log and also to the job summary. */
function collectWarnings(log: Log, report: RunReport): Log {
  return {
    ...log,
    warning: (message) => {
      report.warnings.push(message)
      log.warning(message)
    },
  }
}

function describeJar(settings: Settings): string {
  return settings.jar.kind === 'local'
    ? settings.jar.path
    : `s3://${settings.jar.location.bucket}/${settings.jar.location.key}`
}
