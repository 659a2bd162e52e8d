// The emulator's records and their wire shapes, as the SDK's awsJson1_1 deserializer reads them
// (node_modules/@aws-sdk/client-emr/dist-es/schemas/schemas_0.js): timestamps are epoch seconds,
// HadoopStepConfig.Properties is a map on the way out but a KeyValueList on the way in.
import type { StepState } from '../../src/aws/emr-port.ts'

export interface ClusterRecord {
  readonly id: string
  readonly name: string
  state: string
  stateChangeReason?: { Code?: string; Message?: string }
  stepConcurrencyLevel: number
  readonly createdAt: number
  readonly readyAt: number
  readonly releaseLabel: string
  readonly arn: string
  /** A security configuration with runtime roles: every step needs ExecutionRoleArn. */
  readonly runtimeRoles: boolean
  /** Where step logs go (`<LogUri>/<cluster-id>/steps/<step-id>/`), when set. */
  readonly logUri?: string
}

export interface FailureDetails {
  readonly Reason?: string
  readonly Message?: string
  readonly LogFile?: string
}

export interface StepRecord {
  readonly id: string
  readonly seq: number
  readonly clusterId: string
  readonly name: string
  readonly jar: string
  readonly args: readonly string[]
  readonly mainClass?: string
  readonly properties: Readonly<Record<string, string>>
  readonly actionOnFailure: string
  readonly executionRoleArn?: string
  state: StepState
  stateChangeReason?: { Code?: string; Message?: string }
  failure?: FailureDetails
  readonly createdAt: number
  startedAt?: number
  endedAt?: number
  readonly appIds: string[]
  /** What the step itself printed (kill steps); spark steps show their application's log. */
  readonly logs: string[]
  /** Cancelled while the `cancelHangs` fault was on: CANCEL_PENDING until its app ends. */
  cancelHangs?: boolean
  /** Every state the step went through: lets a test prove it passed CANCEL_PENDING. */
  readonly history: Array<{ readonly state: StepState; readonly t: number }>
}

/** Moves a step to `state`, keeping its history. */
export function setState(step: StepRecord, state: StepState): void {
  step.state = state
  step.history.push({ state, t: Date.now() })
}

/** An error as EMR returns it: `__type` names the exception, HTTP 400 unless a server fault. */
export class ApiError extends Error {
  readonly type: string
  readonly status: number
  constructor(type: string, message: string, status = 400) {
    super(message)
    this.type = type
    this.status = status
  }
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000)

export function clusterStatus(c: ClusterRecord): Record<string, unknown> {
  return {
    State: c.state,
    StateChangeReason: c.stateChangeReason ?? {},
    Timeline: { CreationDateTime: seconds(c.createdAt), ReadyDateTime: seconds(c.readyAt) },
  }
}

export function clusterShape(c: ClusterRecord): Record<string, unknown> {
  return {
    Id: c.id,
    Name: c.name,
    Status: clusterStatus(c),
    ReleaseLabel: c.releaseLabel,
    ClusterArn: c.arn,
    ...(c.logUri ? { LogUri: c.logUri } : {}),
    ...(c.runtimeRoles ? { SecurityConfiguration: 'rollover-runtime-roles' } : {}),
    StepConcurrencyLevel: c.stepConcurrencyLevel,
    Applications: [
      { Name: 'Hadoop', Version: '3.4.0' },
      { Name: 'Spark', Version: '3.5.2' },
    ],
    AutoTerminate: false,
    TerminationProtected: false,
    VisibleToAllUsers: true,
    NormalizedInstanceHours: 0,
    MasterPublicDnsName: 'ip-10-0-0-1.ec2.internal',
    InstanceCollectionType: 'INSTANCE_GROUP',
    ServiceRole: 'EMR_DefaultRole',
    Tags: [],
  }
}

export function clusterSummaryShape(c: ClusterRecord): Record<string, unknown> {
  return {
    Id: c.id,
    Name: c.name,
    Status: clusterStatus(c),
    NormalizedInstanceHours: 0,
    ClusterArn: c.arn,
  }
}

export function stepSummaryShape(s: StepRecord): Record<string, unknown> {
  return {
    Id: s.id,
    Name: s.name,
    Config: {
      Jar: s.jar,
      Properties: s.properties,
      ...(s.mainClass ? { MainClass: s.mainClass } : {}),
      Args: s.args,
    },
    ActionOnFailure: s.actionOnFailure,
    Status: {
      State: s.state,
      StateChangeReason: s.stateChangeReason ?? {},
      ...(s.failure ? { FailureDetails: s.failure } : {}),
      Timeline: {
        CreationDateTime: seconds(s.createdAt),
        StartDateTime: seconds(s.startedAt),
        EndDateTime: seconds(s.endedAt),
      },
    },
  }
}

/** DescribeStep's Step: the summary and the runtime role (StepSummary has no role in EMR). */
export function stepShape(s: StepRecord): Record<string, unknown> {
  return {
    ...stepSummaryShape(s),
    ...(s.executionRoleArn ? { ExecutionRoleArn: s.executionRoleArn } : {}),
  }
}

/** Reads a required string member, failing the way EMR's validation does. */
export function requireString(body: Record<string, unknown>, name: string): string {
  const value = body[name]
  if (typeof value !== 'string' || value === '') {
    throw new ApiError('ValidationException', `1 validation error detected: ${name} is required`)
  }
  return value
}

export function optionalStrings(body: Record<string, unknown>, name: string): string[] | undefined {
  const value = body[name]
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new ApiError('ValidationException', `${name} must be a list of strings`)
  }
  return value as string[]
}

const PAGE_SIZE = 50

/** EMR pages by 50 with an opaque Marker; ours is the index of the next item. */
export function page<T>(
  items: readonly T[],
  marker: unknown,
  size = PAGE_SIZE,
): { items: T[]; marker?: string } {
  const start = typeof marker === 'string' && /^\d+$/.test(marker) ? Number(marker) : 0
  const slice = items.slice(start, start + size)
  const next = start + size < items.length ? String(start + size) : undefined
  return { items: slice, ...(next ? { marker: next } : {}) }
}
