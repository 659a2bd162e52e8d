import { gzipSync } from 'node:zlib'
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { ObjectStore } from '../../../src/aws/object-store.ts'
import type { Log } from '../../../src/log.ts'
import {
  diagnoseStepFailure,
  lastLines,
  parseLogUri,
  stderrLocation,
  STEP_LOGS_STATEMENT_SID,
  type DiagnoseContext,
} from '../../../src/rollover/diagnose.ts'
import { FakeClock } from '../../support/fake-clock.ts'
import { MemoryStore } from '../../support/memory-store.ts'

const CLUSTER = { id: 'j-2AXXXXXXGAPLF', logUri: 's3n://aws-logs-123/elasticmapreduce/' }
const STDERR = 's3://aws-logs-123/elasticmapreduce/j-2AXXXXXXGAPLF/steps/s-NEW/stderr.gz'
const FAILED = {
  id: 's-NEW',
  failure: {
    reason: 'Unknown Error.',
    message: 'Exception in thread "main" org.apache.spark.SparkException: failed',
  },
}

const silent: Log = {
  info: () => {},
  warning: () => {},
  debug: () => {},
  group: (_name, fn) => fn(),
}

function world(): { ctx: DiagnoseContext; store: MemoryStore; clock: FakeClock } {
  const clock = new FakeClock({ auto: true })
  const store = new MemoryStore(() => clock.now())
  return { ctx: { store, clock, log: silent }, store, clock }
}

const sparkSubmitStderr = (lines: number): string =>
  [
    ...Array.from(
      { length: lines },
      (_, i) =>
        `26/12/01 12:00:${String(i % 60).padStart(2, '0')} INFO Client: Application report for application_1764590000000_0042 (state: RUNNING) line ${i}`,
    ),
    'Exception in thread "main" org.apache.spark.SparkException: Application application_1764590000000_0042 finished with failed status',
    '\tat org.apache.spark.deploy.yarn.Client.run(Client.scala:1309)',
    '',
  ].join('\n')

describe('where the stderr is', () => {
  it('under LogUri/<cluster>/steps/<step>/stderr.gz, for every S3 scheme', () => {
    for (const logUri of [
      's3://aws-logs-123/elasticmapreduce/',
      's3n://aws-logs-123/elasticmapreduce',
      's3a://aws-logs-123//elasticmapreduce//',
    ]) {
      expect(stderrLocation({ id: 's-NEW' }, { id: CLUSTER.id, logUri })?.uri).toBe(STDERR)
    }
    expect(stderrLocation({ id: 's-1' }, { id: 'j-1', logUri: 's3://logs' })?.uri).toBe(
      's3://logs/j-1/steps/s-1/stderr.gz',
    )
  })

  it("EMR's LogFile when it gives one", () => {
    const logFile = 's3n://other-logs/x/j-1/steps/s-1/stderr.gz'
    expect(stderrLocation({ id: 's-1', failure: { logFile } }, CLUSTER)).toEqual({
      location: { bucket: 'other-logs', key: 'x/j-1/steps/s-1/stderr.gz' },
      uri: logFile,
    })
  })

  it('nowhere without a LogUri, or with one that is not S3', () => {
    expect(stderrLocation({ id: 's-1' }, { id: 'j-1' })).toBeUndefined()
    expect(stderrLocation({ id: 's-1' }, { id: 'j-1', logUri: 'hdfs:///logs' })).toBeUndefined()
    expect(parseLogUri('https://example.com/logs')).toBeUndefined()
  })
})

describe('diagnoseStepFailure', () => {
  it("gives EMR's failure details and the last 30 lines of the gzipped stderr", async () => {
    const { ctx, store } = world()
    store.seedBytes(STDERR, gzipSync(sparkSubmitStderr(100)))
    const d = await diagnoseStepFailure(ctx, FAILED, CLUSTER)
    expect(d.reason).toBe('Unknown Error.')
    expect(d.message).toBe(FAILED.failure.message)
    expect(d.logFile).toBe(STDERR)
    expect(d.stderrTail).toHaveLength(30)
    expect(d.stderrTail?.at(-2)).toMatch(/^Exception in thread "main"/)
    expect(d.stderrTail?.at(-1)).toBe(
      '\tat org.apache.spark.deploy.yarn.Client.run(Client.scala:1309)',
    )
    // The driver's own log, named from the application id in the tail.
    expect(d.stderrNote).toBe(
      "The driver's own log is in s3://aws-logs-123/elasticmapreduce/j-2AXXXXXXGAPLF/containers/application_1764590000000_0042/ (its first container).",
    )
  })

  it('reads a plain-text log too, and a short one whole', async () => {
    const { ctx, store } = world()
    store.seed(STDERR, 'one\ntwo\r\nthree\n\n')
    const d = await diagnoseStepFailure(ctx, FAILED, CLUSTER)
    expect(d.stderrTail).toEqual(['one', 'two', 'three'])
    expect(d.stderrNote).toBeUndefined()
  })

  it('says an empty log is empty', async () => {
    const { ctx, store } = world()
    store.seedBytes(STDERR, gzipSync(''))
    const d = await diagnoseStepFailure(ctx, FAILED, CLUSTER)
    expect(d.stderrTail).toBeUndefined()
    expect(d.stderrNote).toBe(`The step's stderr at ${STDERR} is empty.`)
  })

  it('not uploaded yet: says where it will be', async () => {
    const { ctx } = world()
    const d = await diagnoseStepFailure(ctx, FAILED, CLUSTER)
    expect(d.stderrTail).toBeUndefined()
    expect(d.logFile).toBe(STDERR)
    expect(d.stderrNote).toBe(
      `The step's stderr is not in S3 yet (EMR uploads step logs every few minutes); it will be at ${STDERR}.`,
    )
  })

  it('access denied: names the optional IAM statement and the resource to allow', async () => {
    const { ctx, store } = world()
    store.seedBytes(STDERR, gzipSync('secret'))
    store.denied.add(STDERR)
    const d = await diagnoseStepFailure(ctx, FAILED, CLUSTER)
    expect(d.stderrTail).toBeUndefined()
    expect(d.stderrNote).toBe(
      `S3 refused to read the step's logs (403): the workflow's role lacks s3:GetObject there (or the logs' KMS key, or the bucket's owner is not expected-bucket-owner). To see them here, add the optional statement ${STEP_LOGS_STATEMENT_SID} of examples/iam-policy.json: s3:GetObject on arn:aws:s3:::aws-logs-123/elasticmapreduce/*.`,
    )
  })

  it('no LogUri: says the cluster has none and where the logs are instead', async () => {
    const { ctx, store } = world()
    const d = await diagnoseStepFailure(ctx, FAILED, { id: CLUSTER.id })
    expect(d.logFile).toBeUndefined()
    expect(d.stderrNote).toMatch(/^The cluster has no log URI/)
    expect(d.stderrNote).toContain('/mnt/var/log/hadoop/steps/s-NEW/')
    expect(store.calls).toEqual([])
  })

  it('gives up after the timeout, on the injected clock, and aborts the read', async () => {
    const { ctx, store, clock } = world()
    let signal: AbortSignal | undefined
    const getBytes = store.getBytes.bind(store)
    store.getBytes = (location, options) => {
      signal = options.signal
      return new Promise(() => void getBytes(location, options)) // never answers
    }
    const started = clock.now()
    const d = await diagnoseStepFailure(ctx, FAILED, CLUSTER, { timeoutMs: 5_000 })
    expect(clock.now() - started).toBe(5_000)
    expect(signal?.aborted).toBe(true)
    expect(d.stderrNote).toBe(
      `Reading the step's stderr took longer than 5.0s; it is at ${STDERR}.`,
    )
    expect(d.reason).toBe('Unknown Error.')
    expect(clock.pending).toBe(0)
  })

  it('leaves no timer behind when the read answers first', async () => {
    const { ctx, store, clock } = world()
    store.seed(STDERR, 'x')
    await diagnoseStepFailure(ctx, FAILED, CLUSTER)
    expect(clock.pending).toBe(0)
  })

  it('never throws: any error becomes a note', async () => {
    const { ctx, store } = world()
    store.beforeCall = () => {
      throw new Error('socket hang up')
    }
    const d = await diagnoseStepFailure(ctx, FAILED, CLUSTER)
    expect(d.stderrNote).toBe(`Could not read ${STDERR}: socket hang up.`)
    const broken: DiagnoseContext = {
      ...ctx,
      clock: {
        now: () => 0,
        monotonic: () => 0,
        sleep: () => {
          throw new Error('clock broke')
        },
      },
    }
    const e = await diagnoseStepFailure(broken, FAILED, CLUSTER)
    expect(e.stderrNote).toBe("Could not read the step's stderr: clock broke.")
  })

  it('without a store that reads bytes, points at the log', async () => {
    const { ctx, store } = world()
    const withoutBytes: ObjectStore = {
      head: (l) => store.head(l),
      getText: (l) => store.getText(l),
      list: (l) => store.list(l),
      putText: (l, body, c) => store.putText(l, body, c),
      delete: (l, c) => store.delete(l, c),
      uploadFile: (l, path, p) => store.uploadFile(l, path, p),
    }
    const plain: DiagnoseContext = { ...ctx, store: withoutBytes }
    const d = await diagnoseStepFailure(plain, FAILED, CLUSTER)
    expect(d.stderrNote).toBe(`Read the step's stderr at ${STDERR}.`)
  })

  it('a large log: reads only the first bytes, and says the tail is of those', async () => {
    const { ctx, store } = world()
    // Random text compresses badly, so 5 MB of it stays megabytes in gzip.
    const noisy = Array.from({ length: 40_000 }, () => randomBytes(64).toString('base64')).join(
      '\n',
    )
    const gz = gzipSync(noisy)
    store.seedBytes(STDERR, gz)
    const d = await diagnoseStepFailure(ctx, FAILED, CLUSTER, { maxBytes: 256 * 1024 })
    expect(store.calls.filter((c) => c.op === 'getBytes')).toHaveLength(1)
    expect(d.stderrTail).toHaveLength(30)
    // Whole lines of the log, not a cut one.
    for (const line of d.stderrTail ?? []) expect(noisy).toContain(`${line}\n`)
    expect(d.stderrNote).toMatch(
      /^The log is longer than the action reads \(\d\.\d MiB in S3\): these are the last lines of its first 256 KiB/,
    )
  })

  it('a gzip bomb: stops inflating at the cap', async () => {
    const { ctx, store } = world()
    store.seedBytes(STDERR, gzipSync(Buffer.alloc(50 * 1024 * 1024, 'a\n')))
    const d = await diagnoseStepFailure(ctx, FAILED, CLUSTER, { maxInflatedBytes: 1024 * 1024 })
    expect(d.stderrTail).toHaveLength(30)
    expect(d.stderrNote).toMatch(/these are the last lines of its first 1\.0 MiB inflated/)
  })

  it('a corrupt gzip is no exception', async () => {
    const { ctx, store } = world()
    const gz = gzipSync('first\nsecond\n')
    const at = gz.length - 5 // in the trailer's checksum
    gz.writeUInt8(gz.readUInt8(at) ^ 0xff, at)
    store.seedBytes(STDERR, gz)
    const d = await diagnoseStepFailure(ctx, FAILED, CLUSTER)
    expect(d.logFile).toBe(STDERR)
    expect(d.reason).toBe('Unknown Error.')
  })

  it('without failure details from EMR, still reads the log', async () => {
    const { ctx, store } = world()
    store.seed(STDERR, 'boom')
    const d = await diagnoseStepFailure(ctx, { id: 's-NEW', failure: { reason: '  ' } }, CLUSTER)
    expect(d).toEqual({ logFile: STDERR, stderrTail: ['boom'] })
  })
})

describe('lastLines', () => {
  it('strips terminal colours and control characters, keeps tabs, clips long lines', () => {
    const lines = lastLines(`\x1b[31mred\x1b[0m\x07\n\tindented\n${'x'.repeat(1000)}`, 30)
    expect(lines[0]).toBe('red')
    expect(lines[1]).toBe('\tindented')
    expect(lines[2]).toHaveLength(400)
    expect(lines[2]?.endsWith('…')).toBe(true)
  })

  it('drops the first line of a window that starts mid-line', () => {
    expect(lastLines('tail of a line\nwhole', 30, { partialStart: true })).toEqual(['whole'])
    expect(lastLines('whole\nthe start of a li', 30, { partialEnd: true })).toEqual(['whole'])
    expect(lastLines('whole\n', 30, { partialEnd: true })).toEqual(['whole'])
  })
})
