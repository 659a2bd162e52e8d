// A FAILED step whose driver publishes progress is not yet a stopped driver: spark-submit may
// have died alone on the primary node, and the YARN application lives on. It counts as gone once
// its `.progress` has stayed unchanged for long enough, measured on this machine's monotonic
// clock from when the step was first seen ended (no comparison of EMR's and S3's clocks), or
// sooner by its acknowledgement. "Long enough" is the driver's own cadence, so that a driver with
// a five-minute trigger is not taken for dead between two batches.
import type { MarkerScan } from '../contract/markers.ts'
import type { RolloverContext } from './context.ts'
import { PROGRESS_AFTER_END_MS, type DriverCandidate } from './liveness.ts'

interface Watch {
  since: number
  etag: string | undefined
  neededMs: number
}

export class ProgressQuiet {
  private readonly watches = new Map<string, Watch>()
  private readonly ctx: RolloverContext

  constructor(ctx: RolloverContext) {
    this.ctx = ctx
  }

  /** The candidate with `progressQuiet` brought up to date from this scan. */
  async refresh(c: DriverCandidate, scan: MarkerScan): Promise<DriverCandidate> {
    if (c.step?.state !== 'FAILED' || !c.markerUri || c.progressAt === undefined) return c
    const now = this.ctx.clock.monotonic()
    const etag = scan.progress.get(c.markerUri)?.etag
    let watch = this.watches.get(c.key)
    if (!watch) {
      watch = { since: now, etag, neededMs: await this.neededFor(c.markerUri) }
      this.watches.set(c.key, watch)
    } else if (etag !== watch.etag) {
      watch.since = now
      watch.etag = etag
    }
    return { ...c, progressQuiet: { forMs: now - watch.since, neededMs: watch.neededMs } }
  }

  /** Two of the driver's intervals between reports (trigger, else batch), at least 10 s. */
  private async neededFor(markerUri: string): Promise<number> {
    const read = await this.ctx.markers.readProgress(markerUri).catch(() => undefined)
    const r = read?.report
    const cadence = r?.triggerIntervalMs ?? r?.batchDurationMs ?? 0
    return Math.max(PROGRESS_AFTER_END_MS, 2 * cadence + this.ctx.timings.ackPollMs)
  }
}
