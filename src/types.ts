// Domain types shared by every module. The two ports (EmrPort, ObjectStore) are the only way
// the rollover logic touches AWS, so it can be driven by fakes and a fake clock in tests.

/** An S3 object or prefix. `key` never starts with '/'; a prefix never ends with '/'. */
export interface S3Location {
  readonly bucket: string
  readonly key: string
}

export type ClusterRef =
  { readonly kind: 'id'; readonly id: string } | { readonly kind: 'name'; readonly name: string }

export type JarSource =
  | { readonly kind: 'local'; readonly path: string }
  | { readonly kind: 's3'; readonly location: S3Location }

export type OnStopTimeout = 'fail' | 'kill'

/** GitHub context recorded in markers, locks and deployment records. */
export interface RunContext {
  readonly repository?: string
  readonly sha?: string
  readonly ref?: string
  readonly runId?: string
  readonly runAttempt?: string
  readonly runUrl?: string
  readonly actor?: string
  readonly workflow?: string
}

/** Every input, parsed and validated. Immutable: built once by inputs.ts. */
export interface Settings {
  readonly appName: string
  readonly cluster: ClusterRef
  readonly jar: JarSource
  readonly mainClass: string
  readonly sparkSubmitArgs: readonly string[]
  readonly appArgs: readonly string[]
  readonly markerPrefix: S3Location
  readonly artifactPrefix: S3Location
  readonly stopTimeoutMs: number
  readonly onStopTimeout: OnStopTimeout
  readonly startTimeoutMs: number
  readonly stableForMs: number
  readonly rollback: boolean
  readonly lockTimeoutMs: number
  readonly dryRun: boolean
  readonly executionRoleArn?: string
  readonly expectedBucketOwner?: string
  readonly sseKmsKeyId?: string
  readonly githubToken?: string
  readonly environment?: string
  readonly awsRegion?: string
}

// ---------------------------------------------------------------- EMR port

export const STEP_STATES = [
  'PENDING',
  'CANCEL_PENDING',
  'RUNNING',
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'INTERRUPTED',
] as const
export type StepState = (typeof STEP_STATES)[number]
export const TERMINAL_STEP_STATES: ReadonlySet<StepState> = new Set([
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'INTERRUPTED',
])
export const ACTIVE_STEP_STATES: readonly StepState[] = ['PENDING', 'CANCEL_PENDING', 'RUNNING']

export function isTerminal(state: StepState): boolean {
  return TERMINAL_STEP_STATES.has(state)
}

export interface ClusterInfo {
  readonly id: string
  readonly name: string
  /** EMR cluster state, e.g. WAITING, RUNNING, TERMINATING. */
  readonly state: string
  readonly stepConcurrencyLevel: number
  readonly releaseLabel?: string
}

/** What AddJobFlowSteps takes, and what DescribeStep/ListSteps give back. */
export interface StepSpec {
  readonly name: string
  readonly jar: string
  readonly args: readonly string[]
  readonly actionOnFailure: 'CONTINUE' | 'CANCEL_AND_WAIT' | 'TERMINATE_CLUSTER'
}

export interface StepInfo extends StepSpec {
  readonly id: string
  readonly state: StepState
  readonly createdAt?: Date
  readonly startedAt?: Date
  readonly endedAt?: Date
  /** From Status.FailureDetails: reason/message, and the log file if EMR knows it. */
  readonly failure?: {
    readonly reason?: string
    readonly message?: string
    readonly logFile?: string
  }
}

export interface EmrPort {
  /** Read-only. Throws UserError when nothing, or more than one active cluster, matches. */
  resolveCluster(ref: ClusterRef): Promise<ClusterInfo>
  /** Steps in PENDING, CANCEL_PENDING or RUNNING, newest first. */
  listActiveSteps(clusterId: string): Promise<StepInfo[]>
  describeStep(clusterId: string, stepId: string): Promise<StepInfo>
  addStep(clusterId: string, step: StepSpec, executionRoleArn?: string): Promise<string>
  cancelStep(clusterId: string, stepId: string): Promise<void>
}

// ---------------------------------------------------------------- S3 port

export interface ObjectHead {
  readonly etag: string
  readonly size: number
  readonly lastModified?: Date
}

export interface ObjectText extends ObjectHead {
  readonly body: string
}

export interface ListedObject extends ObjectHead {
  readonly key: string
}

/** Conditions for compare-and-swap writes. `ifNoneMatch` = create only. */
export interface WriteCondition {
  readonly ifNoneMatch?: true
  readonly ifMatch?: string
}

export interface UploadProgress {
  readonly loaded: number
  readonly total: number
}

/**
 * Thrown by ObjectStore when a conditional write or delete does not apply (HTTP 412), or loses a
 * race with a concurrent write (HTTP 409). Callers re-read and decide.
 */
export class PreconditionFailed extends Error {
  readonly location: S3Location
  readonly status: 409 | 412

  constructor(location: S3Location, status: 409 | 412) {
    super(`condition failed on s3://${location.bucket}/${location.key} (HTTP ${status})`)
    this.location = location
    this.status = status
    this.name = 'PreconditionFailed'
  }
}

export interface ObjectStore {
  /** undefined when the object does not exist. */
  head(location: S3Location): Promise<ObjectHead | undefined>
  /** undefined when the object does not exist. */
  getText(location: S3Location): Promise<ObjectText | undefined>
  /** Every object whose key starts with `prefix.key + '/'`, all pages. */
  list(prefix: S3Location): Promise<ListedObject[]>
  /** Returns the new ETag. Throws PreconditionFailed when `condition` does not hold. */
  putText(location: S3Location, body: string, condition?: WriteCondition): Promise<string>
  /** Deleting a missing object succeeds. Throws PreconditionFailed when `ifMatch` does not hold. */
  delete(location: S3Location, condition?: { readonly ifMatch?: string }): Promise<void>
  /** Uploads a local file (multipart when large), reporting progress. */
  uploadFile(
    location: S3Location,
    filePath: string,
    onProgress?: (progress: UploadProgress) => void,
  ): Promise<void>
}

// ---------------------------------------------------------------- time and logging

/** Injected so that polling and leases are tested without real time. */
export interface Clock {
  now(): number
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export interface Log {
  info(message: string): void
  warning(message: string): void
  debug(message: string): void
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
}

/** An error whose message is written for the person running the workflow. */
export class UserError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UserError'
  }
}

export function s3Uri(location: S3Location): string {
  return `s3://${location.bucket}/${location.key}`
}

export function child(prefix: S3Location, ...parts: string[]): S3Location {
  const key = [prefix.key, ...parts].filter((p) => p !== '').join('/')
  return { bucket: prefix.bucket, key }
}
