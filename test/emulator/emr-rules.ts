// EMR's step rules as the rollover depends on them, written once and used by both EMR doubles:
// the in-memory FakeEmr of the unit tests (fake clock) and the EmrEmulator of the local stack
// (real processes). Pure functions over plain step records.
import type { StepState } from '../../src/aws/emr-port.ts'
import { KILL_STEP_MARKER_ARG } from '../../src/contract/kill-step.ts'
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

/** The tags a kill step kills by (its arguments after `rollover-kill`). */
export function killTagsOf(args: readonly string[]): string[] {
  return args.slice(4).map((t) => t.toLowerCase())
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

/** What CancelSteps (SEND_INTERRUPT) does to a step in `state`. */
export type CancelOutcome =
  | { readonly kind: 'cancelled' }
  | { readonly kind: 'cancel-pending' }
  | { readonly kind: 'refused'; readonly reason: string }

export function cancelOutcome(stepId: string, state: StepState | undefined): CancelOutcome {
  if (state === undefined) return { kind: 'refused', reason: `Step id '${stepId}' is not valid.` }
  if (state === 'PENDING') return { kind: 'cancelled' }
  // spark-submit gets the signal; a cluster-mode driver in YARN does not, and lives on.
  if (state === 'RUNNING') return { kind: 'cancel-pending' }
  return { kind: 'refused', reason: `Step ${stepId} is ${state} and cannot be cancelled.` }
}

/** With waitAppCompletion, a spark-submit step ends as its application does. */
export function stepStateForAppExit(exitedCleanly: boolean): StepState {
  return exitedCleanly ? 'COMPLETED' : 'FAILED'
}
