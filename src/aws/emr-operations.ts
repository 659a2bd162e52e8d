// The EMR operations the port calls, as EMR's quotas and CloudTrail name them, and the errors of
// a run's own retrying (PacedEmr, submitCarefully): what gave up, after how much, until when.
import type { Deadline } from './deadline.ts'
import type { EmrPort } from './emr-port.ts'
import { formatDuration } from '../clock.ts'

export type EmrOperation = keyof EmrPort

/** The EMR operations the port calls: what EMR's quotas and CloudTrail are counted by. */
export type EmrApi =
  'DescribeCluster' | 'ListSteps' | 'DescribeStep' | 'AddJobFlowSteps' | 'CancelSteps'

/**
 * The EMR operation behind each port method: its budget, and its name in messages. (A
 * resolveCluster by name also lists clusters: ListClusters' quota is twice DescribeCluster's.)
 */
export const EMR_API: Readonly<Record<EmrOperation, EmrApi>> = {
  resolveCluster: 'DescribeCluster',
  listActiveSteps: 'ListSteps',
  listRecentSteps: 'ListSteps',
  describeStep: 'DescribeStep',
  listStepsById: 'ListSteps',
  cancelStep: 'CancelSteps',
  addStep: 'AddJobFlowSteps',
}

/**
 * A read (or a cancel) that EMR kept refusing until the deadline. It carries the last error's
 * name, $metadata and code, so isTransient() still sees a throttle or a 5xx, and the error itself
 * as its cause.
 */
export class EmrRetriesExhausted extends Error {
  readonly operation: EmrOperation
  readonly attempts: number
  readonly throttledAttempts: number
  readonly elapsedMs: number
  readonly $metadata: unknown
  readonly code: unknown

  constructor(
    operation: EmrOperation,
    last: unknown,
    tally: { attempts: number; throttled: number; elapsedMs: number },
    deadline: Deadline,
  ) {
    super(exhaustedMessage(operation, last, tally, deadline), { cause: last })
    const e = (typeof last === 'object' && last !== null ? last : {}) as Record<string, unknown>
    this.name = typeof e.name === 'string' ? e.name : 'Error'
    this.$metadata = e.$metadata
    this.code = e.code
    this.operation = operation
    this.attempts = tally.attempts
    this.throttledAttempts = tally.throttled
    this.elapsedMs = tally.elapsedMs
  }
}

function exhaustedMessage(
  operation: EmrOperation,
  last: unknown,
  tally: { attempts: number; throttled: number; elapsedMs: number },
  deadline: Deadline,
): string {
  const said = last instanceof Error ? last.message : String(last)
  // The adapter's messages already say "EMR DescribeStep (cluster j-1) failed: ...".
  const head = said.startsWith('EMR ') ? said : `EMR ${EMR_API[operation]} failed: ${said}`
  const tried =
    `Tried ${tally.attempts} times over ${formatDuration(tally.elapsedMs)} ` +
    `(${tally.throttled} throttled), until ${deadline.what}.`
  const why =
    tally.throttled > 0
      ? `EMR's request quota is per AWS account and region and shared by everything that calls ` +
        `EMR there (other rollovers running in parallel, schedulers, dashboards): spread those ` +
        `out, or move them to another account (README: "ThrottlingException: Rate exceeded").`
      : 'EMR kept failing (5xx or no answer): check the AWS Health Dashboard, then re-run.'
  return `${head} ${tried} ${why}`
}

/**
 * The run's own budget for an EMR operation has no token before the deadline: no request was
 * sent. Transient (a later look may find a token), and not a throttle: EMR was not asked.
 */
export class EmrBudgetSpent extends Error {
  readonly operation: EmrApi
  readonly waitMs: number

  constructor(operation: EmrApi, waitMs: number, deadline: Deadline) {
    super(
      `EMR ${operation} not sent: this run's budget for it has its next token in ${formatDuration(waitMs)}, after ${deadline.what}. EMR throttled the run earlier, and it slowed down.`,
    )
    this.name = 'EmrBudgetSpent'
    this.operation = operation
    this.waitMs = waitMs
  }
}
