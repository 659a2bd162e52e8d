// Issue 13, "Many apps, one account": N rollovers of a matrix job at once, each with its own
// budget, sharing one account's EMR quotas on one fake clock. The old stack (fixed 5/0.4 bucket,
// the SDK's 6 attempts) against the new one (PacedEmr, AIMD, retries until the phase deadline),
// with the same workload. Prints the numbers; asserts what the change promises.
import { describe, expect, it } from 'vitest'
import { formatDuration } from '../../../src/clock.ts'
import { FakeClock } from '../../support/fake-clock.ts'
import {
  newStack,
  oldStack,
  rolloverRun,
  type RunOutcome,
  type Stack,
} from './simulation/rollover-run.ts'
import { seededRandom } from './simulation/seeded-random.ts'
import { SharedEmrAccount, SimulatedCluster } from './simulation/shared-account.ts'

type StackKind = 'old' | 'new'

interface RunResult extends RunOutcome {
  readonly calls: number
  readonly throttled: number
  readonly submissions: number
  /** Old driver exited -> new step submitted: the downtime the run added (when it got there). */
  readonly addedDowntimeMs: number | undefined
}

interface Summary {
  readonly kind: StackKind
  readonly runs: readonly RunResult[]
  readonly deployed: number
  readonly calls: number
  readonly throttled: number
  readonly slowestMs: number
}

async function simulate(kind: StackKind, runs: number, seed: number): Promise<Summary> {
  const clock = new FakeClock({ auto: true })
  const account = new SharedEmrAccount(clock)
  // The same workload for both stacks: start offsets, drains and start delays from one seed.
  const workload = seededRandom(seed)
  const started = Array.from({ length: runs }, async (_, i) => {
    const script = {
      clusterId: `j-${i}`,
      startAfterMs: Math.round(workload() * 10_000),
      drainMs: 20_000 + Math.round(workload() * 40_000),
      startDelayMs: 8000 + Math.round(workload() * 12_000),
    }
    const cluster = new SimulatedCluster(account, clock, script)
    const random = seededRandom(seed * 1000 + i)
    const stack: Stack =
      kind === 'old' ? oldStack(cluster, clock, random) : newStack(cluster, clock, random)
    await clock.sleep(script.startAfterMs)
    const outcome = await rolloverRun(cluster, stack, clock, random, { readsHistory: i % 2 === 0 })
    return { ...outcome, ...cluster.tally, addedDowntimeMs: cluster.addedDowntimeMs }
  })
  const results = await Promise.all(started)
  return {
    kind,
    runs: results,
    deployed: results.filter((r) => r.deployed).length,
    calls: results.reduce((n, r) => n + r.calls, 0),
    throttled: results.reduce((n, r) => n + r.throttled, 0),
    slowestMs: Math.max(...results.map((r) => r.tookMs)),
  }
}

/** min-median-max */
function spread(values: readonly number[], format = (n: number) => String(n)): string {
  const sorted = [...values].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)]
  if (median === undefined) return '-'
  return [sorted[0], median, sorted.at(-1)].map((n) => format(n ?? 0)).join('-')
}

function row(s: Summary): string {
  const pct = ((100 * s.throttled) / Math.max(1, s.calls)).toFixed(0)
  const downtimes = s.runs.flatMap((r) =>
    r.addedDowntimeMs === undefined ? [] : [r.addedDowntimeMs],
  )
  // The first words of each kind of failure: "ThrottlingException: EMR ListSteps failed after…"
  const failed = s.runs.filter((r) => !r.deployed)
  const down = failed.filter((r) => r.failedIn !== 'preflight').length
  const failures = [...new Set(failed.map((r) => `${r.failedIn}: ${r.error?.slice(0, 60)}`))]
  return [
    `${s.kind.padEnd(4)} deployed ${s.deployed}/${s.runs.length}, ${down} failed with the app stopped`,
    `EMR calls ${s.calls}, per run ${spread(s.runs.map((r) => r.calls))}`,
    `throttled ${s.throttled} (${pct}%), per run ${spread(s.runs.map((r) => r.throttled))}`,
    `slowest run ${formatDuration(s.slowestMs)}`,
    `added downtime ${spread(downtimes, formatDuration)}`,
    ...(failures.length ? [`failures: ${failures.join(' | ')}`] : []),
  ].join('; ')
}

describe.each([8, 20])('%i rollovers sharing one account’s EMR quotas', (runs) => {
  it('old stack vs PacedEmr, same workload', async () => {
    const old = await simulate('old', runs, 13)
    const paced = await simulate('new', runs, 13)
    console.log(`${runs} runs (per run: min-median-max)\n  ${row(old)}\n  ${row(paced)}`)

    // Every run deploys, within its phases' deadlines (a missed one fails the run), once.
    expect(paced.runs.filter((r) => !r.deployed).map((r) => r.error)).toEqual([])
    expect(paced.runs.every((r) => r.submissions === 1)).toBe(true)
    // With far fewer of its calls throttled than before.
    expect(paced.throttled / paced.calls).toBeLessThan(old.throttled / old.calls)
    expect(paced.throttled).toBeLessThan(old.throttled)
    if (runs === 20) {
      // The workload is hard enough to break the old stack, as issue 13 reported.
      expect(old.deployed).toBeLessThan(runs)
    }
  })
})
