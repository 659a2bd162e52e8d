// What the two ways of verifying share: a rationed DescribeStep of the new step, and the words
// for how a step ended.
import type { StepInfo } from '../aws/emr-port.ts'
import { formatDuration } from '../clock.ts'
import { describeError } from '../errors.ts'
import type { RolloverContext } from './context.ts'
import type { LaunchRecord } from './report.ts'

export interface StepWatch {
  describe(): Promise<StepInfo>
  onTransientError(error: unknown, wait: number): void
}

export function stepWatch(ctx: RolloverContext, stepId: string): StepWatch {
  return {
    describe: () => ctx.emr.describeStep(ctx.clusterId, stepId),
    onTransientError: (error, wait) =>
      ctx.log.info(`EMR busy (${describeError(error)}); next check in ${formatDuration(wait)}.`),
  }
}

/** "step s-1 ended FAILED 4.0s after it started: <EMR's reason> (log: …)" */
export function endedText(ctx: RolloverContext, launch: LaunchRecord, step: StepInfo): string {
  // EMR's own start and end times: when we noticed can be a poll interval later.
  const lived =
    step.startedAt && step.endedAt
      ? step.endedAt.getTime() - step.startedAt.getTime()
      : ctx.clock.now() - (launch.runningAt ?? 0)
  return `step ${step.id} ended ${step.state} ${formatDuration(lived)} after it started${failureText(step)}`
}

export function failureText(step: StepInfo): string {
  const details = [step.failure?.reason, step.failure?.message].filter(Boolean).join(': ')
  const log = step.failure?.logFile ? ` (log: ${step.failure.logFile})` : ''
  return details || log ? `: ${details}${log}` : ''
}
