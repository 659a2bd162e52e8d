// The EMR port: the only way the rollover logic reaches EMR. Types and EMR's own vocabulary
// (step states); the adapter is aws/emr.ts, the test double test/support/fake-emr.ts.
import { UserError } from '../errors.ts'

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

/** How the workflow names the cluster: `cluster-id`, or `cluster-name` (one active match). */
export type ClusterRef =
  { readonly kind: 'id'; readonly id: string } | { readonly kind: 'name'; readonly name: string }

export interface ClusterInfo {
  readonly id: string
  readonly name: string
  /** EMR cluster state, e.g. WAITING, RUNNING, TERMINATING. */
  readonly state: string
  readonly stepConcurrencyLevel: number
  readonly releaseLabel?: string
  /** Where EMR uploads step logs (`<LogUri>/<cluster-id>/steps/<step-id>/`), when set. */
  readonly logUri?: string
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
  /** The runtime role the step runs as (clusters with runtime roles), from DescribeStep. */
  readonly executionRoleArn?: string
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
  /**
   * Read-only. Throws ClusterGone when the cluster does not exist or is terminating, UserError
   * when a name matches no or several active clusters.
   */
  resolveCluster(ref: ClusterRef): Promise<ClusterInfo>
  /** Steps in PENDING, CANCEL_PENDING or RUNNING, in no documented order (all pages). */
  listActiveSteps(clusterId: string): Promise<StepInfo[]>
  /** The cluster's newest steps in any state (ListSteps' first page, newest first: up to 50). */
  listRecentSteps(clusterId: string): Promise<StepInfo[]>
  describeStep(clusterId: string, stepId: string): Promise<StepInfo>
  /**
   * ListSteps filtered by StepIds (at most 10): the same states as DescribeStep from another of
   * EMR's quota buckets. Summaries carry no runtime role; a step EMR does not list is left out.
   */
  listStepsById(clusterId: string, stepIds: readonly string[]): Promise<StepInfo[]>
  addStep(clusterId: string, step: StepSpec, executionRoleArn?: string): Promise<string>
  cancelStep(clusterId: string, stepId: string): Promise<void>
}

/** CancelSteps answered FAILED for the step: usually it had already ended. */
export class CancelStepFailed extends Error {
  readonly stepId: string
  readonly reason: string | undefined

  constructor(stepId: string, reason: string | undefined) {
    super(`EMR refused to cancel step ${stepId}: ${reason ?? 'no reason given'}`)
    this.stepId = stepId
    this.reason = reason
    this.name = 'CancelStepFailed'
  }
}

/** The cluster does not exist (any more) or is shutting down: nothing runs on it. */
export class ClusterGone extends UserError {
  constructor(message: string) {
    super(message)
    this.name = 'ClusterGone'
  }
}
