// Reads the stream's evidence back from S3 for the invariant check.
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { parseOutputKey, recordValue, type OutputObject } from './contract.ts'

export async function readText(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    return await out.Body?.transformToString()
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined
    throw error
  }
}

export async function listAllKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let token: string | undefined
  do {
    const out = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    )
    for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key)
    token = out.IsTruncated ? out.NextContinuationToken : undefined
  } while (token)
  return keys
}

/** Every output object with its range and, when its records are not the source's, why. */
export function readOutputs(
  s3: S3Client,
  bucket: string,
  keys: string[],
): Promise<Array<{ key: string; start: number; end: number; problem?: string }>> {
  return mapLimit(keys, 16, async (key) => {
    const range = parseOutputKey(key) ?? { start: 0, end: 0 }
    return { key, ...range, problem: checkOutput(range, await readText(s3, bucket, key)) }
  })
}

function checkOutput(range: { start: number; end: number }, text: string | undefined) {
  if (text === undefined) return 'vanished while listing'
  const body = JSON.parse(text) as OutputObject
  if (body.start !== range.start || body.end !== range.end) return 'range differs from its key'
  if (body.records.length !== range.end - range.start) return 'wrong record count'
  const bad = body.records.findIndex((r, i) => r !== recordValue(range.start + i))
  return bad >= 0 ? `record ${range.start + bad} is ${body.records[bad]}` : undefined
}

async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
