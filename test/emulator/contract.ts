// What the emulator, the driver stand-in and the test stack agree on: the jar's config entry,
// the stream's S3 layout and the activity log. Kept in one place so the three cannot drift.

export const JAR_CONFIG_ENTRY = 'rollover-driver.json'

export type DriverBehavior = 'ok' | 'crash-after-start' | 'ignore-marker' | 'slow-drain'

/** The `rollover-driver.json` entry of a test jar. */
export interface DriverConfig {
  readonly version: string
  readonly behavior: DriverBehavior
  /** crash-after-start: exit 1 this long after start (default 500). */
  readonly crashAfterMs?: number
  /** slow-drain: keep processing this long after the marker is gone (default 5000). */
  readonly drainMs?: number
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
}

export const DEFAULT_BATCH_SIZE = 10
export const DEFAULT_BATCH_MS = 100
export const DEFAULT_MARKER_POLL_MS = 250

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
