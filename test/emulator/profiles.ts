// Timing profiles of the local stack. `fast` (the default) keeps every test in seconds;
// `realistic` is what a rollover on EMR takes: a step starts RUNNING a few seconds after
// AddJobFlowSteps, the new driver's first batch comes 20-40 s after submission (YARN
// ApplicationMaster and executors), a batch in flight takes seconds, markers are polled every
// few seconds, spark-submit sees its application's end about a second late.
import { DEFAULT_TIMINGS, type EmulatorTimings } from './emr-server.ts'
import type { SourceConfig } from './contract.ts'

export type StackProfile = 'fast' | 'realistic'

export interface ProfileSettings {
  readonly timings: EmulatorTimings
  /** The defaults of every stream the stack creates (ratePerSec, batching, polling). */
  readonly source: Omit<SourceConfig, 'startedAt'>
}

export const PROFILES: Readonly<Record<StackProfile, ProfileSettings>> = {
  fast: {
    timings: DEFAULT_TIMINGS,
    source: { ratePerSec: 50, batchSize: 10, batchMs: 100, markerPollMs: 250, progressMs: 1000 },
  },
  realistic: {
    timings: {
      ...DEFAULT_TIMINGS,
      stepStartDelayMs: 4000,
      cancelDelayMs: 2000,
      killGraceMs: 250,
      stepExitLagMs: 1000,
      logUploadDelayMs: 30_000,
      reattemptDelayMs: 3000,
      // With the 4 s of PENDING and the first batch's wait and run: 20-40 s after submission.
      driverStartDelayMs: [13_000, 30_000],
    },
    // 50 records/s in batches of 5 s of data, each in flight for 4 s.
    source: { ratePerSec: 50, batchSize: 250, batchMs: 4000, markerPollMs: 2000, progressMs: 5000 },
  },
}
