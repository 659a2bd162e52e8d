// The matrix bench's pure pieces: its arguments, the launcher that keeps at most max-parallel
// rollovers running, and the figures of a round. The bench itself runs on the local stack
// (`npm run bench -- --apps 20`); nothing here starts it or asserts a timing.
import { describe, expect, it } from 'vitest'
import {
  appsPerCluster,
  parseMatrixArgs,
  renderRounds,
  roundPassed,
  runLimited,
  startupAndConfirm,
  summarizeRound,
  tallyCalls,
  type RolloverSample,
} from '../../emulator/bench/matrix.ts'
import type { EmrCall } from '../../emulator/bench/emr-recorder.ts'
import { UsageError } from '../../emulator/bench/measure.ts'

describe('parseMatrixArgs', () => {
  it('defaults to 20 apps, all at once, on one cluster, stable-for 2s', () => {
    expect(parseMatrixArgs([])).toEqual({
      apps: 20,
      maxParallel: [0],
      clusters: 1,
      stableFor: '2s',
      verbose: false,
    })
  })

  it('reads every option; --max-parallel is a list, one round each', () => {
    expect(
      parseMatrixArgs([
        '--apps',
        '8',
        '--max-parallel',
        '0,10,5',
        '--clusters',
        '2',
        '--stable-for',
        '1m30s',
        '--json',
        'out.json',
        '--verbose',
      ]),
    ).toEqual({
      apps: 8,
      maxParallel: [0, 10, 5],
      clusters: 2,
      stableFor: '1m30s',
      json: 'out.json',
      verbose: true,
    })
  })

  it('answers help for --help and -h', () => {
    expect(parseMatrixArgs(['--help'])).toBe('help')
    expect(parseMatrixArgs(['--apps', '3', '-h'])).toBe('help')
  })

  it.each([
    [['--apps', '0'], /--apps: expected a positive integer/],
    [['--apps', 'x'], /--apps: expected a positive integer/],
    [['--apps'], /--apps needs a value/],
    [['--apps', '--clusters', '2'], /--apps needs a value/],
    [['--max-parallel', '0,-1'], /--max-parallel: expected non-negative integers/],
    [['--max-parallel', '5,,2'], /--max-parallel: expected non-negative integers/],
    [['--max-parallel', '2.5'], /--max-parallel: expected non-negative integers/],
    [['--clusters', '0'], /--clusters: expected a positive integer/],
    [['--apps', '2', '--clusters', '3'], /more clusters than --apps 2/],
    [['--apps', '300'], /at most 256 steps at once/],
    [['--stable-for', '2'], /expected a duration/],
    [['--runs', '3'], /unknown argument --runs/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseMatrixArgs(argv)).toThrow(UsageError)
    expect(() => parseMatrixArgs(argv)).toThrow(message)
  })

  it('takes 300 apps over 2 clusters (150 steps each)', () => {
    expect(parseMatrixArgs(['--apps', '300', '--clusters', '2'])).toMatchObject({ apps: 300 })
  })
})

describe('appsPerCluster', () => {
  it('spreads the apps round-robin: the first clusters take the remainder', () => {
    expect(appsPerCluster(20, 1)).toEqual([20])
    expect(appsPerCluster(20, 3)).toEqual([7, 7, 6])
    expect(appsPerCluster(5, 5)).toEqual([1, 1, 1, 1, 1])
  })
})

/** A task whose end the test decides, and a record of how many ran at once. */
function gatedTasks() {
  const gates = new Map<number, () => void>()
  let running = 0
  let peak = 0
  const started: number[] = []
  const task = async (item: number) => {
    running++
    peak = Math.max(peak, running)
    started.push(item)
    await new Promise<void>((resolve) => gates.set(item, resolve))
    running--
    return item * 10
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve))
  return {
    task,
    settle,
    started,
    get running() {
      return running
    },
    get peak() {
      return peak
    },
    finish: async (item: number) => {
      const open = gates.get(item)
      if (!open) throw new Error(`task ${item} has not started`)
      open()
      await settle()
    },
  }
}

describe('runLimited', () => {
  it('keeps at most max-parallel running, starting the next in order as one ends', async () => {
    const t = gatedTasks()
    const done = runLimited([1, 2, 3, 4, 5], 2, t.task)
    await t.settle()
    expect(t.started).toEqual([1, 2])
    await t.finish(2)
    expect(t.started).toEqual([1, 2, 3])
    expect(t.running).toBe(2)
    await t.finish(1)
    expect(t.started).toEqual([1, 2, 3, 4])
    await t.finish(3)
    await t.finish(4)
    await t.finish(5)
    expect(await done).toEqual([10, 20, 30, 40, 50])
    expect(t.peak).toBe(2)
  })

  it('0 starts them all at once, as a matrix without max-parallel', async () => {
    const t = gatedTasks()
    const done = runLimited([1, 2, 3, 4], 0, t.task)
    await t.settle()
    expect(t.started).toEqual([1, 2, 3, 4])
    for (const i of [4, 3, 2, 1]) await t.finish(i)
    expect(await done).toEqual([10, 20, 30, 40])
  })

  it('a max-parallel above the items is all at once', async () => {
    const t = gatedTasks()
    const done = runLimited([1, 2], 10, t.task)
    await t.settle()
    expect(t.running).toBe(2)
    await t.finish(1)
    await t.finish(2)
    expect(await done).toEqual([10, 20])
  })

  it('passes the index, and resolves an empty list at once', async () => {
    expect(await runLimited(['a', 'b'], 1, async (x, i) => `${x}${i}`)).toEqual(['a0', 'b1'])
    expect(await runLimited([], 3, async () => 1)).toEqual([])
  })

  it('a failure starts nothing new and rejects once the running tasks ended', async () => {
    const started: number[] = []
    let release: () => void = () => {}
    const slow = new Promise<void>((resolve) => (release = resolve))
    let slowEnded = false
    const done = runLimited([1, 2, 3, 4], 2, async (item) => {
      started.push(item)
      if (item === 1) {
        await slow
        slowEnded = true
        return item
      }
      throw new Error(`task ${item} failed`)
    })
    let settled = false
    void done.catch(() => (settled = true))
    await new Promise((resolve) => setImmediate(resolve))
    expect(started).toEqual([1, 2])
    expect(settled).toBe(false)
    release()
    await expect(done).rejects.toThrow('task 2 failed')
    expect(slowEnded).toBe(true)
    expect(started).toEqual([1, 2])
  })

  it('refuses a negative or fractional max-parallel', async () => {
    await expect(runLimited([1], -1, async () => 1)).rejects.toThrow(RangeError)
    await expect(runLimited([1], 1.5, async () => 1)).rejects.toThrow(RangeError)
  })
})

function sample(app: string, over: Partial<RolloverSample> = {}): RolloverSample {
  return {
    app,
    clusterId: 'j-1',
    ok: true,
    startedAt: 1000,
    endedAt: 11_000,
    emrCalls: 8,
    throttled: 0,
    emrCallsByOp: { DescribeCluster: 1, ListSteps: 1, DescribeStep: 5, AddJobFlowSteps: 1 },
    reportedDowntimeS: 2,
    processingGapMs: 2100,
    startupMs: 400,
    confirmWaitMs: 300,
    ...over,
  }
}

describe('summarizeRound', () => {
  const samples = [
    sample('app-1'),
    sample('app-2', {
      emrCalls: 12,
      throttled: 3,
      emrCallsByOp: { DescribeCluster: 1, ListSteps: 1, DescribeStep: 9, AddJobFlowSteps: 1 },
      reportedDowntimeS: 40,
      processingGapMs: 39_500,
      endedAt: 61_000,
      confirmWaitMs: 37_000,
    }),
    sample('app-3', {
      ok: false,
      error: 'The running driver is not confirmed gone',
      emrCalls: 10,
      throttled: 2,
      emrCallsByOp: { DescribeCluster: 1, ListSteps: 1, DescribeStep: 8 },
      reportedDowntimeS: undefined,
      processingGapMs: undefined,
      confirmWaitMs: undefined,
      dataProblem: 'gap or repeat at offset 120',
    }),
  ]
  const round = summarizeRound({ maxParallel: 0, samples, wallMs: 65_000, maxLoad: 7.5 })

  it('counts runs, failures and the data verdicts', () => {
    expect(round).toMatchObject({ runs: 3, succeeded: 2, failed: 1, dataOk: 2 })
    expect(round.failures).toEqual(['app-3: The running driver is not confirmed gone'])
    expect(round.dataProblems).toEqual(['app-3: gap or repeat at offset 120'])
    expect(roundPassed(round)).toBe(false)
  })

  it('EMR calls per rollover (median, max), throttled of total, per operation', () => {
    expect(round.calls).toEqual({ median: 10, min: 8, max: 12 })
    expect(round.totalCalls).toBe(30)
    expect(round.throttledCalls).toBe(5)
    expect(round.callsByOp).toEqual({
      DescribeCluster: 1,
      ListSteps: 1,
      DescribeStep: 22 / 3,
      AddJobFlowSteps: 2 / 3,
    })
  })

  it("the slowest app's downtime by both witnesses, over the runs that have one", () => {
    expect(round.slowestReported).toEqual({ app: 'app-2', seconds: 40 })
    expect(round.slowestGap).toEqual({ app: 'app-2', ms: 39_500 })
    expect(round.reportedDowntimeS).toEqual({ median: 21, min: 2, max: 40 })
    expect(round.confirmWaitMs.max).toBe(37_000)
    expect(round.startupMs.median).toBe(400)
    expect(round.wallMs).toBe(65_000)
    expect(round.runMs).toEqual({ median: 10_000, min: 10_000, max: 60_000 })
    expect(round.maxLoad).toBe(7.5)
  })

  it('passes only when every run succeeded and every verdict held', () => {
    const ok = summarizeRound({ maxParallel: 5, samples: [sample('a'), sample('b')], wallMs: 1 })
    expect(roundPassed(ok)).toBe(true)
    expect(ok.maxLoad).toBeUndefined()
    const bad = summarizeRound({
      maxParallel: 5,
      samples: [sample('a'), sample('b', { dataProblem: 'two drivers alive at once' })],
      wallMs: 1,
    })
    expect(bad.failed).toBe(0)
    expect(roundPassed(bad)).toBe(false)
    expect(roundPassed(summarizeRound({ maxParallel: 0, samples: [], wallMs: 0 }))).toBe(false)
  })

  it('a round without any downtime figure has no slowest app and prints dashes', () => {
    const none = summarizeRound({
      maxParallel: 2,
      samples: [sample('a', { reportedDowntimeS: undefined, processingGapMs: undefined })],
      wallMs: 10,
    })
    expect(none.slowestReported).toBeUndefined()
    expect(none.slowestGap).toBeUndefined()
    const lines = renderRounds([none])
    expect(lines.find((l) => l.startsWith("slowest app's downtime"))).toMatch(/—$/)
  })

  it('renders the rounds side by side, one column each', () => {
    const ok = summarizeRound({ maxParallel: 5, samples: [sample('a'), sample('b')], wallMs: 1 })
    const lines = renderRounds([round, ok])
    expect(lines[0]).toMatch(/max-parallel 0 \(all\)\s+max-parallel 5$/)
    const line = (label: string) => lines.find((l) => l.startsWith(label)) ?? ''
    expect(line('runs succeeded')).toMatch(/2\/3 \(1 FAILED\)\s+2\/2$/)
    expect(line('EMR calls per rollover')).toMatch(/10 median, 12 max\s+8 median, 8 max$/)
    expect(line('throttled calls')).toMatch(/5 of 30 \(16\.7%\)\s+0 of 16 \(0%\)$/)
    expect(line("slowest app's downtime")).toMatch(/40\.0 s\s+2\.0 s$/)
    expect(line('data verdict')).toMatch(/✘ 2\/3 apps\s+✔ 2\/2 apps$/)
  })
})

function call(op: string, over: Partial<EmrCall> = {}): EmrCall {
  return { op, receivedAt: 0, answeredAt: 0, status: 200, ...over }
}

describe('tallyCalls', () => {
  it('counts calls, the throttled ones (HTTP 400) and by operation', () => {
    expect(
      tallyCalls([
        call('DescribeCluster'),
        call('DescribeStep', { status: 400 }),
        call('DescribeStep'),
        call('AddJobFlowSteps'),
      ]),
    ).toEqual({
      calls: 4,
      throttled: 1,
      byOp: { DescribeCluster: 1, DescribeStep: 2, AddJobFlowSteps: 1 },
    })
  })
})

describe('startupAndConfirm', () => {
  const chunk = (t: number, text: string, stream: 'stdout' | 'stderr' = 'stdout') => ({
    t,
    stream,
    text,
  })
  const run = {
    outputs: { 'previous-step-id': 's-OLD' },
    chunks: [
      chunk(1000, 'some stderr noise', 'stderr'),
      chunk(1500, 'Deployment d: rolling app over\n'),
      chunk(4000, 's-OLD (RUNNING) acknowledged its stop: {"version":1}\n'),
    ],
  }

  it("start-up to the first log line; the ack to EMR's answer that the old step ended", () => {
    const calls = [
      call('DescribeStep', { stepId: 's-OLD', state: 'RUNNING', answeredAt: 3000 }),
      call('DescribeStep', { stepId: 's-OLD', status: 400, answeredAt: 4100 }),
      call('DescribeStep', { stepId: 's-NEW', state: 'COMPLETED', answeredAt: 5000 }),
      call('DescribeStep', { stepId: 's-OLD', state: 'COMPLETED', answeredAt: 24_000 }),
    ]
    expect(startupAndConfirm(run, calls, 1000)).toEqual({ startupMs: 500, confirmWaitMs: 20_000 })
  })

  it('no confirmation figure without an acknowledgement or a previous step', () => {
    const calls = [call('DescribeStep', { stepId: 's-OLD', state: 'COMPLETED', answeredAt: 9 })]
    expect(startupAndConfirm({ ...run, chunks: run.chunks.slice(0, 2) }, calls, 1000)).toEqual({
      startupMs: 500,
    })
    expect(startupAndConfirm({ ...run, outputs: {} }, calls, 1000)).toEqual({ startupMs: 500 })
    expect(startupAndConfirm({ outputs: {}, chunks: [] }, [], 0)).toEqual({})
  })
})
