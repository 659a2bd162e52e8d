// Stand-in for a Spark Streaming driver that honours the marker contract of DESIGN.md exactly as
// the driver library does. The EMR emulator starts it as each attempt of the "YARN application"
// of a spark-submit step, with the arguments that followed `spark-submit` as argv. It processes
// an append-only virtual source in deterministic micro-batches, so a test can prove afterwards
// that no offset was lost or processed twice.
//
// Run by Node 24 directly (type stripping): erasable syntax and .ts imports only.
import { appendFileSync } from 'node:fs'
import { markerMode, parseMarkerBody } from '../../src/contract/markers.ts'
import { MARKER_CONF, parseSparkSubmitArgs } from '../../src/contract/spark-submit.ts'
import {
  DEFAULT_BATCH_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MARKER_POLL_MS,
  DEFAULT_PROGRESS_MS,
  DEFAULT_STANDBY_POLL_MS,
  availableOffset,
  outputKey,
  parseS3Uri,
  recordValue,
  type ActivityEvent,
  type Checkpoint,
  type SourceConfig,
} from './contract.ts'
import { die, exists, getText, loadJar, putJson, type S3Object } from './driver-io.ts'
import {
  ProgressReporter,
  retiredBody,
  stoppedBody,
  writeReady,
  writeStopped,
  type Batch,
  type ReportIdentity,
} from './driver-reports.ts'

const stepId = process.env.EMULATOR_STEP_ID ?? 'unknown-step'
const appId = process.env.EMULATOR_APP_ID
const attempt = Number(process.env.EMULATOR_APP_ATTEMPT ?? '1')
const startDelayMs = Number(process.env.EMULATOR_DRIVER_START_DELAY_MS ?? '0')
const activityLog = process.env.ROLLOVER_ACTIVITY_LOG

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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const never = () => new Promise<never>(() => setInterval(() => {}, 60_000))

/** The marker's text; undefined only for a definite "does not exist" (errors are retried). */
async function readMarker(marker: S3Object, pollMs: number): Promise<string | undefined> {
  for (;;) {
    try {
      return await getText(marker.bucket, marker.key)
    } catch (error) {
      log(`WARN marker read failed: ${(error as Error).message}`)
      await sleep(pollMs)
    }
  }
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

  // The ApplicationMaster and the executors come up first.
  if (startDelayMs > 0) await sleep(startDelayMs)

  const markerUri = parsed.confs.get(MARKER_CONF) ?? process.env.ROLLOVER_MARKER
  const marker = markerUri ? parseS3Uri(markerUri) : undefined
  const watches = marker !== undefined && config.behavior !== 'ignore-marker'
  const reports = config.behavior !== 'silent'
  let markerText: string | undefined
  if (!marker) log('WARN no marker configured: this driver never stops on its own')
  if (marker && watches) {
    markerText = await readMarker(marker, pollMs)
    if (markerText === undefined) {
      // A wrong URI, or a YARN re-attempt of a driver already rolled over: touch nothing. The
      // driver library throws from start(), so the attempt fails (and YARN may try again).
      activity('refused')
      die(
        `io.github.emrrollover.driver.MarkerMissingException: rollover marker ${markerUri} does not exist: this deployment was already stopped (a YARN re-attempt of a driver that was rolled over), or spark.rollover.marker names the wrong object. Not starting.`,
      )
    }
  }
  const id: ReportIdentity = {
    applicationId: appId,
    deploymentId: markerText === undefined ? undefined : parseMarkerBody(markerText)?.deploymentId,
    stateUri,
    triggerIntervalMs: Math.max(1, Math.round((batchSize * 1000) / source.ratePerSec)),
  }

  const crashes =
    config.behavior === 'crash-after-start' && attempt <= (config.crashAttempts ?? Infinity)
  if (marker && watches && markerText !== undefined && markerMode(markerText) === 'standby') {
    if (crashes) {
      // A build that fails at start-up fails in standby too, before it is ready: it never
      // writes `.ready` (otherwise a standby could never fail, whatever its build).
      await sleep(config.crashAfterMs ?? 500)
      activity('crash')
      die(
        'java.lang.IllegalStateException: simulated crash (crash-after-start)',
        config.crashExitCode ?? 1,
      )
    }
    // Spark is up; no checkpoint is read and nothing processed until the marker says run. The
    // marker is read as often as the library's spark.rollover.standbyPollInterval (1 s) says,
    // or the watch's poll when that is faster: the downtime of a switch waits for this look.
    const standbyPollMs = Math.min(pollMs, DEFAULT_STANDBY_POLL_MS)
    await writeReady(marker, id)
    activity('ready')
    log(`standby: ${markerUri} says standby, waiting for run`)
    for (;;) {
      await sleep(standbyPollMs)
      const text = await readMarker(marker, standbyPollMs)
      if (text === undefined) {
        // Retired before it ran: no checkpoint read, no batch; `.stopped` says so.
        if (reports) await writeStopped(marker, retiredBody(id))
        activity('standby-exit')
        log('standby: the marker is gone, returning without processing')
        process.exit(0)
      }
      if (markerMode(text) === 'run') break
    }
    activity('resume')
    log('standby: the marker says run, resuming from the checkpoint')
  }

  const checkpointKey = `${state.key}/checkpoint.json`
  const checkpointText = await getText(state.bucket, checkpointKey)
  const checkpoint: Checkpoint = checkpointText
    ? (JSON.parse(checkpointText) as Checkpoint)
    : { offset: 0 }
  const shift = config.records ?? Math.max(1, Math.floor(batchSize / 2))
  let offset = checkpoint.offset
  if (config.behavior === 'gap') offset += shift
  if (config.behavior === 'overlap') offset = Math.max(0, offset - shift)
  let batchId = checkpoint.batchId ?? Math.ceil(checkpoint.offset / batchSize) - 1
  activity('driver-start', { offset, attempt })
  log(
    `version ${version} (${config.behavior}) attempt ${attempt} resuming ${stateUri} at offset ${offset}`,
  )

  if (crashes) {
    setTimeout(() => {
      activity('crash', { offset })
      die(
        'java.lang.IllegalStateException: simulated crash (crash-after-start)',
        config.crashExitCode ?? 1,
      )
    }, config.crashAfterMs ?? 500)
  }

  let stopRequestedAt: number | undefined
  let wake: (() => void) | undefined
  if (marker && watches) {
    const watch = async (): Promise<void> => {
      while (stopRequestedAt === undefined) {
        await sleep(pollMs)
        try {
          if (await exists(marker)) continue
        } catch (error) {
          // A transient S3 error must not stop a production stream.
          log(`WARN marker check failed: ${(error as Error).message}`)
          continue
        }
        stopRequestedAt = Date.now()
        activity('stop-requested', { offset })
        log(`marker ${markerUri} is gone: stopping gracefully`)
        wake?.()
      }
    }
    void watch()
  }

  const progress =
    marker && reports
      ? new ProgressReporter(marker, id, source.progressMs ?? DEFAULT_PROGRESS_MS, (e) =>
          log(`WARN progress report failed: ${e.message}`),
        )
      : undefined
  await progress
    ?.inheritFirstBatch()
    .catch((e: Error) => log(`WARN cannot read .progress: ${e.message}`))
  const drainMs = config.behavior === 'slow-drain' ? (config.drainMs ?? 5000) : 0
  const processes = config.behavior !== 'stuck-after-start'
  let lastBatch: Batch | undefined
  for (;;) {
    if (stopRequestedAt !== undefined && Date.now() >= stopRequestedAt + drainMs) break
    const end = offset + batchSize
    if (processes && availableOffset(source, Date.now()) >= end) {
      const startedAt = Date.now()
      activity('batch-start', { start: offset, end })
      await sleep(batchMs)
      const records = Array.from({ length: batchSize }, (_, i) => recordValue(offset + i))
      const body = { version, stepId, start: offset, end, records }
      await putJson(state.bucket, outputKey(state.key, offset, end), body)
      batchId += 1
      await putJson(state.bucket, checkpointKey, { offset: end, batchId })
      activity('batch-end', { start: offset, end })
      lastBatch = {
        batchId,
        start: offset,
        end,
        committedAt: Date.now(),
        durationMs: Date.now() - startedAt,
      }
      progress?.committed(lastBatch)
      offset = end
      continue
    }
    const readyAt = source.startedAt + Math.ceil((end * 1000) / source.ratePerSec)
    await new Promise<void>((resolve) => {
      wake = resolve
      setTimeout(resolve, processes ? Math.max(5, Math.min(readyAt - Date.now(), 1000)) : 1000)
    })
    wake = undefined
  }

  await progress?.stop()
  const drained = Date.now() - (stopRequestedAt ?? Date.now())
  if (marker && reports) {
    const body = stoppedBody(
      id,
      { offset, lastBatch, drainMs: drained },
      { jarVersion: version, stepId },
    )
    await writeStopped(marker, body)
  }
  activity('stopped', { offset })
  log(`stopped cleanly at offset ${offset}`)
  if (config.behavior === 'ack-and-stay') {
    // Acknowledged, yet never returns from main: the application and its step live on.
    log('ack-and-stay: acknowledged, staying up')
    await never()
  }
  process.exit(0)
}

main().catch((error: unknown) => {
  die(`${(error as Error).name}: ${(error as Error).stack ?? String(error)}`)
})
