// A spark-submit step: its YARN application (yarn.ts), and the step state that follows it. With
// `--deploy-mode cluster` and waitAppCompletion (default true) spark-submit polls YARN and the
// step is RUNNING as long as the application is (re-attempts included), ending a polling lag
// (`timings.stepExitLagMs`) after it: COMPLETED when it FINISHED, FAILED otherwise.
import type { StepState } from '../../src/aws/emr-port.ts'
import { WAIT_CONF, parseSparkSubmitArgs } from '../../src/contract/spark-submit.ts'
import { maxAppAttemptsOf, yarnTagsOf } from './emr-rules.ts'
import type { FailureDetails, StepRecord } from './emr-shapes.ts'
import type { EmrTimings } from './emr-state.ts'
import type { AppInfo, Yarn } from './yarn.ts'

export interface SparkStepDeps {
  readonly yarn: Yarn
  readonly timings: EmrTimings
  readonly later: (ms: number, fn: () => void) => void
  readonly finish: (step: StepRecord, state: StepState, failure?: FailureDetails) => void
  readonly logFile: (step: StepRecord) => { LogFile?: string }
}

export class SparkSteps {
  private readonly deps: SparkStepDeps

  constructor(deps: SparkStepDeps) {
    this.deps = deps
  }

  launch(step: StepRecord): void {
    const sparkArgs = step.args.slice(1)
    const parsed = parseSparkSubmitArgs(sparkArgs)
    const option = (name: string) => parsed.options.find(([n]) => n === name)?.[1]
    const deployMode = option('--deploy-mode') ?? 'client'
    const env: Record<string, string> = {}
    for (const [key, value] of parsed.confs) {
      const match = /^spark\.yarn\.appMasterEnv\.(.+)$/.exec(key)
      if (match) env[match[1] as string] = value
    }
    const stateIndex = parsed.appArgs.indexOf('--state')
    const state = stateIndex >= 0 ? parsed.appArgs[stateIndex + 1] : undefined
    const app = this.deps.yarn.launch(
      {
        clusterId: step.clusterId,
        stepId: step.id,
        sparkArgs,
        tags: yarnTagsOf(sparkArgs),
        name:
          option('--name') ?? parsed.confs.get('spark.app.name') ?? option('--class') ?? 'spark',
        deployMode,
        maxAttempts: maxAppAttemptsOf(sparkArgs),
        env,
        state,
      },
      (info, lastLines) => this.applicationEnded(step, info, lastLines),
    )
    step.appIds.push(app.appId)
    if (deployMode === 'cluster' && parsed.confs.get(WAIT_CONF)?.trim() === 'false') {
      // spark-submit returns once YARN accepted the app: the step no longer tracks the driver.
      this.deps.later(200, () => step.state === 'RUNNING' && this.deps.finish(step, 'COMPLETED'))
    }
  }

  /** CancelSteps reached spark-submit: in client mode that is the driver, and it stops. */
  interrupted(step: StepRecord): void {
    for (const appId of step.appIds) {
      if (this.deps.yarn.get(appId)?.deployMode === 'client') {
        this.deps.yarn.signal(appId, 'SIGTERM')
      }
    }
  }

  private applicationEnded(step: StepRecord, app: AppInfo, lastLines: string[]): void {
    const end = () => {
      if (step.state === 'CANCEL_PENDING' && step.cancelHangs) {
        return this.deps.finish(step, 'CANCELLED')
      }
      if (step.state !== 'RUNNING') return
      if (app.yarnState === 'FINISHED') return this.deps.finish(step, 'COMPLETED')
      const cause = app.signal ? `killed by ${app.signal}` : `exit code ${app.exitCode}`
      const exception = [...lastLines].reverse().find((l) => l.includes('Exception'))
      this.deps.finish(step, 'FAILED', {
        Reason: 'Unknown Error.',
        Message:
          exception?.replace(/^\[stderr\] /, '') ??
          `Exception in thread "main" org.apache.spark.SparkException: Application ${app.appId} finished with failed status (${app.yarnState}, ${cause})`,
        ...this.deps.logFile(step),
      })
    }
    const lag = this.deps.timings.stepExitLagMs
    if (lag > 0) this.deps.later(lag, end)
    else end()
  }
}
