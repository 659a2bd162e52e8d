// Offsets as Spark prints them in StreamingQueryProgress, read as positions per partition or
// shard and ordered. Pure. The shapes understood:
//   Kafka    {"topic":{"0":123,"1":456}}: the next offset to read, per partition;
//   Kinesis  {"metadata":{…},"shardId-…":{"iteratorType":…,"iteratorPosition":"<seq>"}}: a cut
//            in each shard (sequence numbers are big integers in strings, and are not dense);
//   files    {"logOffset":8}; rate and socket sources: a number;
//   null     the driver cannot tell (DStreams receivers).
// Anything else is compared for equality only. Numbers arrive either as JSON numbers (exact up to
// 2^53), as bigint, or as numeric strings (exact at any size).

export type PartVerdict = 'contiguous' | 'gap' | 'overlap' | 'unknown' | 'neutral'

export interface PartResult {
  readonly verdict: PartVerdict
  readonly text: string
}

/** A position in one partition or shard, or why it cannot be compared. */
type Position =
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'kinesis'; readonly cut: KinesisCut }
  | { readonly kind: 'bad'; readonly why: string }

/** An offset value understood as named parts (partitions, shards, or one unnamed part). */
export interface Parsed {
  readonly family: 'kafka' | 'kinesis' | 'file' | 'scalar'
  readonly parts: ReadonlyMap<string, Position>
  /** Kinesis: the stream the shards belong to. */
  readonly stream?: string
}

export function comparePart(
  family: Parsed['family'],
  name: string,
  o: Position | undefined,
  n: Position | undefined,
): PartResult {
  const label = name === '' ? '' : `${name}: `
  if (o === undefined) {
    return { verdict: 'neutral', text: `${label}new, starts at ${describe(n as Position)}` }
  }
  if (n === undefined) {
    if (o.kind === 'kinesis' && o.cut.type === 'SHARD_END') {
      return { verdict: 'neutral', text: `${label}closed and fully read` }
    }
    return {
      verdict: 'unknown',
      text: `${label}ended at ${describe(o)}, not read by the new driver`,
    }
  }
  if (o.kind === 'bad' || n.kind === 'bad') {
    return {
      verdict: 'unknown',
      text: `${label}${o.kind === 'bad' ? o.why : (n as { why: string }).why}`,
    }
  }
  if (o.kind === 'int' && n.kind === 'int') {
    return compareInts(label, unitOf(family), o.value, n.value)
  }
  if (o.kind === 'kinesis' && n.kind === 'kinesis') {
    const r = compareKinesis(o.cut, n.cut)
    return { verdict: r.verdict, text: `${label}${r.text}` }
  }
  return { verdict: 'unknown', text: `${label}${describe(o)} then ${describe(n)}` }
}

function unitOf(family: Parsed['family']): [one: string, many: string] {
  return family === 'file' ? ['file-log entry', 'file-log entries'] : ['offset', 'offsets']
}

function compareInts(
  label: string,
  [one, many]: [string, string],
  o: bigint,
  n: bigint,
): PartResult {
  const d = n - o
  if (d === 0n) return { verdict: 'contiguous', text: `${label}at ${o}` }
  const count = d > 0n ? d : -d
  const what = count === 1n ? one : many
  return d > 0n
    ? { verdict: 'gap', text: `${label}${count} ${what} skipped (old end ${o}, new start ${n})` }
    : {
        verdict: 'overlap',
        text: `${label}${count} ${what} re-read (old end ${o}, new start ${n})`,
      }
}

function describe(p: Position): string {
  if (p.kind === 'int') return String(p.value)
  if (p.kind === 'bad') return p.why
  return describeCut(p.cut)
}

// --- Kinesis --------------------------------------------------------------------------------

interface KinesisCut {
  readonly type: string
  readonly seq?: bigint
  /** Within an aggregated (KPL) record: the sub-record index, -1 when none. */
  readonly sub?: bigint
  readonly isLast?: boolean
}

const SEQUENCE_TYPES = new Set(['AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER'])

function describeCut(c: KinesisCut): string {
  if (c.seq === undefined) return c.type
  const sub = c.sub !== undefined && c.sub >= 0n ? `/${c.sub}` : ''
  return `${c.type === 'AT_SEQUENCE_NUMBER' ? 'at' : 'after'} ${c.seq}${sub}`
}

/**
 * A cut between records: AT s is just before record s, AFTER s just after it. Sequence numbers
 * grow but skip values, so only a record that lies between two cuts for certain (the record a
 * cut names) proves a gap or an overlap; two different cuts may still be adjacent.
 */
function compareKinesis(o: KinesisCut, n: KinesisCut): PartResult {
  if (o.type === n.type && o.seq === undefined && n.seq === undefined) {
    if (o.type === 'SHARD_END' || o.type === 'TRIM_HORIZON') {
      return { verdict: 'contiguous', text: o.type }
    }
    return { verdict: 'unknown', text: `${o.type} then ${n.type}` }
  }
  if (n.type === 'TRIM_HORIZON') {
    return {
      verdict: 'overlap',
      text: `restarts at TRIM_HORIZON (the oldest record kept), old end ${describeCut(o)}: records re-read`,
    }
  }
  if (o.type === 'TRIM_HORIZON' && n.type === 'AFTER_SEQUENCE_NUMBER') {
    // Nothing of the shard was read; the new driver starts past record n.seq.
    return {
      verdict: 'gap',
      text: `old end TRIM_HORIZON, new start ${describeCut(n)}: records skipped`,
    }
  }
  if (n.type === 'LATEST') {
    return {
      verdict: 'gap',
      text: `starts at LATEST, old end ${describeCut(o)}: records written in between are skipped`,
    }
  }
  if (
    !SEQUENCE_TYPES.has(o.type) ||
    !SEQUENCE_TYPES.has(n.type) ||
    o.seq === undefined ||
    n.seq === undefined
  ) {
    return { verdict: 'unknown', text: `${describeCut(o)} then ${describeCut(n)}` }
  }
  const both = `old end ${describeCut(o)}, new start ${describeCut(n)}`
  if (o.seq === n.seq) return compareWithinRecord(o, n, both)
  const oAfter = o.type === 'AFTER_SEQUENCE_NUMBER'
  const nAfter = n.type === 'AFTER_SEQUENCE_NUMBER'
  if (n.seq > o.seq) {
    // Between the cuts: record o.seq when the old cut is before it, record n.seq when the new
    // cut is after it.
    if (!oAfter || nAfter) return { verdict: 'gap', text: `records skipped (${both})` }
  } else if (oAfter || !nAfter) {
    return { verdict: 'overlap', text: `records re-read (${both})` }
  }
  return {
    verdict: 'unknown',
    text: `${both}: adjacent only if no record lies between`,
  }
}

/** Same record: compare the cuts between its sub-records (KPL aggregation), which are dense. */
function compareWithinRecord(o: KinesisCut, n: KinesisCut, both: string): PartResult {
  const index = (c: KinesisCut): bigint | 'end' => {
    const sub = c.sub ?? -1n
    if (c.type === 'AT_SEQUENCE_NUMBER') return sub < 0n ? 0n : sub
    return sub < 0n || c.isLast ? 'end' : sub + 1n
  }
  const a = index(o)
  const b = index(n)
  if (a === b) return { verdict: 'contiguous', text: describeCut(o) }
  if (a === 'end' || b === 'end') {
    return b === 'end'
      ? { verdict: 'gap', text: `the rest of record ${o.seq} skipped (${both})` }
      : { verdict: 'overlap', text: `part of record ${o.seq} re-read (${both})` }
  }
  const d = b - a
  return d > 0n
    ? { verdict: 'gap', text: `${d} sub-record(s) skipped (${both})` }
    : { verdict: 'overlap', text: `${-d} sub-record(s) re-read (${both})` }
}

function parseKinesisCut(value: unknown): Position {
  if (!isObject(value) || typeof value.iteratorType !== 'string') {
    return { kind: 'bad', why: 'no iteratorType' }
  }
  const type = value.iteratorType.toUpperCase()
  const position = value.iteratorPosition
  const isLast = value.isLast === true || value.isLast === 'true'
  const sub = toBigInt(value.subSequenceNumber)
  if (!SEQUENCE_TYPES.has(type)) return { kind: 'kinesis', cut: { type } }
  const seq = toBigInt(position)
  if (seq === undefined)
    return { kind: 'bad', why: `sequence number ${clip(String(position))} is not a number` }
  return {
    kind: 'kinesis',
    cut: { type, seq, ...(sub !== undefined && { sub }), ...(isLast && { isLast }) },
  }
}

// --- Parsing --------------------------------------------------------------------------------

/** undefined for a shape the action cannot order; the parts otherwise. */
export function parseOffset(value: unknown): Parsed | undefined {
  const scalar = toPosition(value)
  if (scalar) return { family: 'scalar', parts: new Map([['', scalar]]) }
  if (!isObject(value)) return undefined
  const keys = Object.keys(value)
  if (keys.length === 1 && keys[0] === 'logOffset') {
    const p = toPosition(value.logOffset)
    return p && { family: 'file', parts: new Map([['', p]]) }
  }
  const entries = Object.entries(value)
  const kinesisMeta =
    isObject(value.metadata) && ('streamName' in value.metadata || 'batchId' in value.metadata)
  if (
    kinesisMeta ||
    entries.some(([k, v]) => k !== 'metadata' && isObject(v) && 'iteratorType' in v)
  ) {
    const meta = isObject(value.metadata) ? value.metadata : {}
    const stream = typeof meta.streamName === 'string' ? meta.streamName : undefined
    const shards = entries.filter(([k]) => k !== 'metadata')
    return {
      family: 'kinesis',
      parts: new Map(shards.map(([k, v]) => [k, parseKinesisCut(v)])),
      ...(stream !== undefined && { stream }),
    }
  }
  const isPartitionMap = (v: unknown): v is Record<string, unknown> =>
    isObject(v) && Object.keys(v).every((k) => /^\d+$/.test(k))
  if (entries.length > 0 && entries.every(([, v]) => isPartitionMap(v))) {
    const parts = new Map<string, Position>()
    for (const [topic, partitions] of entries as Array<[string, Record<string, unknown>]>) {
      const sorted = Object.keys(partitions).sort((a, b) => Number(a) - Number(b))
      for (const p of sorted) {
        parts.set(`${topic}[${p}]`, toPosition(partitions[p]) ?? kafkaSpecial(partitions[p]))
      }
    }
    return { family: 'kafka', parts }
  }
  return undefined
}

function kafkaSpecial(value: unknown): Position {
  return { kind: 'bad', why: `offset ${clip(canonical(value))} is not a position` }
}

/** An exact non-negative integer position, or a `bad` one saying why not; undefined if no number. */
function toPosition(value: unknown): Position | undefined {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) {
      return { kind: 'bad', why: `offset ${value} is not a position` }
    }
    if (!Number.isSafeInteger(value)) {
      return { kind: 'bad', why: `offset ${value} is beyond 2^53 and was rounded when read` }
    }
    return { kind: 'int', value: BigInt(value) }
  }
  const exact = typeof value === 'bigint' || typeof value === 'string' ? toBigInt(value) : undefined
  if (exact === undefined) return undefined
  return exact < 0n
    ? { kind: 'bad', why: `offset ${exact} is not a position` }
    : { kind: 'int', value: exact }
}

function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : undefined
  if (typeof value === 'string' && /^-?\d{1,80}$/.test(value.trim())) return BigInt(value.trim())
  return undefined
}

/**
 * null for "no offset"; a string holding JSON (a driver that forwards Spark's text as is) parsed,
 * keeping integers beyond 2^53 exact.
 */
export function normalise(value: unknown): unknown {
  if (value === null || value === undefined) return null
  if (typeof value !== 'string') return value
  const text = value.trim()
  if (text === '' || text === 'null') return null
  if (!/^[[{]/.test(text)) return value
  try {
    return JSON.parse(text, exactIntegers as Parameters<typeof JSON.parse>[1])
  } catch {
    return value
  }
}

/** JSON.parse reviver (Node 22+ passes the source text): integers beyond 2^53 as bigint. */
function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || Number.isSafeInteger(value)) return value
  const source = context?.source
  return source !== undefined && /^-?\d+$/.test(source) ? BigInt(source) : value
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** JSON with sorted keys (and bigint), so equal offsets compare equal whatever the key order. */
export function canonical(value: unknown): string {
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (isObject(value)) {
    const keys = Object.keys(value).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

export function clip(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
