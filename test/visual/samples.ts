// Sample run reports as the phases fill them: the job summary's unit tests assert on them and
// `npm run summary:preview` renders them as GitHub would. Times are runner epoch ms.
import { compareHandoff } from '../../src/contract/handoff.ts'
import { appIdentity } from '../../src/contract/identity.ts'
import { buildSparkStep } from '../../src/contract/step.ts'
import { newReport, type LaunchRecord, type RunReport } from '../../src/rollover/report.ts'

export const REGION = 'eu-west-1'
export const CLUSTER = 'j-2AXXXXXXGAPLF'
export const APP = 'clickstream'
export const OLD_ID = '20261201t090000z-0a1b2c'
export const NEW_ID = '20261201t120000z-7f3e9d'
const BUCKET = 's3://acme-streaming-prod-eu-west-1/rollover/clickstream'
export const OLD_JAR =
  's3://acme-artifacts-eu-west-1/jars/clickstream/clickstream-assembly-1.4.2.jar'
export const NEW_JAR =
  's3://acme-artifacts-eu-west-1/jars/clickstream/clickstream-assembly-1.5.0.jar'
export const markerOf = (id: string): string => `${BUCKET}/markers/${id}`
const RUN = 'https://github.com/acme/streaming/actions/runs/4242/attempts/1'
const OLD_RUN = 'https://github.com/acme/streaming/actions/runs/4100/attempts/1'

/** 2026-12-01T12:00:00Z: the runner's clock when the run started. */
const T = Date.parse('2026-12-01T12:00:00Z')
const at = (seconds: number): number => T + seconds * 1000

export function launch(id: string, jar: string, extra: Partial<LaunchRecord> = {}): LaunchRecord {
  return {
    deploymentId: id,
    markerUri: markerOf(id),
    jarUri: jar,
    step: buildSparkStep({
      app: appIdentity({ bucket: 'acme-rollover', key: 'streaming' }, APP),
      deploymentId: id,
      mainClass: 'com.acme.clickstream.Main',
      sparkSubmitArgs: ['--conf', 'spark.yarn.maxAppAttempts=1'],
      appArgs: ['--topic', 'clicks'],
      jarUri: jar,
      markerUri: markerOf(id),
    }),
    ...extra,
  }
}

function base(): RunReport {
  return {
    ...newReport(NEW_ID, APP, REGION),
    clusterId: CLUSTER,
    clusterName: 'streaming-prod',
    jarUri: NEW_JAR,
    jarUploaded: false,
    strategy: 'stop-start',
    emrCalls: 9,
    before: {
      deploymentId: OLD_ID,
      stepId: 's-OLDSTEP0001',
      jarUri: OLD_JAR,
      sha: '3f2a9c1d4b5e6f708192a3b4c5d6e7f801234567',
      ref: 'refs/tags/v1.4.2',
      runUrl: OLD_RUN,
      since: '2026-11-30T09:00:41.000Z',
    },
    after: {
      deploymentId: NEW_ID,
      jarUri: NEW_JAR,
      sha: '9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c',
      ref: 'refs/tags/v1.5.0',
      runUrl: RUN,
    },
  }
}

const KAFKA = 'KafkaV2[Subscribe[clicks]]'
const phasesUpTo = (verifyEnd: number, verifyStatus: 'ok' | 'failed' = 'ok') => [
  {
    name: 'Preflight',
    startedAt: at(0),
    endedAt: at(1.2),
    status: 'ok' as const,
    detail: 'active steps: s-OLDSTEP0001 (RUNNING); 1 marker',
  },
  {
    name: 'Stage',
    startedAt: at(1.2),
    endedAt: at(1.2),
    status: 'skipped' as const,
    detail: 'jar already in S3',
  },
  { name: 'Lock', startedAt: at(1.2), endedAt: at(1.5), status: 'ok' as const },
  {
    name: 'Stop',
    startedAt: at(1.5),
    endedAt: at(9.8),
    status: 'ok' as const,
    detail: 'stopped s-OLDSTEP0001 (COMPLETED)',
  },
  {
    name: 'Submit',
    startedAt: at(9.8),
    endedAt: at(10.1),
    status: 'ok' as const,
    detail: 'step s-NEWSTEP0001',
  },
  { name: 'Verify', startedAt: at(10.1), endedAt: verifyEnd, status: verifyStatus },
]

/** A stop-start rollover whose new driver resumed exactly where the old one stopped. */
export function deployedContiguous(): RunReport {
  const end = { clicks: { '0': 1_204_331, '1': 1_198_870, '2': 1_201_002 } }
  const report = base()
  return {
    ...report,
    result: 'deployed',
    status: 'succeeded',
    after: { ...report.after, stepId: 's-NEWSTEP0001' },
    previous: [{ stepId: 's-OLDSTEP0001', state: 'COMPLETED' }],
    stopStartedAt: at(1.6),
    oldStoppedAt: at(9.6),
    launch: launch(NEW_ID, NEW_JAR, {
      stepId: 's-NEWSTEP0001',
      submittedAt: at(10.0),
      runningAt: at(24.0),
      outcome: 'running',
      readiness: {
        method: 'progress',
        batches: 12,
        firstBatchId: 1208,
        lastBatchId: 1219,
        firstCommittedAt: at(31.4),
        lastCommittedAt: at(142.0),
      },
    }),
    handoff: compareHandoff(
      [{ description: KAFKA, startOffset: null, endOffset: end }],
      [{ description: KAFKA, startOffset: end, endOffset: null }],
    ),
    handoffTimes: {
      stopRequestedAt: at(1.6),
      oldLastBatchAt: at(5.2),
      oldStoppedAt: at(8.9),
      newFirstBatchAt: at(31.4),
    },
    downtime: { seconds: 26.2, measuredBy: 'drivers' },
    phases: phasesUpTo(at(144.2)),
  }
}

/** The new driver started from stale offsets (a gap), died, and the previous version came back. */
export function rolledBackGap(): RunReport {
  const report = base()
  const failure = 'step s-NEWSTEP0001 ended FAILED 41.0s after it started: Unknown Error.'
  return {
    ...report,
    result: 'rolled-back',
    status: 'failed',
    error: `The new step s-NEWSTEP0001 stopped after it started: ${failure}\nRolled back: s-RBSTEP00001 runs the previous version again (${OLD_JAR}).`,
    previous: [{ stepId: 's-OLDSTEP0001', state: 'COMPLETED' }],
    stopStartedAt: at(1.6),
    oldStoppedAt: at(9.6),
    launch: launch(NEW_ID, NEW_JAR, {
      stepId: 's-NEWSTEP0001',
      submittedAt: at(10.0),
      runningAt: at(23.0),
      outcome: 'died',
      failure,
      failureDetails: {
        reason: 'Unknown Error.',
        logFile:
          's3://aws-logs-123456789012-eu-west-1/elasticmapreduce/j-2AXXXXXXGAPLF/steps/s-NEWSTEP0001/stderr.gz',
        stderrTail: [
          '26/12/01 12:00:58 INFO Client: Application report for application_1764590000000_0042 (state: RUNNING)',
          '26/12/01 12:01:04 INFO Client: Application report for application_1764590000000_0042 (state: FINISHED)',
          '26/12/01 12:01:04 INFO Client:',
          '\t client token: N/A',
          '\t diagnostics: User class threw exception: java.lang.IllegalStateException: Offsets out of range with no configured reset policy for partitions: {clicks-1=1198870}',
          '\t final status: FAILED',
          'Exception in thread "main" org.apache.spark.SparkException: Application application_1764590000000_0042 finished with failed status',
          '\tat org.apache.spark.deploy.yarn.Client.run(Client.scala:1342)',
        ],
        stderrNote:
          "The driver's own log is in s3://aws-logs-123456789012-eu-west-1/elasticmapreduce/j-2AXXXXXXGAPLF/containers/application_1764590000000_0042/ (its first container).",
      },
      readiness: {
        method: 'progress',
        batches: 1,
        firstBatchId: 1208,
        lastBatchId: 1208,
        firstCommittedAt: at(30.2),
        lastCommittedAt: at(30.2),
      },
    }),
    rollback: launch(`${NEW_ID}-rb`, OLD_JAR, {
      stepId: 's-RBSTEP00001',
      submittedAt: at(66.0),
      runningAt: at(78.5),
      outcome: 'running',
      readiness: { method: 'progress', batches: 10, firstBatchId: 1209, lastBatchId: 1218 },
    }),
    handoff: compareHandoff(
      [
        {
          description: KAFKA,
          startOffset: null,
          endOffset: { clicks: { '0': 1_204_331, '1': 1_198_870 } },
        },
      ],
      [
        {
          description: KAFKA,
          startOffset: { clicks: { '0': 1_204_331, '1': 1_199_870 } },
          endOffset: null,
        },
      ],
    ),
    handoffTimes: {
      stopRequestedAt: at(1.6),
      oldLastBatchAt: at(5.2),
      oldStoppedAt: at(8.9),
      newFirstBatchAt: at(30.2),
    },
    downtime: { seconds: 25.0, measuredBy: 'drivers' },
    phases: [
      ...phasesUpTo(at(64.0), 'failed').map((p) =>
        p.name === 'Verify' ? { ...p, detail: failure } : p,
      ),
      {
        name: 'Rollback',
        startedAt: at(64.0),
        endedAt: at(200.0),
        status: 'ok',
        detail: 's-RBSTEP00001 running',
      },
    ],
    warnings: [
      `Handoff gap on ${KAFKA}: clicks[1]: 1000 offsets skipped (old end 1198870, new start 1199870)`,
      failure,
    ],
  }
}

/** A first deploy whose step failed before it ran; the workflow may read the cluster's logs. */
export function failedFirstDeploy(): RunReport {
  const report = base()
  const failure =
    'step s-NEWSTEP0001 ended FAILED before running: Unknown Error.: Exception in thread "main" java.io.FileNotFoundException: File does not exist: s3://acme-artifacts-eu-west-1/jars/clickstream/clickstream-assembly-1.5.0.jar'
  return {
    ...report,
    before: undefined,
    result: undefined,
    status: 'failed',
    error: `The new step s-NEWSTEP0001 did not start: ${failure}. Nothing to roll back to (first deploy).`,
    stopStartedAt: at(1.6),
    oldStoppedAt: at(1.6),
    launch: launch(NEW_ID, NEW_JAR, {
      stepId: 's-NEWSTEP0001',
      submittedAt: at(2.0),
      outcome: 'failed-to-start',
      failure,
      failureDetails: {
        reason: 'Unknown Error.',
        message:
          'Exception in thread "main" java.io.FileNotFoundException: File does not exist: s3://acme-artifacts-eu-west-1/jars/clickstream/clickstream-assembly-1.5.0.jar',
        logFile:
          's3://aws-logs-123456789012-eu-west-1/elasticmapreduce/j-2AXXXXXXGAPLF/steps/s-NEWSTEP0001/stderr.gz',
        stderrTail: [
          'Warning: Skip remote jar s3://acme-artifacts-eu-west-1/jars/clickstream/clickstream-assembly-1.5.0.jar.',
          '26/12/01 12:00:14 INFO DefaultNoHARMFailoverProxyProvider: Connecting to ResourceManager at ip-10-0-1-23.eu-west-1.compute.internal/10.0.1.23:8032',
          'Exception in thread "main" java.io.FileNotFoundException: File does not exist: s3://acme-artifacts-eu-west-1/jars/clickstream/clickstream-assembly-1.5.0.jar',
          '\tat com.amazon.ws.emr.hadoop.fs.s3n.S3NativeFileSystem.getFileStatus(S3NativeFileSystem.java:830)',
          '\tat org.apache.spark.deploy.yarn.Client.copyFileToRemote(Client.scala:436)',
          '\tat org.apache.spark.deploy.yarn.Client.run(Client.scala:1342)',
          '| a pipe, <b>html</b>, ``` a fence, and [a](javascript:alert(1)) in the log',
        ],
      },
    }),
    phases: [
      {
        name: 'Preflight',
        startedAt: at(0),
        endedAt: at(1.1),
        status: 'ok',
        detail: 'no active step; no marker (first deploy)',
      },
      {
        name: 'Stage',
        startedAt: at(1.1),
        endedAt: at(1.1),
        status: 'skipped',
        detail: 'jar already in S3',
      },
      { name: 'Lock', startedAt: at(1.1), endedAt: at(1.5), status: 'ok' },
      {
        name: 'Stop',
        startedAt: at(1.5),
        endedAt: at(1.6),
        status: 'ok',
        detail: 'nothing to stop',
      },
      { name: 'Submit', startedAt: at(1.6), endedAt: at(2.0), status: 'ok' },
      { name: 'Verify', startedAt: at(2.0), endedAt: at(19.0), status: 'failed', detail: failure },
    ],
    warnings: [failure],
  }
}

/** The standby strategy: the new driver waited warm until the old one had stopped. */
export function standbyDeploy(): RunReport {
  const end = { clicks: { '0': 1_204_331, '1': 1_198_870 } }
  const report = deployedContiguous()
  return {
    ...report,
    strategy: 'standby',
    launch: {
      ...(report.launch as LaunchRecord),
      submittedAt: at(2.0),
      runningAt: at(14.0),
      readyAt: at(38.0),
      switchedAt: at(47.2),
      readiness: {
        method: 'progress',
        batches: 9,
        firstBatchId: 1208,
        lastBatchId: 1216,
        firstCommittedAt: at(49.0),
        lastCommittedAt: at(170.0),
      },
    },
    stopStartedAt: at(38.2),
    oldStoppedAt: at(47.0),
    handoff: compareHandoff(
      [{ description: KAFKA, startOffset: null, endOffset: end }],
      [{ description: KAFKA, startOffset: end, endOffset: null }],
    ),
    handoffTimes: {
      stopRequestedAt: at(38.2),
      oldLastBatchAt: at(44.0),
      oldStoppedAt: at(46.4),
      newFirstBatchAt: at(49.0),
    },
    downtime: { seconds: 5.0, measuredBy: 'drivers' },
  }
}

/** A driver without progress reports (DStreams): verified by EMR state only. */
export function deployedEmrStateOnly(): RunReport {
  const report = deployedContiguous()
  return {
    ...report,
    launch: { ...(report.launch as LaunchRecord), readiness: { method: 'emr-state' } },
    handoff: compareHandoff(
      [{ description: 'input-0', startOffset: null, endOffset: null }],
      [{ description: 'input-0', startOffset: null, endOffset: null }],
    ),
    handoffTimes: { stopRequestedAt: at(1.6), oldStoppedAt: at(8.9) },
    downtime: { seconds: 15.1, measuredBy: 'action' },
  }
}

/** A dry run: the plan, nothing changed. */
export function dryRun(): RunReport {
  const report = base()
  return {
    ...report,
    result: 'planned',
    status: 'succeeded',
    plan: {
      stop: ['step s-OLDSTEP0001 (RUNNING)', `marker ${markerOf(OLD_ID)}`],
      markerUri: markerOf(NEW_ID),
      step: launch(NEW_ID, NEW_JAR).step,
    },
    phases: [
      {
        name: 'Preflight',
        startedAt: at(0),
        endedAt: at(1.3),
        status: 'ok',
        detail: 'active steps: s-OLDSTEP0001 (RUNNING); 1 marker',
      },
    ],
  }
}

export const SAMPLES: ReadonlyArray<readonly [name: string, make: () => RunReport]> = [
  ['deployed-contiguous', deployedContiguous],
  ['rolled-back-gap', rolledBackGap],
  ['failed-first-deploy', failedFirstDeploy],
  ['standby', standbyDeploy],
  ['emr-state-only', deployedEmrStateOnly],
  ['dry-run', dryRun],
]
