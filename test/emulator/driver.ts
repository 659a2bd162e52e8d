// Stand-in for a Spark Streaming driver that honours the marker contract of DESIGN.md. The EMR
// emulator starts it as the "YARN application" of a spark-submit step, with the arguments that
// followed `spark-submit` as argv. It processes an append-only virtual source in deterministic
// micro-batches, so a test can prove afterwards that no offset was lost or processed twice.
//
// Run by Node 24 directly (type stripping): erasable syntax and .ts imports only.
import { appendFileSync, readFileSync } from 'node:fs'
import AdmZip from 'adm-zip'
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { MARKER_CONF, parseSparkSubmitArgs } from '../../src/contract/spark-submit.ts'
import {
  DEFAULT_BATCH_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MARKER_POLL_MS,
  JAR_CONFIG_ENTRY,
  availableOffset,
  outputKey,
  parseS3Uri,
  recordValue,
  type ActivityEvent,
  type DriverConfig,
  type SourceConfig,
} from './contract.ts'

const stepId = process.env.EMULATOR_STEP_ID ?? 'unknown-step'
const appId = process.env.EMULATOR_APP_ID
const activityLog = process.env.ROLLOVER_ACTIVITY_LOG
// A custom endpoint (moto) has no virtual-host DNS, hence path style.
const s3 = new S3Client({ forcePathStyle: true })

let version = 'unknown'
let stateUri: string | undefined

function activity(event: ActivityEvent['event'], extra: Partial<ActivityEvent> = {}): void {
  if (!activityLog) return
  const line: ActivityEvent = {
    t: Date.now(),
    event,
    pid: process.pid,
    stepId,
    appId,
    version,
    state: stateUri,
    ...extra,
  }
  // Sync append: a line must be on disk before a signal can end the process.
  appendFileSync(activityLog, JSON.stringify(line) + '\n')
}

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} INFO StreamingApp: ${message}\n`)
}

function die(message: string): never {
  process.stderr.write(`Exception in thread "main" ${message}\n`)
  process.exit(1)
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } }
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404
}

async function getText(bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    return await out.Body?.transformToString()
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
}

async function putJson(bucket: string, key: string, body: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(body),
      ContentType: 'application/json',
    }),
  )
}

async function loadJar(jarUri: string): Promise<DriverConfig> {
  let bytes: Buffer
  try {
    if (jarUri.startsWith('s3://') || jarUri.startsWith('s3a://')) {
      const { bucket, key } = parseS3Uri(jarUri)
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      bytes = Buffer.from((await out.Body?.transformToByteArray()) ?? [])
    } else {
      bytes = readFileSync(jarUri.replace(/^file:\/\//, ''))
    }
  } catch (error) {
    if (isNotFound(error) || (error as { code?: string }).code === 'ENOENT') {
      die(`java.io.FileNotFoundException: File ${jarUri} does not exist.`)
    }
    throw error
  }
  let entry: AdmZip.IZipEntry | null
  try {
    entry = new AdmZip(bytes).getEntry(JAR_CONFIG_ENTRY)
  } catch {
    die(`java.util.zip.ZipException: ${jarUri} is not a valid jar`)
  }
  if (!entry) return { version: 'unknown', behavior: 'ok' }
  return JSON.parse(entry.getData().toString('utf8')) as DriverConfig
}

async function main(): Promise<void> {
  const parsed = parseSparkSubmitArgs(process.argv.slice(2))
  if (!parsed.jar) die('org.apache.spark.SparkException: no application jar given')
  const config = await loadJar(parsed.jar)
  version = config.version

  const stateIndex = parsed.appArgs.indexOf('--state')
  stateUri = stateIndex >= 0 ? parsed.appArgs[stateIndex + 1] : undefined
  if (!stateUri) die('java.lang.IllegalArgumentException: missing application argument --state')
  const state = parseS3Uri(stateUri)
  const sourceText = await getText(state.bucket, `${state.key}/source.json`)
  if (!sourceText) die(`java.io.FileNotFoundException: ${stateUri}/source.json does not exist.`)
  const source = JSON.parse(sourceText) as SourceConfig
  const batchSize = source.batchSize ?? DEFAULT_BATCH_SIZE
  const batchMs = source.batchMs ?? DEFAULT_BATCH_MS
  const pollMs =
    Number(process.env.ROLLOVER_MARKER_POLL_MS) || source.markerPollMs || DEFAULT_MARKER_POLL_MS

  process.on('SIGTERM', () => {
    activity('signal', { signal: 'SIGTERM' })
    if (config.ignoreSigterm) return log('SIGTERM ignored')
    // No commit on the way out: the batch in flight is redone by the next driver.
    process.exit(143)
  })
  process.on('SIGINT', () => {
    activity('signal', { signal: 'SIGINT' })
    process.exit(130)
  })

  const checkpointKey = `${state.key}/checkpoint.json`
  const checkpoint = await getText(state.bucket, checkpointKey)
  let offset = checkpoint ? (JSON.parse(checkpoint) as { offset: number }).offset : 0
  activity('driver-start', { offset })
  log(`version ${version} (${config.behavior}) resuming ${stateUri} at offset ${offset}`)

  if (config.behavior === 'crash-after-start') {
    setTimeout(() => {
      activity('crash', { offset })
      die('java.lang.IllegalStateException: simulated crash (crash-after-start)')
    }, config.crashAfterMs ?? 500)
  }

  let stopRequestedAt: number | undefined
  let wake: (() => void) | undefined
  const markerUri = parsed.confs.get(MARKER_CONF) ?? process.env.ROLLOVER_MARKER
  const marker = markerUri ? parseS3Uri(markerUri) : undefined
  if (!marker) log('WARN no marker configured: this driver never stops on its own')
  if (marker && config.behavior !== 'ignore-marker') {
    const watch = async (): Promise<void> => {
      while (stopRequestedAt === undefined) {
        try {
          await s3.send(new HeadObjectCommand({ Bucket: marker.bucket, Key: marker.key }))
        } catch (error) {
          if (isNotFound(error)) {
            stopRequestedAt = Date.now()
            activity('stop-requested', { offset })
            log(`marker ${markerUri} is gone: stopping gracefully`)
            wake?.()
            return
          }
          // A transient S3 error must not stop a production stream.
          log(`WARN marker check failed: ${(error as Error).message}`)
        }
        await sleep(pollMs)
      }
    }
    void watch()
  }

  const drainMs = config.behavior === 'slow-drain' ? (config.drainMs ?? 5000) : 0
  for (;;) {
    if (stopRequestedAt !== undefined && Date.now() >= stopRequestedAt + drainMs) break
    const end = offset + batchSize
    if (availableOffset(source, Date.now()) >= end) {
      activity('batch-start', { start: offset, end })
      await sleep(batchMs)
      const records = Array.from({ length: batchSize }, (_, i) => recordValue(offset + i))
      const body = { version, stepId, start: offset, end, records }
      await putJson(state.bucket, outputKey(state.key, offset, end), body)
      await putJson(state.bucket, checkpointKey, { offset: end })
      activity('batch-end', { start: offset, end })
      offset = end
      continue
    }
    const readyAt = source.startedAt + Math.ceil((end * 1000) / source.ratePerSec)
    await new Promise<void>((resolve) => {
      wake = resolve
      setTimeout(resolve, Math.max(5, Math.min(readyAt - Date.now(), 1000)))
    })
    wake = undefined
  }

  const stopped = { stoppedAt: new Date().toISOString(), offset, version, stepId, appId }
  if (marker) await putJson(marker.bucket, `${marker.key}.stopped`, stopped)
  activity('stopped', { offset })
  log(`stopped cleanly at offset ${offset}`)
  process.exit(0)
}

main().catch((error: unknown) => {
  die(`${(error as Error).name}: ${(error as Error).stack ?? String(error)}`)
})
