// The pure pieces of `npm run bench` (test/emulator/bench/strategies.ts): its arguments, the
// gaps it reads from the drivers' activity log, and the goals it checks.
import { describe, expect, it } from 'vitest'
import type { ActivityEvent } from '../../emulator/contract.ts'
import {
  committedBatches,
  goalChecks,
  parseStrategiesArgs,
  processingGapMs,
  streamGapMs,
  type BadSample,
  type GoodSample,
} from '../../emulator/bench/strategies.ts'
import { UsageError } from '../../emulator/bench/measure.ts'

describe('strategies bench: arguments', () => {
  it('defaults to one run, stable-for 10s, quiet', () => {
    expect(parseStrategiesArgs([])).toEqual({ runs: 1, stableFor: '10s', verbose: false })
  })

  it('takes --runs, --stable-for and --verbose', () => {
    expect(parseStrategiesArgs(['--runs', '3', '--stable-for', '1m30s', '--verbose'])).toEqual({
      runs: 3,
      stableFor: '1m30s',
      verbose: true,
    })
  })

  it('answers --help and -h with help', () => {
    expect(parseStrategiesArgs(['--runs', '2', '--help'])).toBe('help')
    expect(parseStrategiesArgs(['-h'])).toBe('help')
  })

  it.each([
    [['--runs', '0'], /--runs: expected a positive integer, got 0/],
    [['--runs', '1.5'], /positive integer/],
    [['--runs'], /--runs needs a value/],
    [['--runs', '--verbose'], /--runs needs a value/],
    [['--stable-for', '10'], /--stable-for: expected a duration like 2s/],
    [['--apps', '20'], /unknown argument --apps\nusage: npm run bench/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseStrategiesArgs(argv)).toThrow(UsageError)
    expect(() => parseStrategiesArgs(argv)).toThrow(message)
  })
})

/** Activity of a driver: batches of 10 records, `t` as given, back to back. */
function batches(
  pid: number,
  stepId: string,
  spans: ReadonlyArray<readonly [number, number]>,
  firstOffset = 0,
): ActivityEvent[] {
  return spans.flatMap(([from, to], i) => {
    const range = { start: firstOffset + 10 * i, end: firstOffset + 10 * (i + 1) }
    return [
      { t: from, event: 'batch-start', pid, stepId, ...range },
      { t: to, event: 'batch-end', pid, stepId, ...range },
    ] as ActivityEvent[]
  })
}

describe('strategies bench: gaps from the activity log', () => {
  const old = batches(1, 's-old', [
    [0, 4],
    [5, 9],
    [10, 14],
  ])

  it('committedBatches pairs each batch-start with its batch-end, and drops a batch its driver died in', () => {
    const crashed: ActivityEvent[] = [
      { t: 20, event: 'batch-start', pid: 2, stepId: 's-bad', start: 30, end: 40 },
      { t: 21, event: 'crash', pid: 2, stepId: 's-bad' },
      { t: 22, event: 'app-exit', pid: 2, stepId: 's-bad' },
    ]
    const done = committedBatches([...crashed, ...old].reverse())
    expect(done.map((b) => [b.stepId, b.start, b.from, b.to])).toEqual([
      ['s-old', 0, 0, 4],
      ['s-old', 10, 5, 9],
      ['s-old', 20, 10, 14],
    ])
  })

  it("processingGapMs: the old driver's last batch end to the new driver's first batch start", () => {
    const events = [...old, ...batches(3, 's-new', [[17, 21]], 30)]
    expect(processingGapMs(events, 's-old', 's-new')).toBe(3)
    expect(processingGapMs(old, 's-old', 's-new')).toBeUndefined()
  })

  it("streamGapMs is 0 while the old driver's batches never stop, whatever else starts and crashes", () => {
    const standbyCrash: ActivityEvent[] = [
      { t: 3, event: 'app-start', pid: 2, stepId: 's-bad' },
      { t: 8, event: 'crash', pid: 2, stepId: 's-bad' },
    ]
    expect(streamGapMs([...old, ...standbyCrash], { from: 0, to: 20 })).toBe(0)
  })

  it('streamGapMs: the longest handover gap within the window, across a crashed new driver', () => {
    const events = [
      ...old,
      // The bad build starts a batch and dies in it: the stream gained nothing.
      { t: 40, event: 'batch-start', pid: 2, stepId: 's-bad', start: 30, end: 40 },
      { t: 41, event: 'crash', pid: 2, stepId: 's-bad' },
      // The rollback driver redoes it.
      ...batches(3, 's-rb', [
        [90, 94],
        [95, 99],
      ]),
    ] as ActivityEvent[]
    expect(streamGapMs(events, { from: 0, to: 100 })).toBe(76)
    // A handover before the run is not the run's.
    expect(streamGapMs(events, { from: 20, to: 100 })).toBe(0)
  })

  it('streamGapMs: a stream whose driver is gone with no successor yet is still losing, until now', () => {
    const gone = [...old, { t: 15, event: 'app-exit', pid: 1, stepId: 's-old' }] as ActivityEvent[]
    expect(streamGapMs(gone, { from: 0, to: 30 }, 50)).toBe(36)
    // A driver that merely waits for its next batch is not a gap.
    expect(streamGapMs(old, { from: 0, to: 30 }, 50)).toBe(0)
  })
})

const goodOf = (strategy: GoodSample['strategy'], gapMs: number, drainMs: number): GoodSample => ({
  strategy,
  gapMs,
  drainMs,
  exitToGoMs: 1_200,
  goToFirstBatchMs: 900,
  newStartMs: 34_000,
  runMs: 60_000,
  emrCalls: 20,
  result: 'deployed',
})
const badOf = (
  strategy: BadSample['strategy'],
  streamGapMs: number,
  options: Partial<BadSample> = {},
): BadSample => ({
  strategy,
  streamGapMs,
  drainMs: Number.NaN,
  rollbackMs: Number.NaN,
  failedAfterMs: 70_000,
  runMs: 80_000,
  emrCalls: 30,
  result: 'rolled-back, exit 1',
  interrupted: streamGapMs > 0,
  ...options,
})

describe('strategies bench: goals', () => {
  const good = {
    'stop-start': [goodOf('stop-start', 38_000, 3_000)],
    standby: [goodOf('standby', 3_400, 2_900)],
  }
  const bad = {
    'stop-start': [badOf('stop-start', 112_000, { rollbackMs: 36_000, drainMs: 3_000 })],
    standby: [badOf('standby', 0)],
  }

  it('all met: each says so with its numbers', () => {
    const goals = goalChecks(good, bad)
    expect(goals.map((g) => g.ok)).toEqual([true, true, true, true])
    expect(goals.map((g) => g.text)).toEqual([
      'standby gap ≤ drain + 2 s: 3.40 s ≤ 2.90 s + 2 s',
      "standby gap ≥ 10× shorter than stop-start's (new driver start 30.0 s): ×11 (38.0 s / 3.40 s)",
      "bad build, standby: the old driver's processing never interrupted (a 0 s gap): 0.00 s, never stopped",
      'bad build, stop-start: the stream loses the gap plus the rollback: 112.0 s ≥ gap 38.0 s + rollback 36.0 s',
    ])
  })

  it('the drain + 2 s bound holds per run', () => {
    const slow = {
      ...good,
      standby: [goodOf('standby', 3_400, 2_900), goodOf('standby', 5_000, 2_900)],
    }
    expect(goalChecks(slow, bad)[0]).toMatchObject({ ok: false })
  })

  it('less than 10× is not met', () => {
    const close = { ...good, standby: [goodOf('standby', 4_000, 2_900)] }
    expect(goalChecks(close, bad)[1]).toMatchObject({
      ok: false,
      text: expect.stringContaining('×9.5'),
    })
  })

  it('a bad build that interrupted the old driver in standby is not met, even with no gap seen', () => {
    const stopped = { ...bad, standby: [badOf('standby', 0, { interrupted: true })] }
    expect(goalChecks(good, stopped)[2]).toMatchObject({
      ok: false,
      text: expect.stringContaining('0.00 s, interrupted'),
    })
  })

  it('what was not measured fails its goal', () => {
    const none = { 'stop-start': [], standby: [] }
    const goals = goalChecks(none, none)
    expect(goals.map((g) => g.ok)).toEqual([false, false, false, false])
    expect(goals[0]?.text).toContain('not measured')
    const noRollback = { ...bad, 'stop-start': [badOf('stop-start', 112_000)] }
    expect(goalChecks(good, noRollback)[3]?.ok).toBe(false)
  })
})
