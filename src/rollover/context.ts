// What every phase of one run is given: the ports, the injected clock and log, the settings, the
// timings and what the run has learnt so far. One object instead of many arguments, built once
// by run.ts; a phase reads what it needs from it.
import type { ClusterInfo, EmrPort } from '../aws/emr-port.ts'
import type { ObjectStore } from '../aws/object-store.ts'
import type { PacedEmr } from '../aws/paced-emr.ts'
import type { EmrApi } from '../aws/emr-operations.ts'
import type { RateBudgets } from '../aws/rate-budget.ts'
import type { Clock } from '../clock.ts'
import type { AppIdentity } from '../contract/identity.ts'
import type { AppLayout } from '../contract/layout.ts'
import type { Log } from '../log.ts'
import type { RunContext } from '../settings/github-run.ts'
import type { Settings } from '../settings/settings.ts'
import type { LockState } from '../state.ts'
import type { LedgerStore } from './ledger.ts'
import type { MarkerStore } from './marker-store.ts'
import type { PhaseRunner, RunReport } from './report.ts'
import type { Timings } from './timings.ts'

/** The ports, the injected clock and log, and who this run is. */
export interface RunPorts {
  readonly settings: Settings
  readonly emr: EmrPort
  readonly store: ObjectStore
  readonly clock: Clock
  readonly log: Log
  readonly deploymentId: string
  readonly github: RunContext
}

/** What the caller (main.ts, a test, the bench) provides. */
export interface RolloverDeps extends RunPorts {
  /** Aborted when the runner cancels the job (SIGINT/SIGTERM). */
  readonly signal?: AbortSignal
  /** So the post step can release the lock if this process dies. */
  readonly onLockState?: (state: LockState | undefined) => void
  /** Overrides of DEFAULT_TIMINGS, for tests and the benchmark. */
  readonly timings?: Partial<Timings>
  /** Jitter of the EMR retry waits (default Math.random; seeded in tests and the benchmark). */
  readonly random?: () => number
}

/** One run, before the cluster is known (preflight). */
export interface RunScope extends RunPorts {
  /** Every EMR call of the run, paced by its budgets and retried until the current deadline. */
  readonly emr: PacedEmr
  readonly timings: Timings
  readonly app: AppIdentity
  readonly layout: AppLayout
  readonly markers: MarkerStore
  readonly ledger: LedgerStore
  /**
   * This run's ration of calls per EMR operation (EMR's limits are per account and region).
   * PacedEmr takes from them; a loop that also watches S3 peeks at one to skip EMR rather than
   * wait.
   */
  readonly emrBudgets: RateBudgets<EmrApi>
  readonly report: RunReport
  readonly phases: PhaseRunner
  /** The runner's cancellation only. */
  readonly cancelled?: AbortSignal
  /** Jitter: Math.random unless the caller seeded it. */
  readonly random: () => number
}

/** One run on its cluster, holding the deploy lock. */
export interface RolloverContext extends RunScope {
  readonly clusterId: string
  /** The cluster as preflight found it (release label, concurrency, LogUri). */
  readonly cluster: ClusterInfo
  /** Aborted when the runner cancels the job or the deploy lock is lost. */
  readonly signal: AbortSignal
  /** Aborted when the deploy lock is lost (a wait that tolerates cancellation still ends). */
  readonly lockLost: AbortSignal
}
