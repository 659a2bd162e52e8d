// One AWS account's EMR, as its throttling sees it: a token bucket per operation and one for all
// EMR calls together (EMR's default quotas, DESIGN.md), on a shared fake clock. Each rollover run
// gets an EmrPort onto it with one cluster: its old streaming step, which ends a drain after the
// run deletes its marker, and the new step it submits, RUNNING a little after AddJobFlowSteps.
//
// Assumptions (AWS documents the quotas, not the algorithm): a call is admitted when both its
// operation's bucket and the account-wide bucket hold a token, and takes one from each; a
// throttled call takes none. ListClusters is not used: runs name their cluster by id.
import type {
  ClusterInfo,
  EmrPort,
  StepInfo,
  StepSpec,
  StepState,
} from '../../../../src/aws/emr-port.ts'
import type { Clock } from '../../../../src/clock.ts'

export type EmrApi =
  'DescribeCluster' | 'ListSteps' | 'DescribeStep' | 'AddJobFlowSteps' | 'CancelSteps'

interface Quota {
  readonly burst: number
  readonly perSecond: number
}

export const EMR_QUOTAS: Readonly<Record<EmrApi, Quota>> = {
  DescribeCluster: { burst: 10, perSecond: 1 },
  ListSteps: { burst: 10, perSecond: 0.5 },
  DescribeStep: { burst: 10, perSecond: 0.5 },
  AddJobFlowSteps: { burst: 10, perSecond: 0.5 },
  CancelSteps: { burst: 10, perSecond: 0.5 },
}
export const ACCOUNT_QUOTA: Quota = { burst: 25, perSecond: 5 }

class QuotaBucket {
  private tokens: number
  private updatedAt: number
  private readonly quota: Quota

  constructor(quota: Quota, now: number) {
    this.quota = quota
    this.tokens = quota.burst
    this.updatedAt = now
  }

  hasToken(now: number): boolean {
    const elapsed = Math.max(0, now - this.updatedAt) / 1000
    this.tokens = Math.min(this.quota.burst, this.tokens + elapsed * this.quota.perSecond)
    this.updatedAt = now
    return this.tokens >= 1
  }

  take(): void {
    this.tokens -= 1
  }
}

export function throttlingException(api: EmrApi): Error {
  return Object.assign(new Error(`Rate exceeded (${api})`), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  })
}

/** What one run asked of the account, and how the account answered. */
export interface RunTally {
  calls: number
  throttled: number
  /** Admitted AddJobFlowSteps: more than one would be two drivers. */
  submissions: number
}

export class SharedEmrAccount {
  readonly admitted = new Map<EmrApi, number>()
  readonly throttled = new Map<EmrApi, number>()
  private readonly clock: Clock
  private readonly account: QuotaBucket
  private readonly perApi: Map<EmrApi, QuotaBucket>

  constructor(clock: Clock) {
    this.clock = clock
    const now = clock.monotonic()
    this.account = new QuotaBucket(ACCOUNT_QUOTA, now)
    this.perApi = new Map(
      (Object.keys(EMR_QUOTAS) as EmrApi[]).map((api) => [
        api,
        new QuotaBucket(EMR_QUOTAS[api], now),
      ]),
    )
  }

  /** Throws ThrottlingException unless the quotas admit one call of `api` now. */
  admit(api: EmrApi, tally: RunTally): void {
    const now = this.clock.monotonic()
    const own = this.perApi.get(api) as QuotaBucket
    tally.calls++
    // Both checked before either is spent: a throttled call takes nothing.
    const ok = own.hasToken(now) && this.account.hasToken(now)
    if (!ok) {
      tally.throttled++
      this.throttled.set(api, (this.throttled.get(api) ?? 0) + 1)
      throw throttlingException(api)
    }
    own.take()
    this.account.take()
    this.admitted.set(api, (this.admitted.get(api) ?? 0) + 1)
  }
}

/** The timings of one run's cluster: how long its old driver drains, its new one starts. */
export interface ClusterScript {
  readonly clusterId: string
  readonly drainMs: number
  readonly startDelayMs: number
}

/** One run's view of the account: its cluster, through EmrPort, every call counted. */
export class SimulatedCluster implements EmrPort {
  readonly tally: RunTally = { calls: 0, throttled: 0, submissions: 0 }
  private stopRequestedAt: number | undefined
  private submittedAt: number | undefined
  private readonly account: SharedEmrAccount
  private readonly clock: Clock
  private readonly script: ClusterScript
  private newStep: StepSpec | undefined

  constructor(account: SharedEmrAccount, clock: Clock, script: ClusterScript) {
    this.account = account
    this.clock = clock
    this.script = script
  }

  get oldStepId(): string {
    return `s-OLD-${this.script.clusterId}`
  }

  /** The run deleted the old driver's marker (an S3 call, not EMR's): the drain starts. */
  deleteMarker(): void {
    this.stopRequestedAt ??= this.clock.monotonic()
  }

  async resolveCluster(): Promise<ClusterInfo> {
    this.account.admit('DescribeCluster', this.tally)
    const { clusterId } = this.script
    return { id: clusterId, name: clusterId, state: 'WAITING', stepConcurrencyLevel: 1 }
  }

  async listActiveSteps(): Promise<StepInfo[]> {
    this.account.admit('ListSteps', this.tally)
    return this.steps().filter((s) => s.state === 'RUNNING' || s.state === 'PENDING')
  }

  async listRecentSteps(): Promise<StepInfo[]> {
    this.account.admit('ListSteps', this.tally)
    return this.steps()
  }

  async describeStep(_clusterId: string, stepId: string): Promise<StepInfo> {
    this.account.admit('DescribeStep', this.tally)
    const step = this.steps().find((s) => s.id === stepId)
    if (!step) throw new Error(`no step ${stepId}`)
    return step
  }

  async listStepsById(_clusterId: string, stepIds: readonly string[]): Promise<StepInfo[]> {
    this.account.admit('ListSteps', this.tally)
    return this.steps().filter((s) => stepIds.includes(s.id))
  }

  /** From the old driver's exit to the new step's submission: the downtime the run adds. */
  get addedDowntimeMs(): number | undefined {
    if (this.stopRequestedAt === undefined || this.submittedAt === undefined) return undefined
    return this.submittedAt - (this.stopRequestedAt + this.script.drainMs)
  }

  async addStep(_clusterId: string, step: StepSpec): Promise<string> {
    this.account.admit('AddJobFlowSteps', this.tally)
    this.tally.submissions++
    this.submittedAt ??= this.clock.monotonic()
    this.newStep = step
    return this.newStepId
  }

  async cancelStep(): Promise<void> {
    this.account.admit('CancelSteps', this.tally)
  }

  private get newStepId(): string {
    return `s-NEW-${this.script.clusterId}`
  }

  private steps(): StepInfo[] {
    const now = this.clock.monotonic()
    const oldEnded =
      this.stopRequestedAt !== undefined && now >= this.stopRequestedAt + this.script.drainMs
    const steps: StepInfo[] = [
      step(this.oldStepId, 'app (old)', oldEnded ? 'COMPLETED' : 'RUNNING'),
    ]
    if (this.newStep && this.submittedAt !== undefined) {
      const running = now >= this.submittedAt + this.script.startDelayMs
      steps.unshift(step(this.newStepId, this.newStep.name, running ? 'RUNNING' : 'PENDING'))
    }
    return steps
  }
}

function step(id: string, name: string, state: StepState): StepInfo {
  return { id, name, jar: 'command-runner.jar', args: [], actionOnFailure: 'CONTINUE', state }
}
