// The action's own record of the drivers it launched and has not yet confirmed gone
// (`<marker-prefix>/<app>/drivers.json`), with any forced stop that was started and not
// confirmed. It is how a later run still knows of a driver whose step was cancelled in the
// console, or whose kill was interrupted: EMR forgets neither, but only if someone asks.
// Written under the deploy lock, with IfMatch, before the EMR call it announces.
import { PreconditionFailed, type ObjectStore } from '../aws/object-store.ts'
import type { S3Location } from '../aws/s3-location.ts'

export interface KillIntent {
  /** When the forced stop was decided (ISO, the deciding runner's clock: for people). */
  readonly at: string
  /** The deployment (run) that decided it. */
  readonly by: string
  readonly killStepId?: string
}

export interface LedgerEntry {
  readonly deploymentId: string
  readonly clusterId: string
  readonly stepName: string
  readonly markerUri: string
  /** YARN tags that name this driver alone (what a forced stop kills). */
  readonly tags: readonly string[]
  readonly launchedAt: string
  /** Absent until AddJobFlowSteps answered. */
  readonly stepId?: string
  readonly executionRoleArn?: string
  readonly killIntent?: KillIntent
}

export interface Ledger {
  /** undefined when the object does not exist yet (first deploy, or an earlier version's app). */
  readonly etag?: string
  readonly entries: readonly LedgerEntry[]
}

interface LedgerBody {
  readonly version: 1
  readonly drivers: readonly LedgerEntry[]
}

export function parseLedger(text: string): LedgerEntry[] {
  try {
    const body = JSON.parse(text) as Partial<LedgerBody> | null
    if (body?.version !== 1 || !Array.isArray(body.drivers)) return []
    return body.drivers.filter(
      (d): d is LedgerEntry =>
        typeof d === 'object' &&
        d !== null &&
        typeof d.deploymentId === 'string' &&
        typeof d.clusterId === 'string' &&
        typeof d.markerUri === 'string',
    )
  } catch {
    return []
  }
}

export class LedgerStore {
  private readonly store: ObjectStore
  private readonly location: S3Location
  private current: Ledger | undefined

  constructor(store: ObjectStore, location: S3Location) {
    this.store = store
    this.location = location
  }

  async read(): Promise<Ledger> {
    const read = await this.store.getText(this.location)
    this.current = read
      ? { etag: read.etag, entries: parseLedger(read.body) }
      : { etag: undefined, entries: [] }
    return this.current
  }

  /**
   * Applies `change` to the latest ledger and writes it with IfMatch (IfNoneMatch when new);
   * re-reads and re-applies when another writer got there first.
   */
  async update(change: (entries: readonly LedgerEntry[]) => LedgerEntry[]): Promise<Ledger> {
    for (let attempt = 0; ; attempt++) {
      const base = this.current ?? (await this.read())
      const entries = change(base.entries)
      const body: LedgerBody = { version: 1, drivers: entries }
      try {
        const etag = await this.store.putText(
          this.location,
          JSON.stringify(body, null, 2),
          base.etag === undefined ? { ifNoneMatch: true } : { ifMatch: base.etag },
        )
        this.current = { etag, entries }
        return this.current
      } catch (error) {
        if (!(error instanceof PreconditionFailed) || attempt >= 3) throw error
        this.current = undefined
      }
    }
  }

  upsert(entry: LedgerEntry): Promise<Ledger> {
    return this.update((entries) => [
      ...entries.filter((e) => e.deploymentId !== entry.deploymentId),
      entry,
    ])
  }

  patch(deploymentId: string, fields: Partial<LedgerEntry>): Promise<Ledger> {
    return this.update((entries) =>
      entries.map((e) => (e.deploymentId === deploymentId ? { ...e, ...fields } : e)),
    )
  }

  /** Drops the entries of drivers confirmed gone. */
  remove(deploymentIds: readonly string[]): Promise<Ledger> {
    const gone = new Set(deploymentIds)
    return this.update((entries) => entries.filter((e) => !gone.has(e.deploymentId)))
  }
}
