// The typed, immutable result of reading the action's inputs (inputs.ts builds it). Each field
// names the input it comes from and its unit, as actions/checkout's settings interface does.
import type { ClusterRef } from '../aws/emr-port.ts'
import type { S3Location } from '../aws/s3-location.ts'

export type { ClusterRef } from '../aws/emr-port.ts'

/** Input `jar`: a local file (staged to S3 by the action) or an existing S3 object. */
export type JarSource =
  | { readonly kind: 'local'; readonly path: string }
  | { readonly kind: 's3'; readonly location: S3Location }

/** Input `on-stop-timeout`. */
export type OnStopTimeout = 'fail' | 'kill'

/** Input `strategy`: the order of the phases (DESIGN.md, "The strategies"). */
export type Strategy = 'stop-start' | 'standby'

/** Input `verify-by`: how the new driver is judged healthy. */
export type VerifyBy = 'auto' | 'progress' | 'emr-state'

export interface Settings {
  /** `app-name`: keys the app's markers, lock and records, its step names and YARN tags. */
  readonly appName: string
  /** `cluster-id` or `cluster-name`. */
  readonly cluster: ClusterRef
  /** `jar`; a relative local path is resolved against GITHUB_WORKSPACE. */
  readonly jar: JarSource
  /** `main-class`: spark-submit `--class`. */
  readonly mainClass: string
  /** `spark-submit-args`: one argv element per line, checked against spark-submit's options. */
  readonly sparkSubmitArgs: readonly string[]
  /** `app-args`: the application's own arguments, one per line. */
  readonly appArgs: readonly string[]
  /** `marker-prefix`: where `<app-name>/markers/`, the lock and the records live. */
  readonly markerPrefix: S3Location
  /** `artifact-prefix`: where local jars are staged (default `<marker-prefix>/artifacts`). */
  readonly artifactPrefix: S3Location
  /** `stop-timeout`, milliseconds: how long the old driver may take to drain and exit. */
  readonly stopTimeoutMs: number
  /** `on-stop-timeout`: what to do when it does not. */
  readonly onStopTimeout: OnStopTimeout
  /** `start-timeout`, milliseconds: how long the new step may take to reach RUNNING. */
  readonly startTimeoutMs: number
  /** `stable-for`, milliseconds: how long the new driver must stay up (0: no window). */
  readonly stableForMs: number
  /** `rollback`: resubmit the last verified deployment when the new one fails. */
  readonly rollback: boolean
  /** `strategy`: `stop-start`, or `standby` (the new driver starts before the old one stops). */
  readonly strategy: Strategy
  /**
   * `verify-by`: `progress` (the driver's `.progress` reports), `emr-state` (the step stays
   * RUNNING), or `auto` (progress when the driver publishes it).
   */
  readonly verifyBy: VerifyBy
  /** `ready-batches`: batches of its own the new driver must commit within start-timeout. */
  readonly readyBatches: number
  /**
   * `heartbeat-timeout`, milliseconds: the longest a driver may go without committing a batch;
   * undefined for `auto` (three batch intervals, at least a minute).
   */
  readonly heartbeatTimeoutMs?: number
  /** `lock-timeout`, milliseconds: how long to wait for another rollover of the app. */
  readonly lockTimeoutMs: number
  /** `dry-run`: read-only checks and the plan, nothing changed. */
  readonly dryRun: boolean
  /** `execution-role-arn`: the step's runtime role (clusters with runtime roles). */
  readonly executionRoleArn?: string
  /** `expected-bucket-owner`: account id sent as ExpectedBucketOwner on every S3 call. */
  readonly expectedBucketOwner?: string
  /** `sse-kms-key-id`: SSE-KMS key for every object the action writes. */
  readonly sseKmsKeyId?: string
  /** `github-token`: for the GitHub deployment; masked in the log. */
  readonly githubToken?: string
  /** `environment`: the GitHub environment the deployment is recorded under. */
  readonly environment?: string
  /** `aws-region`, else AWS_REGION / AWS_DEFAULT_REGION. */
  readonly awsRegion?: string
}
