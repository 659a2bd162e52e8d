import { describe, expect, it } from 'vitest'
import { withDeadline } from '../../../src/aws/deadline.ts'
import {
  CancelStepFailed,
  ClusterGone,
  type ClusterInfo,
  type EmrPort,
  type StepInfo,
} from '../../../src/aws/emr-port.ts'
import {
  EmrBudgetSpent,
  EmrRetriesExhausted,
  PacedEmr,
  type EmrApi,
  type EmrOperation,
  type PacedEmrOptions,
} from '../../../src/aws/paced-emr.ts'
import { RateBudgets } from '../../../src/aws/rate-budget.ts'
import { isTransient } from '../../../src/aws/transient.ts'
import { FakeClock } from '../../support/fake-clock.ts'
import { seededRandom } from './simulation/seeded-random.ts'

const throttle = (): Error =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  })
const serverError = (): Error =>
  Object.assign(new Error('We encountered an internal error.'), {
    name: 'InternalServerError',
    $metadata: { httpStatusCode: 500 },
  })

type Answer = 'ok' | 'throttle' | '5xx' | Error

const CLUSTER: ClusterInfo = { id: 'j-1', name: 'c', state: 'WAITING', stepConcurrencyLevel: 1 }
const STEP: StepInfo = {
  id: 's-1',
  name: 'app',
  jar: 'command-runner.jar',
  args: [],
  actionOnFailure: 'CONTINUE',
  state: 'RUNNING',
}

/** An EmrPort that answers each call by a schedule: (operation, nth call of it) -> answer. */
class ScriptedEmr implements EmrPort {
  readonly calls: { op: EmrOperation; at: number }[] = []
  private readonly clock: FakeClock
  private readonly answer: (op: EmrOperation, nth: number) => Answer

  constructor(clock: FakeClock, answer: (op: EmrOperation, nth: number) => Answer) {
    this.clock = clock
    this.answer = answer
  }

  /** When `op` was called, relative to `from`. */
  times(op: EmrOperation, from = 0): number[] {
    return this.calls.filter((c) => c.op === op).map((c) => c.at - from)
  }

  resolveCluster = () => this.respond('resolveCluster', CLUSTER)
  listActiveSteps = () => this.respond('listActiveSteps', [STEP])
  listRecentSteps = () => this.respond('listRecentSteps', [STEP])
  describeStep = () => this.respond('describeStep', STEP)
  listStepsById = () => this.respond('listStepsById', [STEP])
  addStep = () => this.respond('addStep', 's-NEW')
  cancelStep = () => this.respond('cancelStep', undefined)

  private async respond<T>(op: EmrOperation, value: T): Promise<T> {
    this.calls.push({ op, at: this.clock.monotonic() })
    const answer = this.answer(op, this.calls.filter((c) => c.op === op).length)
    if (answer === 'throttle') throw throttle()
    if (answer === '5xx') throw serverError()
    if (answer instanceof Error) throw answer
    return value
  }
}

interface Setup {
  readonly clock: FakeClock
  readonly inner: ScriptedEmr
  readonly budgets: RateBudgets<EmrApi>
  readonly emr: PacedEmr
}

function setup(
  answer: (op: EmrOperation, nth: number) => Answer,
  options: Partial<PacedEmrOptions> & { clock?: FakeClock; burst?: number; rate?: number } = {},
): Setup {
  const clock = options.clock ?? new FakeClock({ auto: true })
  const inner = new ScriptedEmr(clock, answer)
  const budgets =
    options.budgets ?? new RateBudgets<EmrApi>(clock, options.burst ?? 5, options.rate ?? 0.4)
  const emr = new PacedEmr(inner, { clock, random: () => 0.5, ...options, budgets })
  return { clock, inner, budgets, emr }
}

/** Budgets that never hold a call back, to see the backoff alone. */
const unlimited = (clock: FakeClock): RateBudgets<EmrApi> =>
  new RateBudgets(clock, 1000, 1000, { minRatePerSecond: 1000 })

const alwaysThrottled = (): Answer => 'throttle'

describe('PacedEmr pacing', () => {
  it('takes a token from the run’s budget before every call', async () => {
    const { clock, inner, emr, budgets } = setup(() => 'ok', { burst: 2, rate: 0.5 })
    const start = clock.monotonic()
    for (let i = 0; i < 4; i++) await emr.describeStep('j-1', 's-1')
    expect(inner.times('describeStep', start)).toEqual([0, 0, 2000, 4000])
    expect(budgets.of('DescribeStep').taken).toBe(4)
  })

  it('keeps one budget per EMR operation, as EMR’s quotas are', async () => {
    const { clock, inner, emr, budgets } = setup(() => 'ok', { burst: 1, rate: 0.5 })
    const start = clock.monotonic()
    await emr.describeStep('j-1', 's-1')
    // DescribeStep's budget is empty; ListSteps' (both list methods) and the others are not.
    await emr.listActiveSteps('j-1')
    await emr.addStep('j-1', STEP)
    await emr.cancelStep('j-1', 's-1')
    await emr.resolveCluster({ kind: 'id', id: 'j-1' })
    await emr.listRecentSteps('j-1')
    expect(inner.calls.map((c) => c.at - start)).toEqual([0, 0, 0, 0, 0, 2000])
    expect(budgets.entries().map(([api, b]) => `${api} ${b.taken}`)).toEqual([
      'DescribeStep 1',
      'ListSteps 2',
      'AddJobFlowSteps 1',
      'CancelSteps 1',
      'DescribeCluster 1',
    ])
  })

  it('tells the budget about throttles and successes, and not about 5xx', async () => {
    const { emr, budgets } = setup((op, n) =>
      op === 'describeStep' && n === 1 ? 'throttle' : 'ok',
    )
    await emr.describeStep('j-1', 's-1')
    // Halved by the throttle, one step back up by the retry's success.
    expect(budgets.of('DescribeStep').rate).toBeCloseTo(0.21, 10)

    const other = setup((_op, n) => (n <= 2 ? '5xx' : 'ok'))
    await other.emr.listActiveSteps('j-1')
    expect(other.budgets.of('ListSteps').rate).toBe(0.4)
    expect(other.emr.calls.get('listActiveSteps')).toBe(3)
    expect(other.emr.throttled.get('listActiveSteps')).toBeUndefined()
  })

  it('counts calls and throttles per operation', async () => {
    const { emr } = setup((op, n) =>
      (op === 'describeStep' && n <= 2) || (op === 'resolveCluster' && n === 1) ? 'throttle' : 'ok',
    )
    await emr.resolveCluster({ kind: 'id', id: 'j-1' })
    await emr.describeStep('j-1', 's-1')
    await emr.listRecentSteps('j-1')
    expect(Object.fromEntries(emr.calls)).toEqual({
      resolveCluster: 2,
      describeStep: 3,
      listRecentSteps: 1,
    })
    expect(Object.fromEntries(emr.throttled)).toEqual({ resolveCluster: 1, describeStep: 2 })
    expect([emr.totalCalls, emr.totalThrottled]).toEqual([6, 3])
  })
})

describe('PacedEmr retries of reads', () => {
  it.each([
    'resolveCluster',
    'listActiveSteps',
    'listRecentSteps',
    'describeStep',
    'listStepsById',
  ] as const)('retries %s through throttles and 5xx until it answers', async (op) => {
    const { emr, inner } = setup((_op, n) => (n === 1 ? 'throttle' : n === 2 ? '5xx' : 'ok'))
    const read = {
      resolveCluster: () => emr.resolveCluster({ kind: 'id', id: 'j-1' }),
      listActiveSteps: () => emr.listActiveSteps('j-1'),
      listRecentSteps: () => emr.listRecentSteps('j-1'),
      describeStep: () => emr.describeStep('j-1', 's-1'),
      listStepsById: () => emr.listStepsById('j-1', ['s-1']),
    }[op]
    await expect(read()).resolves.toBeDefined()
    expect(inner.times(op)).toHaveLength(3)
  })

  it('keeps retrying until the deadline, with one last attempt at it, and not beyond', async () => {
    const clock = new FakeClock({ auto: true })
    const { inner, emr } = setup(alwaysThrottled, { clock, budgets: unlimited(clock) })
    const start = clock.monotonic()
    const deadline = start + 90_000
    const error = await withDeadline(deadline, () => emr.describeStep('j-1', 's-1')).catch(
      (e: unknown) => e,
    )
    const at = inner.times('describeStep', start)
    // 0.75 s, 1.5 s, 3 s, 6 s, 12 s, 15 s, 15 s... (random 0.5): far more than the SDK's 6.
    // The last wait is cut short so that the last attempt is at the deadline: exactly one there.
    expect(at).toEqual([0, 750, 2250, 5250, 11_250, 23_250, 38_250, 53_250, 68_250, 83_250, 90_000])
    expect(error).toBeInstanceOf(EmrRetriesExhausted)
    // Still a throttle to the caller (poll() and observe.ts decide by isTransient).
    expect(isTransient(error)).toBe(true)
    expect(error).toMatchObject({ name: 'ThrottlingException', attempts: at.length })
    await clock.advance(600_000)
    expect(inner.calls).toHaveLength(at.length)
  })

  it('gives up when the budget would hold the retry past the deadline', async () => {
    // At 0.1/s after the throttle (0.2 halved), the next token is 10 s away; the deadline is 5 s.
    const { clock, inner, emr } = setup(alwaysThrottled, { burst: 1, rate: 0.2 })
    const start = clock.monotonic()
    const error = await withDeadline(start + 5000, () => emr.describeStep('j-1', 's-1')).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(EmrRetriesExhausted)
    expect(inner.times('describeStep', start)).toEqual([0])
    // It gave up at once instead of sleeping past the deadline for a token.
    expect(clock.monotonic() - start).toBeLessThanOrEqual(5000)
  })

  it('retries for 5 minutes outside any deadline scope', async () => {
    const clock = new FakeClock({ auto: true })
    const { inner, emr } = setup(alwaysThrottled, { clock, budgets: unlimited(clock) })
    const start = clock.monotonic()
    await expect(emr.listActiveSteps('j-1')).rejects.toThrow(/until the 5m limit on EMR retries/)
    expect(inner.times('listActiveSteps', start).at(-1)).toBe(300_000)
  })

  it('makes one attempt even when the deadline has passed', async () => {
    const { clock, inner, emr } = setup(() => 'ok')
    const passed = clock.monotonic() - 1000
    await expect(withDeadline(passed, () => emr.describeStep('j-1', 's-1'))).resolves.toBe(STEP)
    expect(inner.calls).toHaveLength(1)
  })

  it('does not retry what is not transient', async () => {
    const gone = new ClusterGone('cluster j-1 is TERMINATED')
    const { inner, emr } = setup(() => gone)
    await expect(emr.resolveCluster({ kind: 'id', id: 'j-1' })).rejects.toBe(gone)
    expect(inner.calls).toHaveLength(1)
  })

  it('stops waiting at once when the scope’s signal aborts', async () => {
    const { clock, inner, emr } = setup(alwaysThrottled)
    clock.auto = false
    const cancel = new AbortController()
    const outcome = withDeadline(
      clock.monotonic() + 600_000,
      () => emr.describeStep('j-1', 's-1'),
      { signal: cancel.signal },
    ).catch((e: unknown) => e)
    await clock.advance(30_000)
    const made = inner.calls.length
    expect(made).toBeGreaterThan(1)
    cancel.abort(new Error('Cancelled (SIGTERM).'))
    expect(await outcome).toMatchObject({ message: 'Cancelled (SIGTERM).' })
    await clock.advance(600_000)
    expect(inner.calls).toHaveLength(made)
  })

  it('makes no call when the signal has already aborted', async () => {
    const { inner, emr } = setup(() => 'ok')
    const cancel = new AbortController()
    cancel.abort(new Error('gone'))
    await expect(
      withDeadline(Infinity, () => emr.describeStep('j-1', 's-1'), { signal: cancel.signal }),
    ).rejects.toThrow('gone')
    expect(inner.calls).toHaveLength(0)
  })
})

describe('PacedEmr and mutations', () => {
  it('retries addStep after a throttle at once, after a 5xx only once ListSteps shows no such step', async () => {
    const throttled = setup((_op, n) => (n <= 2 ? 'throttle' : 'ok'))
    await throttled.emr.addStep('j-1', STEP)
    expect(throttled.inner.calls.map((c) => c.op)).toEqual(['addStep', 'addStep', 'addStep'])
    expect(throttled.budgets.of('AddJobFlowSteps').rate).toBeLessThan(0.4)
    expect(throttled.emr.throttled.get('addStep')).toBe(2)

    const failing = setup((op, n) => (op === 'addStep' && n === 1 ? '5xx' : 'ok'))
    await failing.emr.addStep('j-1', { ...STEP, name: 'unique' })
    expect(failing.inner.calls.map((c) => c.op)).toEqual(['addStep', 'listRecentSteps', 'addStep'])
  })

  it('retries cancelStep on throttling only', async () => {
    const throttled = setup((_op, n) => (n <= 2 ? 'throttle' : 'ok'))
    await throttled.emr.cancelStep('j-1', 's-1')
    expect(throttled.inner.calls).toHaveLength(3)

    const failing = setup((_op, n) => (n === 1 ? '5xx' : 'ok'))
    await expect(failing.emr.cancelStep('j-1', 's-1')).rejects.toMatchObject({
      name: 'InternalServerError',
    })
    expect(failing.inner.calls).toHaveLength(1)

    const refused = new CancelStepFailed('s-1', 'Step is in COMPLETED state.')
    const final = setup(() => refused)
    await expect(final.emr.cancelStep('j-1', 's-1')).rejects.toBe(refused)
    expect(final.inner.calls).toHaveLength(1)
  })
})

describe('PacedEmr retry waits', () => {
  /** The waits between one run's attempts at one always-throttled read, over 3 minutes. */
  async function gaps(random: () => number): Promise<number[]> {
    const clock = new FakeClock({ auto: true })
    const { inner, emr } = setup(alwaysThrottled, { clock, random, budgets: unlimited(clock) })
    const start = clock.monotonic()
    await withDeadline(start + 180_000, () => emr.describeStep('j-1', 's-1')).catch(() => {})
    const at = inner.times('describeStep', start)
    return at.slice(1, -1).map((t, i) => t - (at[i] ?? 0))
  }

  it('are jittered: runs throttled together do not retry together', async () => {
    const a = await gaps(seededRandom(1))
    const b = await gaps(seededRandom(2))
    // Not one retry of the two runs at the same moment.
    const timesOf = (g: number[]) => g.map((_, i) => g.slice(0, i + 1).reduce((x, y) => x + y))
    const shared = timesOf(a).filter((t) => timesOf(b).includes(t))
    expect(shared).toEqual([])
    expect(new Set(a).size).toBeGreaterThan(a.length / 2)
  })

  it('grow, and are capped at 20 s', async () => {
    const most = await gaps(() => 0)
    expect(most.slice(0, 7)).toEqual([1000, 2000, 4000, 8000, 16_000, 20_000, 20_000])
    expect(Math.max(...(await gaps(seededRandom(3))))).toBeLessThanOrEqual(20_000)
  })

  it('are reported before each wait: the backoff, or the budget’s wait when longer', async () => {
    const schedule = (_op: EmrOperation, n: number): Answer =>
      n === 1 ? 'throttle' : n === 2 ? '5xx' : 'ok'
    const events: string[] = []
    const onRetry: PacedEmrOptions['onRetry'] = (e) =>
      events.push(`${e.operation} #${e.attempt} ${e.throttled} ${e.waitMs}`)
    const clock = new FakeClock({ auto: true })
    await setup(schedule, { clock, budgets: unlimited(clock), onRetry }).emr.describeStep('j', 's')
    // After a 5xx the wait is shorter: it is no sign of going too fast.
    expect(events).toEqual(['describeStep #1 true 750', 'describeStep #2 false 150'])

    events.length = 0
    const { clock: paced, inner, emr } = setup(schedule, { onRetry })
    const start = paced.monotonic()
    await emr.describeStep('j-1', 's-1')
    // The throttle halved the budget to 0.2/s and spent its tokens: 5 s to the next one.
    expect(events).toEqual(['describeStep #1 true 5000', 'describeStep #2 false 5000'])
    expect(inner.times('describeStep', start)).toEqual([0, 5000, 10_000])
  })
})

/** What `promise` rejects with; a test failure when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<EmrRetriesExhausted> {
  const outcome = await promise.then(
    () => undefined,
    (e: unknown) => ({ error: e }),
  )
  if (!outcome) throw new Error('expected a rejection')
  expect(outcome.error).toBeInstanceOf(EmrRetriesExhausted)
  return outcome.error as EmrRetriesExhausted
}

describe('PacedEmr’s error when it gives up', () => {
  it('names the operation, the time it tried, the deadline and the shared quota', async () => {
    const { clock, emr } = setup(alwaysThrottled)
    const error = await rejection(
      withDeadline(clock.monotonic() + 150_000, () => emr.describeStep('j-1', 's-1'), {
        what: 'stop-timeout',
      }),
    )
    // At 0, 5, 15, 35, 75 and 115 s, the budget halving down to its floor (0.025/s): the next
    // token would come at 155 s, after the deadline, so it gives up at once.
    expect(error.message).toMatch(
      /^EMR DescribeStep failed: Rate exceeded Tried 6 times over 1m55s \(6 throttled\), until stop-timeout\. /,
    )
    expect(error.message).toContain(
      "EMR's request quota is per AWS account and region and shared by everything that calls EMR there",
    )
    expect(error.operation).toBe('describeStep')
    expect(error.throttledAttempts).toBe(6)
    expect(error.elapsedMs).toBe(115_000)
    expect((error.cause as Error).message).toBe('Rate exceeded')
  })

  it('keeps the adapter’s wording, and blames EMR, not the quota, for 5xx', async () => {
    const adapterError = Object.assign(serverError(), {
      message: 'EMR ListSteps (cluster j-1) failed: boom',
    })
    const { clock, emr } = setup(() => adapterError)
    const error = await rejection(
      withDeadline(clock.monotonic() + 10_000, () => emr.listActiveSteps('j-1')),
    )
    expect(error.message).toMatch(/^EMR ListSteps \(cluster j-1\) failed: boom Tried \d+ times/)
    expect(error.message).toContain('(0 throttled)')
    expect(error.message).toContain('EMR kept failing (5xx or no answer)')
    expect(error.message).not.toContain('quota')
    expect(error.name).toBe('InternalServerError')
  })
})

describe('PacedEmr views (derive)', () => {
  it('shares budgets and counts with the view it derives from', async () => {
    const { emr, budgets } = setup(() => 'ok', { burst: 3 })
    const view = emr.derive({ signal: new AbortController().signal })
    await emr.describeStep('j-1', 's-1')
    await view.describeStep('j-1', 's-1')
    expect(budgets.of('DescribeStep').taken).toBe(2)
    expect(emr.calls.get('describeStep')).toBe(2)
    expect(view.calls.get('describeStep')).toBe(2)
  })

  it('over a fenced port: the fence is asked before every attempt, so a retry after it closes is not sent', async () => {
    const { inner, emr } = setup(alwaysThrottled)
    let open = true
    const fenced: EmrPort = {
      ...inner,
      cancelStep: async (clusterId, stepId) => {
        if (!open) throw new Error('lock lost')
        // The lock is lost while the first attempt is answered (throttled).
        open = false
        return (inner as EmrPort).cancelStep(clusterId, stepId)
      },
    }
    await expect(emr.derive({ inner: fenced }).cancelStep('j-1', 's-1')).rejects.toThrow(
      'lock lost',
    )
    expect(inner.times('cancelStep')).toHaveLength(1)
  })

  it("ends its waits with the view's signal when the deadline brings none", async () => {
    const { emr, inner } = setup(alwaysThrottled)
    const controller = new AbortController()
    const view = emr.derive({ signal: controller.signal })
    const read = view.describeStep('j-1', 's-1')
    controller.abort(new Error('cancelled'))
    await expect(read).rejects.toThrow('cancelled')
    expect(inner.times('describeStep').length).toBeLessThanOrEqual(1)
  })
})

describe('PacedEmr and a short deadline', () => {
  it('fails at once, sending nothing, when the budget holds the first call past the deadline', async () => {
    const { clock, inner, emr } = setup(() => 'ok', { burst: 1, rate: 0.1 })
    await emr.describeStep('j-1', 's-1') // spends the burst: the next token is 10 s away
    const start = clock.monotonic()
    const error = await withDeadline(start + 2_000, () => emr.describeStep('j-1', 's-1')).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(EmrBudgetSpent)
    expect(isTransient(error)).toBe(true)
    expect(clock.monotonic()).toBe(start)
    expect(inner.times('describeStep')).toHaveLength(1)
    // Without a short deadline the same call waits for its token.
    await emr.describeStep('j-1', 's-1')
    expect(inner.times('describeStep', start)).toEqual([0, 10_000])
  })
})
