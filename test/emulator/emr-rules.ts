// EMR's step rules as the rollover depends on them, written once and used by both EMR doubles:
// the in-memory FakeEmr of the unit tests (fake clock) and the EmrEmulator of the local stack
// (real processes). Pure functions over plain step records.
import type { StepState } from '../../src/aws/emr-port.ts'
import { KILL_STEP_MARKER_ARG, killStepTags } from '../../src/contract/kill-step.ts'
import { MARKER_CONF, TAGS_CONF, parseSparkSubmitArgs } from '../../src/contract/spark-submit.ts'

/** Clusters in these states take steps and show in ListClusters' default filter. */
export const ACTIVE_CLUSTER_STATES: ReadonlySet<string> = new Set([
  'STARTING',
  'BOOTSTRAPPING',
  'RUNNING',
  'WAITING',
])

/** EMR's ValidationException text for AddJobFlowSteps on a cluster that is going away. */
export const CLUSTER_NOT_MODIFIABLE =
  'A job flow that is shutting down, terminated, or finished may not be modified.'

// ------------------------------------------------------------------ runtime roles

/** EMR's ValidationException texts for AddJobFlowSteps (as EMR 6.7+ words them). */
export const RUNTIME_ROLE_REQUIRED =
  'Runtime roles are required for this cluster. Please specify the role using the ExecutionRoleArn parameter.'
export const RUNTIME_ROLE_NOT_SUPPORTED =
  'Runtime roles are not supported on this cluster. Please remove the ExecutionRoleArn parameter.'

/**
 * On a cluster with runtime roles (a security configuration that enables them) every step
 * needs ExecutionRoleArn, the kill step too; on any other cluster a role is refused.
 */
export function runtimeRoleProblem(
  clusterHasRuntimeRoles: boolean,
  executionRoleArn: string | undefined,
): string | undefined {
  const given = executionRoleArn !== undefined && executionRoleArn !== ''
  if (clusterHasRuntimeRoles && !given) return RUNTIME_ROLE_REQUIRED
  if (!clusterHasRuntimeRoles && given) return RUNTIME_ROLE_NOT_SUPPORTED
  return undefined
}

// ------------------------------------------------------------------ what a step runs

export type StepKind = 'spark' | 'kill' | 'other'

/** What a step runs: spark-submit, the rollover's YARN kill script, or anything else. */
export function stepKind(spec: {
  readonly jar: string
  readonly args: readonly string[]
}): StepKind {
  if (spec.jar !== 'command-runner.jar') return 'other'
  if (spec.args[0] === 'spark-submit') return 'spark'
  if (spec.args[0] === 'bash' && spec.args[3] === KILL_STEP_MARKER_ARG) return 'kill'
  return 'other'
}

/** The tags a kill step kills by (its arguments after `rollover-kill`), lower-cased. */
export function killTagsOf(args: readonly string[]): string[] {
  return killStepTags(args)
}

/** The YARN tags of a spark-submit step's application; YARN lower-cases them. */
export function yarnTagsOf(sparkArgs: readonly string[]): string[] {
  return (parseSparkSubmitArgs(sparkArgs).confs.get(TAGS_CONF) ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '')
}

export function markerUriOfSpark(sparkArgs: readonly string[]): string | undefined {
  return parseSparkSubmitArgs(sparkArgs).confs.get(MARKER_CONF)
}

/** spark.yarn.maxAppAttempts, else YARN's yarn.resourcemanager.am.max-attempts default (2). */
export function maxAppAttemptsOf(sparkArgs: readonly string[]): number {
  const value = Number(parseSparkSubmitArgs(sparkArgs).confs.get('spark.yarn.maxAppAttempts'))
  return Number.isInteger(value) && value >= 1 ? value : 2
}

// ------------------------------------------------------------------ the queue

export interface ScheduledStep {
  readonly id: string
  readonly seq: number
  readonly state: StepState
}

/**
 * FIFO: the oldest PENDING steps get the free slots of StepConcurrencyLevel. A step that is
 * RUNNING or CANCEL_PENDING (or already starting) holds a slot.
 */
export function stepsToStart<T extends ScheduledStep>(
  steps: readonly T[],
  concurrency: number,
  isStarting: (step: T) => boolean,
  mayStart: (step: T) => boolean = () => true,
): T[] {
  const ordered = [...steps].sort((a, b) => a.seq - b.seq)
  const busy = ordered.filter(
    (s) => s.state === 'RUNNING' || s.state === 'CANCEL_PENDING' || isStarting(s),
  ).length
  let free = concurrency - busy
  const start: T[] = []
  for (const step of ordered) {
    if (free <= 0) break
    if (step.state !== 'PENDING' || isStarting(step) || !mayStart(step)) continue
    free -= 1
    start.push(step)
  }
  return start
}

// ------------------------------------------------------------------ ListSteps and history

/** ListSteps answers at most this many steps per page, with a Marker for the next. */
export const LIST_STEPS_PAGE_SIZE = 50
/** ListSteps takes at most this many StepIds. */
export const LIST_STEPS_MAX_IDS = 10
/** EMR keeps about this many steps of a cluster's history; older ones are no longer listed. */
export const STEP_HISTORY_LIMIT = 1000

/**
 * ListSteps' order: newest first without a filter; with a StepStates (or StepIds) filter EMR
 * documents no reverse order, and answers oldest first.
 */
export function listStepsOrder<T extends { readonly seq: number }>(
  steps: readonly T[],
  filtered: boolean,
): T[] {
  return [...steps].sort((a, b) => (filtered ? a.seq - b.seq : b.seq - a.seq))
}

/** The steps past the history limit (oldest first), which EMR no longer knows. Never active. */
export function stepsBeyondHistory<T extends ScheduledStep>(
  steps: readonly T[],
  limit = STEP_HISTORY_LIMIT,
): T[] {
  const excess = steps.length - limit
  if (excess <= 0) return []
  return [...steps]
    .sort((a, b) => a.seq - b.seq)
    .filter((s) => !ACTIVE.has(s.state))
    .slice(0, excess)
}

const ACTIVE: ReadonlySet<StepState> = new Set(['PENDING', 'RUNNING', 'CANCEL_PENDING'])

// ------------------------------------------------------------------ CancelSteps

/** The first release whose CancelSteps cancels RUNNING steps (earlier: PENDING only). */
export const CANCEL_RUNNING_SINCE = 'emr-5.28.0'

/** Whether `label` (emr-x.y.z) is `min` or later; an unknown form counts as recent. */
export function releaseAtLeast(label: string | undefined, min: string): boolean {
  const parse = (l: string) => /^emr-(\d+)\.(\d+)\.(\d+)/.exec(l)?.slice(1).map(Number)
  const have = label === undefined ? undefined : parse(label)
  const want = parse(min)
  if (!have || !want) return true
  for (let i = 0; i < 3; i++) {
    if ((have[i] as number) !== (want[i] as number))
      return (have[i] as number) > (want[i] as number)
  }
  return true
}

/** What CancelSteps (SEND_INTERRUPT) does to a step in `state`. */
export type CancelOutcome =
  | { readonly kind: 'cancelled' }
  | { readonly kind: 'cancel-pending' }
  /** Already CANCEL_PENDING: CancelSteps is idempotent, SUBMITTED again and nothing changes. */
  | { readonly kind: 'already-pending' }
  | { readonly kind: 'refused'; readonly reason: string }

/** Why CancelSteps answered FAILED for a step. The reason names the state the step is in. */
export function cancelRefusal(stepId: string, state: StepState | undefined): string {
  if (state === undefined) return `Step id '${stepId}' is not valid.`
  if (state === 'RUNNING') {
    return `Step ${stepId} is RUNNING: this release cancels PENDING steps only (RUNNING steps need ${CANCEL_RUNNING_SINCE} or later).`
  }
  return `Step ${stepId} is ${state} and cannot be cancelled.`
}

export function cancelOutcome(
  stepId: string,
  state: StepState | undefined,
  cluster: { readonly releaseLabel?: string } = {},
): CancelOutcome {
  if (state === 'PENDING') return { kind: 'cancelled' }
  if (state === 'CANCEL_PENDING') return { kind: 'already-pending' }
  // spark-submit gets the signal; a cluster-mode driver in YARN does not, and lives on.
  if (state === 'RUNNING' && releaseAtLeast(cluster.releaseLabel, CANCEL_RUNNING_SINCE)) {
    return { kind: 'cancel-pending' }
  }
  return { kind: 'refused', reason: cancelRefusal(stepId, state) }
}

/** With waitAppCompletion, a spark-submit step ends as its application does. */
export function stepStateForAppExit(exitedCleanly: boolean): StepState {
  return exitedCleanly ? 'COMPLETED' : 'FAILED'
}
