// What the emulator, the driver stand-in and the test stack agree on: the jar's config entry,
// the stream's S3 layout and the activity log. Kept in one place so the three cannot drift.

export const JAR_CONFIG_ENTRY = 'rollover-driver.json'

/**
 * The driver's exit code for a failure spark-submit has before YARN accepts the application
 * (a missing jar): the step fails and YARN makes no further attempt.
 */
export const SPARK_SUBMIT_FAILED_EXIT = 101

/**
 * How a test jar's driver behaves (README, "The driver"):
 * - ok: honours the contract; slow-drain: keeps processing `drainMs` after its marker is gone;
 * - crash-after-start: exits `crashExitCode` (1) `crashAfterMs` after start, in attempts up to
 *   `crashAttempts` (all); in `mode: standby` it does so before writing `.ready` (a build that
 *   fails at start-up is never ready); ignore-marker: never looks at its marker;
 * - ack-and-stay: writes `.stopped` when its marker is gone, then neither exits nor processes;
 * - stuck-after-start: RUNNING, never commits a batch, reports no progress (honours its marker);
 * - gap / overlap: starts `records` after / before the checkpoint (skips / re-reads records);
 * - silent: processes correctly but writes no `.progress` or `.stopped`.
 */
export type DriverBehavior =
  | 'ok'
  | 'crash-after-start'
  | 'ignore-marker'
  | 'slow-drain'
  | 'ack-and-stay'
  | 'stuck-after-start'
  | 'gap'
  | 'overlap'
  | 'silent'

/** The `rollover-driver.json` entry of a test jar. */
export interface DriverConfig {
  readonly version: string
  readonly behavior: DriverBehavior
  /** crash-after-start: exit this long after start (default 500). */
  readonly crashAfterMs?: number
  /** crash-after-start: the exit code (default 1, as System.exit(1) or an uncaught exception). */
  readonly crashExitCode?: number
  /** crash-after-start: crash in YARN attempts 1..crashAttempts only (default: every attempt). */
  readonly crashAttempts?: number
  /** slow-drain: keep processing this long after the marker is gone (default 5000). */
  readonly drainMs?: number
  /** gap / overlap: records skipped / re-read at start (default half a batch). */
  readonly records?: number
  /** Survive SIGTERM, so that only YARN's SIGKILL escalation stops it. */
  readonly ignoreSigterm?: boolean
}

/** `<state>/source.json`: an append-only virtual source, so every test run has a known truth. */
export interface SourceConfig {
  readonly startedAt: number
  readonly ratePerSec: number
  readonly batchSize?: number
  readonly batchMs?: number
  readonly markerPollMs?: number
  /** `.progress` at most this often (the first batch's at once). Default 1000. */
  readonly progressMs?: number
}

export const DEFAULT_BATCH_SIZE = 10
export const DEFAULT_BATCH_MS = 100
export const DEFAULT_MARKER_POLL_MS = 250
/** A standby's look at its marker, at most: the driver library's standbyPollInterval default. */
export const DEFAULT_STANDBY_POLL_MS = 1000
export const DEFAULT_PROGRESS_MS = 1000

export type ActivityEventName =
  | 'app-start' // written by the emulator when YARN launches the application
  | 'app-exit' // written by the emulator when the process is gone, whatever killed it
  | 'driver-start'
  | 'batch-start'
  | 'batch-end'
  | 'stop-requested'
  | 'stopped'
  | 'signal'
  | 'crash'
  | 'refused' // the marker was missing at start: the driver returned without reading anything
  | 'ready' // standby: Spark is up, `.ready` written, waiting for mode run
  | 'resume' // standby: the marker says run now
  | 'standby-exit' // standby: the marker went away while waiting; returned without processing

/** One line of the activity log (JSON lines, appended with O_APPEND by every process). */
export interface ActivityEvent {
  readonly t: number
  readonly event: ActivityEventName
  readonly pid: number
  readonly stepId?: string
  readonly appId?: string
  readonly version?: string
  /** The stream's state prefix (s3://bucket/prefix), to tell streams apart in a shared log. */
  readonly state?: string
  readonly start?: number
  readonly end?: number
  readonly offset?: number
  readonly exitCode?: number | null
  readonly signal?: string | null
  readonly tags?: readonly string[]
  /** app-start/app-exit: YARN's attempt number (1, 2, ...). */
  readonly attempt?: number
}

/** The checkpoint (`<state>/checkpoint.json`): the next offset, and the last batch's id. */
export interface Checkpoint {
  readonly offset: number
  readonly batchId?: number
}

/** The source's name in offsets (`{"<stream>":{"0":<offset>}}`): the state URI's last segment. */
export function streamName(stateUri: string): string {
  return stateUri.replace(/\/+$/, '').split('/').pop() ?? 'stream'
}

/** How the driver describes its source in `.progress` and `.stopped`. */
export function sourceDescription(stateUri: string): string {
  return `VirtualSource[${stateUri}]`
}

/** A Kafka-style offset object for the source: one partition, "0". */
export function sourceOffset(
  stateUri: string,
  offset: number,
): Record<string, Record<string, number>> {
  return { [streamName(stateUri)]: { '0': offset } }
}

export interface OutputObject {
  readonly version: string
  readonly stepId: string
  readonly start: number
  readonly end: number
  readonly records: readonly string[]
}

export function recordValue(offset: number): string {
  return `rec-${offset}`
}

const PAD = 10

export function outputKey(statePrefixKey: string, start: number, end: number): string {
  const pad = (n: number) => String(n).padStart(PAD, '0')
  return `${statePrefixKey}/output/batch-${pad(start)}-${pad(end)}.json`
}

export function parseOutputKey(key: string): { start: number; end: number } | undefined {
  const match = /\/output\/batch-(\d+)-(\d+)\.json$/.exec(key)
  return match ? { start: Number(match[1]), end: Number(match[2]) } : undefined
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3a?:\/\/([^/]+)\/?(.*)$/.exec(uri)
  if (!match) throw new Error(`not an s3:// URI: ${uri}`)
  return { bucket: match[1] as string, key: (match[2] as string).replace(/\/+$/, '') }
}

/** Records available at `now`: record i exists once i < (now - startedAt) * rate / 1000. */
export function availableOffset(source: SourceConfig, now: number): number {
  return Math.max(0, Math.floor(((now - source.startedAt) * source.ratePerSec) / 1000))
}
