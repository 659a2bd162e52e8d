// CancelSteps as EMR answers it, per step (SUBMITTED or FAILED with a reason), over the shared
// rules of emr-rules.ts, plus the emulator's two CancelSteps faults: an interrupt that never
// takes (CANCEL_PENDING for as long as the application lives) and a step that ends on its own
// just as the cancel arrives (the cancel then answers FAILED naming the state it ended in).
import type { StepState } from '../../src/aws/emr-port.ts'
import { cancelOutcome, cancelRefusal } from './emr-rules.ts'
import { setState, type ClusterRecord, type StepRecord } from './emr-shapes.ts'

/** Switches of the emulator that change how CancelSteps behaves. */
export interface CancelFaults {
  /** RUNNING -> CANCEL_PENDING, which then lasts as long as the application does. */
  readonly cancelHangs: boolean
  /** CancelSteps on a RUNNING step waits (up to 30 s) for the step to end on its own first. */
  readonly cancelRace: boolean
}

/** One entry of CancelStepsInfoList, without its StepId. */
export interface CancelAnswer {
  readonly Status: 'SUBMITTED' | 'FAILED'
  readonly Reason?: string
}

export interface CancelDeps {
  step(clusterId: string, stepId: string): StepRecord | undefined
  cluster(clusterId: string): ClusterRecord
  readonly faults: () => CancelFaults
  /** CANCEL_PENDING -> CANCELLED (read at each cancel: a test may change it). */
  cancelDelayMs(): number
  closed(): boolean
  finish(step: StepRecord, state: StepState, reason: { Code?: string; Message?: string }): void
  /** SEND_INTERRUPT reaches spark-submit (a client-mode driver) or a command step's process. */
  interrupt(step: StepRecord): void
  later(ms: number, fn: () => void): void
}

const CANCEL_RACE_MAX_MS = 30_000
const BY_USER = { Code: 'NONE', Message: 'Cancelled by user' }

export class StepCancels {
  private readonly deps: CancelDeps

  constructor(deps: CancelDeps) {
    this.deps = deps
  }

  async cancel(clusterId: string, stepId: string): Promise<CancelAnswer> {
    const { deps } = this
    if (deps.step(clusterId, stepId)?.state === 'RUNNING' && deps.faults().cancelRace) {
      // The step is finishing as the cancel arrives: EMR sees it ended first.
      const deadline = Date.now() + CANCEL_RACE_MAX_MS
      while (
        deps.step(clusterId, stepId)?.state === 'RUNNING' &&
        Date.now() < deadline &&
        !deps.closed()
      ) {
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    }
    const step = deps.step(clusterId, stepId)
    if (!step) return { Status: 'FAILED', Reason: cancelRefusal(stepId, undefined) }
    const outcome = cancelOutcome(stepId, step.state, deps.cluster(clusterId))
    if (outcome.kind === 'refused') return { Status: 'FAILED', Reason: outcome.reason }
    if (outcome.kind === 'already-pending') return { Status: 'SUBMITTED' }
    if (outcome.kind === 'cancelled') {
      deps.finish(step, 'CANCELLED', BY_USER)
      return { Status: 'SUBMITTED' }
    }
    setState(step, 'CANCEL_PENDING')
    if (deps.faults().cancelHangs) {
      // The interrupt never takes: the step ends only when what it runs ends.
      step.cancelHangs = true
      return { Status: 'SUBMITTED' }
    }
    deps.interrupt(step)
    deps.later(deps.cancelDelayMs(), () => {
      if (step.state === 'CANCEL_PENDING') deps.finish(step, 'CANCELLED', BY_USER)
    })
    return { Status: 'SUBMITTED' }
  }
}
