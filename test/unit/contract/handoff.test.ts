import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { compareHandoff, type Handoff } from '../../../src/contract/handoff.ts'
import { parseProgress, parseStopped, type SourceOffsets } from '../../../src/contract/reports.ts'

const KAFKA = 'KafkaV2[Subscribe[orders]]'
const KINESIS = 'KinesisV2MicrobatchStream[clicks]'
const FILES = 'FileStreamSource[s3://acme-landing/orders]'
const RATE = 'RateStreamV2[rowsPerSecond=10, rampUpTimeSeconds=0, numPartitions=default'

const ended = (description: string, endOffset: unknown): SourceOffsets => ({
  description,
  startOffset: null,
  endOffset,
})
const starts = (description: string, startOffset: unknown): SourceOffsets => ({
  description,
  startOffset,
  endOffset: null,
})

/** One source on each side. */
function one(description: string, oldEnd: unknown, newStart: unknown): Handoff {
  return compareHandoff([ended(description, oldEnd)], [starts(description, newStart)])
}

const SEQ_A = '49590338271490256608559692538361571095921575989136588898'
const SEQ_B = '49590338271490256608559692538361571095921575989136588950'
const kinesis = (
  shards: Record<string, { type: string; seq?: string; sub?: string; isLast?: string }>,
  streamName = 'clicks',
): unknown => ({
  metadata: { streamName, batchId: '7' },
  ...Object.fromEntries(
    Object.entries(shards).map(([id, s]) => [
      id,
      {
        iteratorType: s.type,
        iteratorPosition: s.seq ?? '',
        ...(s.sub !== undefined && { subSequenceNumber: s.sub }),
        ...(s.isLast !== undefined && { isLast: s.isLast }),
      },
    ]),
  ),
})
const SHARD0 = 'shardId-000000000000'
const SHARD1 = 'shardId-000000000001'
const SHARD2 = 'shardId-000000000002'

describe('compareHandoff: Kafka', () => {
  it('contiguous when every partition starts where it ended', () => {
    const h = one(
      KAFKA,
      { orders: { '0': 71200, '1': 70701 } },
      { orders: { '1': 70701, '0': 71200 } },
    )
    expect(h.verdict).toBe('contiguous')
    expect(h.reason).toBeUndefined()
    expect(h.sources).toEqual([
      {
        description: KAFKA,
        verdict: 'contiguous',
        oldEnd: { orders: { '0': 71200, '1': 70701 } },
        newStart: { orders: { '1': 70701, '0': 71200 } },
        detail: 'orders[0]: at 71200; orders[1]: at 70701',
      },
    ])
  })

  it('gap: names the partition and how many offsets were skipped', () => {
    const h = one(KAFKA, { orders: { '0': 100, '1': 456 } }, { orders: { '0': 100, '1': 460 } })
    expect(h.verdict).toBe('gap')
    expect(h.sources[0]?.detail).toBe(
      'orders[1]: 4 offsets skipped (old end 456, new start 460); 1 contiguous',
    )
  })

  it('overlap: names the partition and how many offsets are re-read', () => {
    const h = one(KAFKA, { orders: { '0': 123 } }, { orders: { '0': 122 } })
    expect(h.verdict).toBe('overlap')
    expect(h.sources[0]?.detail).toBe('orders[0]: 1 offset re-read (old end 123, new start 122)')
  })

  it('a gap anywhere outranks an overlap elsewhere', () => {
    const h = one(KAFKA, { orders: { '0': 10, '1': 10 } }, { orders: { '0': 8, '1': 12 } })
    expect(h.verdict).toBe('gap')
    expect(h.sources[0]?.detail).toMatch(
      /^orders\[1\]: 2 offsets skipped .*; orders\[0\]: 2 offsets re-read/,
    )
  })

  it('a partition added to the topic does not spoil a contiguous handoff', () => {
    const h = one(KAFKA, { orders: { '0': 5 } }, { orders: { '0': 5, '1': 0 } })
    expect(h.verdict).toBe('contiguous')
    expect(h.sources[0]?.detail).toBe('orders[0]: at 5; orders[1]: new, starts at 0')
  })

  it('a partition the new driver does not read makes the source unknown', () => {
    const h = one(KAFKA, { orders: { '0': 5, '1': 9 } }, { orders: { '0': 5 } })
    expect(h.verdict).toBe('unknown')
    expect(h.sources[0]?.detail).toBe(
      'orders[1]: ended at 9, not read by the new driver; 1 contiguous',
    )
    expect(h.reason).toBe(
      `${KAFKA}: orders[1]: ended at 9, not read by the new driver; 1 contiguous`,
    )
  })

  it('compares several topics of one source', () => {
    const h = one(
      'KafkaV2[Subscribe[orders,refunds]]',
      { orders: { '0': 5 }, refunds: { '0': 7 } },
      { refunds: { '0': 7 }, orders: { '0': 5 } },
    )
    expect(h.verdict).toBe('contiguous')
  })

  it('numeric strings and bigint compare exactly, beyond 2^53', () => {
    const big = '9007199254740993' // 2^53 + 1: a JSON number would round it to 2^53
    expect(one(KAFKA, { t: { '0': big } }, { t: { '0': BigInt(big) } }).verdict).toBe('contiguous')
    const h = one(KAFKA, { t: { '0': big } }, { t: { '0': '9007199254740995' } })
    expect(h.verdict).toBe('gap')
    expect(h.sources[0]?.detail).toBe(
      't[0]: 2 offsets skipped (old end 9007199254740993, new start 9007199254740995)',
    )
  })

  it('a JSON number beyond 2^53 was rounded when read: not comparable', () => {
    const h = one(KAFKA, { t: { '0': 2 ** 60 } }, { t: { '0': 2 ** 60 } })
    expect(h.verdict).toBe('unknown')
    expect(h.sources[0]?.detail).toMatch(/beyond 2\^53 and was rounded/)
  })

  it('offsets given as Spark text (a JSON string) are parsed, keeping big integers exact', () => {
    const h = one(KAFKA, '{"orders":{"0":9007199254740993}}', '{"orders":{"0":9007199254740992}}')
    expect(h.verdict).toBe('overlap')
    expect(h.sources[0]?.detail).toMatch(/1 offset re-read \(old end 9007199254740993/)
  })

  it('special offsets (-1 latest, -2 earliest) are not positions', () => {
    const h = one(KAFKA, { orders: { '0': 5 } }, { orders: { '0': -1 } })
    expect(h.verdict).toBe('unknown')
    expect(h.sources[0]?.detail).toBe('orders[0]: offset -1 is not a position')
  })

  it('the shipped contract vectors: a clean stop/start reads contiguous', () => {
    const vectors = new URL('../../../src/contract/vectors/', import.meta.url)
    const stopped = parseStopped(
      readFileSync(new URL('stopped-structured-kafka.json', vectors), 'utf8'),
    )
    // The next driver's first batch starts at the stopped driver's end.
    const next = stopped!.sources.map((s) => ({ ...s, startOffset: s.endOffset }))
    expect(compareHandoff(stopped!.sources, next).verdict).toBe('contiguous')
    const progress = parseProgress(
      readFileSync(new URL('progress-structured-kafka.json', vectors), 'utf8'),
    )
    // That progress report's first batch starts long before the stopped one ended.
    const h = compareHandoff(stopped!.sources, progress!.firstBatch!.sources)
    expect(h.verdict).toBe('overlap')
    expect(h.sources[0]?.detail).toBe(
      'orders[0]: 20990 offsets re-read (old end 71200, new start 50210); orders[1]: 20824 offsets re-read (old end 70701, new start 49877)',
    )
  })
})

describe('compareHandoff: Kinesis', () => {
  it('contiguous: the same sequence number per shard', () => {
    const before = kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A } })
    const h = one(
      KINESIS,
      before,
      kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A } }),
    )
    expect(h.verdict).toBe('contiguous')
    expect(h.sources[0]?.detail).toBe(`${SHARD0}: after ${SEQ_A}`)
  })

  it('the batch id in the metadata does not matter', () => {
    const after = kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A } }) as {
      metadata: { batchId: string }
    }
    after.metadata.batchId = '8'
    const before = kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A } })
    expect(one(KINESIS, before, after).verdict).toBe('contiguous')
  })

  it('gap: after a later sequence number skips that record', () => {
    const h = one(
      KINESIS,
      kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A } }),
      kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_B } }),
    )
    expect(h.verdict).toBe('gap')
    expect(h.sources[0]?.detail).toBe(
      `${SHARD0}: records skipped (old end after ${SEQ_A}, new start after ${SEQ_B})`,
    )
  })

  it('overlap: an earlier sequence number re-reads', () => {
    const h = one(
      KINESIS,
      kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_B } }),
      kinesis({ [SHARD0]: { type: 'AT_SEQUENCE_NUMBER', seq: SEQ_A } }),
    )
    expect(h.verdict).toBe('overlap')
  })

  it('at the same record it ended after: that record is re-read', () => {
    const h = one(
      KINESIS,
      kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A } }),
      kinesis({ [SHARD0]: { type: 'AT_SEQUENCE_NUMBER', seq: SEQ_A } }),
    )
    expect(h.verdict).toBe('overlap')
    expect(h.sources[0]?.detail).toMatch(/part of record .* re-read/)
  })

  it('at a later sequence number than it ended after: cannot tell (numbers are not dense)', () => {
    const h = one(
      KINESIS,
      kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A } }),
      kinesis({ [SHARD0]: { type: 'AT_SEQUENCE_NUMBER', seq: SEQ_B } }),
    )
    expect(h.verdict).toBe('unknown')
    expect(h.sources[0]?.detail).toMatch(/adjacent only if no record lies between/)
  })

  it('sub-records of an aggregated record are counted', () => {
    const at = (type: string, sub: string, isLast = 'false') =>
      kinesis({ [SHARD0]: { type, seq: SEQ_A, sub, isLast } })
    expect(
      one(KINESIS, at('AFTER_SEQUENCE_NUMBER', '2'), at('AT_SEQUENCE_NUMBER', '3')).verdict,
    ).toBe('contiguous')
    const gap = one(KINESIS, at('AFTER_SEQUENCE_NUMBER', '2'), at('AFTER_SEQUENCE_NUMBER', '4'))
    expect(gap.verdict).toBe('gap')
    expect(gap.sources[0]?.detail).toMatch(/2 sub-record\(s\) skipped/)
    const overlap = one(
      KINESIS,
      at('AFTER_SEQUENCE_NUMBER', '4', 'true'),
      at('AFTER_SEQUENCE_NUMBER', '1'),
    )
    expect(overlap.verdict).toBe('overlap')
    // The last sub-record and "no sub-record" both mean the whole record was read.
    expect(
      one(KINESIS, at('AFTER_SEQUENCE_NUMBER', '4', 'true'), at('AFTER_SEQUENCE_NUMBER', '-1'))
        .verdict,
    ).toBe('contiguous')
  })

  it('a new start at TRIM_HORIZON re-reads; at LATEST skips', () => {
    const before = kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A } })
    expect(one(KINESIS, before, kinesis({ [SHARD0]: { type: 'TRIM_HORIZON' } })).verdict).toBe(
      'overlap',
    )
    const latest = one(KINESIS, before, kinesis({ [SHARD0]: { type: 'LATEST' } }))
    expect(latest.verdict).toBe('gap')
    expect(latest.sources[0]?.detail).toMatch(/starts at LATEST/)
  })

  it('a shard not read yet (TRIM_HORIZON) that the new driver starts after a record: a gap', () => {
    const before = kinesis({ [SHARD0]: { type: 'TRIM_HORIZON' } })
    const after = kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A } })
    expect(one(KINESIS, before, after).verdict).toBe('gap')
    const at = kinesis({ [SHARD0]: { type: 'AT_SEQUENCE_NUMBER', seq: SEQ_A } })
    expect(one(KINESIS, before, at).verdict).toBe('unknown') // SEQ_A may be the first record
  })

  it('AT_TIMESTAMP cannot be ordered against a sequence number', () => {
    const h = one(
      KINESIS,
      kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A } }),
      kinesis({ [SHARD0]: { type: 'AT_TIMESTAMP', seq: '1764590000000' } }),
    )
    expect(h.verdict).toBe('unknown')
  })

  it('a shard split: the closed parent is done, the children are new', () => {
    const before = kinesis({
      [SHARD0]: { type: 'SHARD_END' },
      [SHARD1]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A },
    })
    const after = kinesis({
      [SHARD1]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A },
      [SHARD2]: { type: 'TRIM_HORIZON' },
    })
    const h = one(KINESIS, before, after)
    expect(h.verdict).toBe('contiguous')
    expect(h.sources[0]?.detail).toBe(
      `${SHARD1}: after ${SEQ_A}; ${SHARD0}: closed and fully read; ${SHARD2}: new, starts at TRIM_HORIZON`,
    )
  })

  it('an open shard the new driver does not read: unknown', () => {
    const h = one(
      KINESIS,
      kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A } }),
      kinesis({ [SHARD1]: { type: 'TRIM_HORIZON' } }),
    )
    expect(h.verdict).toBe('unknown')
  })

  it('another stream is not comparable', () => {
    const shards = { [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A } }
    const h = one(KINESIS, kinesis(shards, 'clicks'), kinesis(shards, 'clicks-v2'))
    expect(h.verdict).toBe('unknown')
    expect(h.sources[0]?.detail).toBe('stream clicks then clicks-v2')
  })

  it('a malformed sequence number is named, not compared', () => {
    const h = one(
      KINESIS,
      kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: 'oops' } }),
      kinesis({ [SHARD0]: { type: 'AFTER_SEQUENCE_NUMBER', seq: SEQ_A } }),
    )
    expect(h.verdict).toBe('unknown')
    expect(h.sources[0]?.detail).toBe(`${SHARD0}: sequence number oops is not a number`)
  })

  it('a topic named "metadata" is still Kafka', () => {
    expect(one(KAFKA, { metadata: { '0': 3 } }, { metadata: { '0': 4 } }).verdict).toBe('gap')
  })
})

describe('compareHandoff: files, rate, DStreams', () => {
  it('file source log offsets', () => {
    expect(one(FILES, { logOffset: 8 }, { logOffset: 8 }).verdict).toBe('contiguous')
    const h = one(FILES, { logOffset: 8 }, { logOffset: 9 })
    expect(h.verdict).toBe('gap')
    expect(h.sources[0]?.detail).toBe('1 file-log entry skipped (old end 8, new start 9)')
  })

  it('rate source numbers, and numeric strings', () => {
    expect(one(RATE, 40, 40).verdict).toBe('contiguous')
    expect(one(RATE, 40, '40').verdict).toBe('contiguous')
    const h = one(RATE, 50, 40)
    expect(h.verdict).toBe('overlap')
    expect(h.sources[0]?.detail).toBe('10 offsets re-read (old end 50, new start 40)')
  })

  it('null (DStreams receivers): unknown, and says why', () => {
    const h = one('input-0', null, null)
    expect(h.verdict).toBe('unknown')
    expect(h.reason).toBe('input-0: neither driver reports offsets for this source')
  })

  it('a first batch without a start offset began a new query', () => {
    const h = one(KAFKA, { orders: { '0': 5 } }, null)
    expect(h.verdict).toBe('unknown')
    expect(h.sources[0]?.detail).toMatch(/began a new query/)
  })

  it('an unknown shape: equal is contiguous, different is unknown', () => {
    const delta = (v: number) => ({
      sourceVersion: 1,
      reservoirId: 'r',
      reservoirVersion: v,
      index: -1,
    })
    expect(one('DeltaSource[s3://t]', delta(5), { ...delta(5) }).verdict).toBe('contiguous')
    const h = one('DeltaSource[s3://t]', delta(5), delta(6))
    expect(h.verdict).toBe('unknown')
    expect(h.sources[0]?.detail).toMatch(/^offsets of a form the action cannot order differ/)
  })

  it('odd JSON: arrays, booleans, empty objects, bad JSON text, mixed shapes', () => {
    expect(one('x', [1, 2], [1, 2]).verdict).toBe('contiguous')
    expect(one('x', true, false).verdict).toBe('unknown')
    expect(one('x', {}, {}).verdict).toBe('contiguous')
    expect(one('x', '{not json', '{not json').verdict).toBe('contiguous')
    expect(one('x', '{not json', '{other').verdict).toBe('unknown')
    expect(one('x', 5, { logOffset: 5 }).verdict).toBe('unknown')
    expect(one('x', 1.5, 1.5).verdict).toBe('unknown')
    expect(one('x', { orders: { '0': 'abc' } }, { orders: { '0': 'abc' } }).verdict).toBe('unknown')
    expect(one('x', { t: { '0': 5 } }, { t: { '0': 5, x: 1 } }).verdict).toBe('unknown')
  })

  it('never throws, even on JSON nested too deep to walk', () => {
    let deep: unknown = 1
    for (let i = 0; i < 200_000; i++) deep = [deep]
    const h = one('x', deep, deep)
    expect(h.verdict).toBe('unknown')
    expect(h.sources[0]?.detail).toMatch(/^offsets could not be compared/)
  })

  it('clips very long offsets in the detail', () => {
    const long = 'z'.repeat(5000)
    const h = one('x', long, `${long}!`)
    expect(h.sources[0]?.detail?.length).toBeLessThan(250)
  })

  it('names at most five partitions, then how many more', () => {
    const before = { t: Object.fromEntries([...Array(12).keys()].map((p) => [String(p), 10])) }
    const after = { t: Object.fromEntries([...Array(12).keys()].map((p) => [String(p), 11])) }
    const detail = one(KAFKA, before, after).sources[0]?.detail ?? ''
    expect(detail.split('; ')).toHaveLength(6)
    expect(detail).toMatch(/; 7 more$/)
  })
})

describe('compareHandoff: sources', () => {
  it('added and removed sources are named, and do not decide the verdict', () => {
    const h = compareHandoff(
      [ended(KAFKA, { orders: { '0': 5 } }), ended(FILES, { logOffset: 3 })],
      [starts(KAFKA, { orders: { '0': 5 } }), starts(RATE, 0)],
    )
    expect(h.verdict).toBe('contiguous')
    expect(h.sources.map((s) => [s.description, s.verdict])).toEqual([
      [KAFKA, 'contiguous'],
      [FILES, 'removed'],
      [RATE, 'added'],
    ])
    expect(h.sources[1]).toEqual({
      description: FILES,
      verdict: 'removed',
      oldEnd: { logOffset: 3 },
    })
    expect(h.sources[2]).toEqual({ description: RATE, verdict: 'added', newStart: 0 })
  })

  it('no source in common: unknown, naming both sides', () => {
    const h = compareHandoff([ended(FILES, { logOffset: 3 })], [starts(RATE, 0)])
    expect(h.verdict).toBe('unknown')
    expect(h.reason).toBe(
      `no source in common: the old driver read ${FILES}; the new one reads ${RATE}`,
    )
  })

  it('one gap among several contiguous sources fails the handoff', () => {
    const h = compareHandoff(
      [ended(KAFKA, { orders: { '0': 5 } }), ended(RATE, 40)],
      [starts(RATE, 40), starts(KAFKA, { orders: { '0': 6 } })],
    )
    expect(h.verdict).toBe('gap')
  })

  it('an unknown source among contiguous ones makes the whole unknown', () => {
    const h = compareHandoff(
      [ended(KAFKA, { orders: { '0': 5 } }), ended('input-0', null)],
      [starts(KAFKA, { orders: { '0': 5 } }), starts('input-0', null)],
    )
    expect(h.verdict).toBe('unknown')
    expect(h.reason).toBe('input-0: neither driver reports offsets for this source')
  })

  it('two sources with the same description pair in order', () => {
    const h = compareHandoff(
      [ended('MemoryStream[x]', 1), ended('MemoryStream[x]', 7)],
      [starts('MemoryStream[x]', 1), starts('MemoryStream[x]', 7)],
    )
    expect(h.verdict).toBe('contiguous')
  })

  it('nothing reported: says which side is missing', () => {
    expect(compareHandoff([], [])).toEqual({
      verdict: 'unknown',
      sources: [],
      reason: 'neither driver reported offsets',
    })
    expect(compareHandoff([], [starts(RATE, 0)]).reason).toMatch(
      /^the old driver reported no final offsets/,
    )
    expect(compareHandoff([ended(RATE, 0)], []).reason).toBe(
      'the new driver reported no offsets of its first batch',
    )
  })
})
