// What the real-Spark sample app committed: the rows of its JSON file sink, read the way Spark
// reads a streaming sink, through its `_spark_metadata` log. A part file that the log does not
// name was written by a batch that never committed (a driver stopped or killed mid-batch) and is
// not output; the next driver re-runs that batch into new files. From the committed rows: each
// rate-source value how many times, and which version wrote which values.
import type { S3Client } from '@aws-sdk/client-s3'
import { parseS3Uri } from './contract.ts'
import { listAllKeys, readText } from './s3-read.ts'

export interface VersionRange {
  readonly version: string
  readonly from: number
  readonly to: number
}

export interface SparkSink {
  /** Committed rows. */
  readonly rows: number
  /** The highest value committed, -1 when none. */
  readonly maxValue: number
  /** Values in 0..maxValue that no committed row holds (first 20). */
  readonly missing: readonly number[]
  /** Values that more than one committed row holds (first 20). */
  readonly duplicated: readonly number[]
  /** Runs of consecutive values by the version that wrote them, in value order. */
  readonly ranges: readonly VersionRange[]
  readonly committedFiles: number
  /** Part files no metadata entry names: uncommitted attempts, not output. */
  readonly uncommittedFiles: number
}

interface Row {
  readonly value: number
  readonly version: string
}

/** The committed files of a sink: the `add` entries of every `_spark_metadata` file, less deletes. */
async function committedFiles(s3: S3Client, bucket: string, outputKey: string): Promise<string[]> {
  const logKeys = await listAllKeys(s3, bucket, `${outputKey}/_spark_metadata/`)
  const files = new Set<string>()
  // Batch files and `N.compact` (all entries up to N) alike: a set of paths either way.
  for (const key of logKeys.filter((k) => !k.endsWith('/'))) {
    const lines = ((await readText(s3, bucket, key)) ?? '').split('\n').slice(1) // "v1" first
    for (const line of lines.filter((l) => l.trim() !== '')) {
      const entry = JSON.parse(line) as { path: string; action: string }
      const fileKey = parseS3Uri(entry.path).key
      if (entry.action === 'delete') files.delete(fileKey)
      else files.add(fileKey)
    }
  }
  return [...files].sort()
}

export async function readSparkSink(s3: S3Client, state: string): Promise<SparkSink> {
  const { bucket, key } = parseS3Uri(state)
  const outputKey = `${key}/output`
  const committed = await committedFiles(s3, bucket, outputKey)
  const parts = (await listAllKeys(s3, bucket, `${outputKey}/`)).filter((k) =>
    /\/part-[^/]+$/.test(k),
  )
  const rows: Row[] = []
  for (const file of committed) {
    for (const line of ((await readText(s3, bucket, file)) ?? '').split('\n')) {
      if (line.trim() !== '') rows.push(JSON.parse(line) as Row)
    }
  }
  return summarise(rows, committed.length, parts.filter((p) => !committed.includes(p)).length)
}

function summarise(rows: readonly Row[], committedFiles: number, uncommitted: number): SparkSink {
  const byValue = new Map<number, Row[]>()
  for (const row of rows) byValue.set(row.value, [...(byValue.get(row.value) ?? []), row])
  const maxValue = rows.reduce((max, r) => Math.max(max, r.value), -1)
  const missing: number[] = []
  const duplicated: number[] = []
  const ranges: VersionRange[] = []
  for (let value = 0; value <= maxValue; value++) {
    const seen = byValue.get(value) ?? []
    if (seen.length === 0 && missing.length < 20) missing.push(value)
    if (seen.length > 1 && duplicated.length < 20) duplicated.push(value)
    const version = seen[0]?.version
    if (version === undefined) continue
    const last = ranges.at(-1)
    if (last && last.version === version && last.to === value - 1) {
      ranges[ranges.length - 1] = { ...last, to: value }
    } else {
      ranges.push({ version, from: value, to: value })
    }
  }
  return {
    rows: rows.length,
    maxValue,
    missing,
    duplicated,
    ranges,
    committedFiles,
    uncommittedFiles: uncommitted,
  }
}
