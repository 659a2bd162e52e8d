// What the action names on the cluster: deployment ids, step names and YARN tags. Everything is
// unique per (marker-prefix, app-name), case-sensitively, even after YARN lower-cases tags, so a
// forced stop of one app can never kill another's driver, and a step of another team's app of
// the same name (under another marker prefix) is never taken for ours. Pure.
import { createHash, randomBytes } from 'node:crypto'
import { child, s3Uri, type S3Location } from '../aws/s3-location.ts'

const STEP_NAME_PREFIX = 'rollover:'
const KILL_STEP_NAME_PREFIX = 'rollover-kill:'

/** One application as the action knows it. */
export interface AppIdentity {
  readonly appName: string
  /** 10 hex digits of sha256 over the marker prefix and the exact app name. */
  readonly id: string
  /** `s3://bucket/prefix/<app-name>/markers/`: every marker of the app. */
  readonly markersUri: string
}

export function appIdentity(markerPrefix: S3Location, appName: string): AppIdentity {
  const app = s3Uri(child(markerPrefix, appName))
  const id = createHash('sha256').update(app).digest('hex').slice(0, 10)
  return { appName, id, markersUri: `${app}/markers/` }
}

/**
 * Unique per deployment, sortable by time, and safe in S3 keys, step names and YARN tags
 * (lower-case alphanumerics and '-').
 */
export function newDeploymentId(now: number, random: () => Buffer = () => randomBytes(3)): string {
  const stamp = new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'z')
    .toLowerCase()
  return `${stamp}-${random().toString('hex')}`
}

export function stepName(app: AppIdentity, deploymentId: string): string {
  return `${STEP_NAME_PREFIX}${app.appName}:${app.id}:${deploymentId}`
}

export function killStepName(app: AppIdentity, deploymentId: string): string {
  return `${KILL_STEP_NAME_PREFIX}${app.appName}:${app.id}:${deploymentId}`
}

export interface ParsedStepName {
  readonly appName: string
  /** Absent in the names of deployments made before identities (`rollover:<app>:<id>`). */
  readonly appId?: string
  readonly deploymentId: string
}

/** A driver step's name as the action writes it (today's form, or the earlier one). */
export function parseStepName(name: string): ParsedStepName | undefined {
  if (!name.startsWith(STEP_NAME_PREFIX)) return undefined
  const parts = name.slice(STEP_NAME_PREFIX.length).split(':')
  if (parts.some((p) => p === '')) return undefined
  if (parts.length === 3 && /^[0-9a-f]{10}$/.test(parts[1] as string)) {
    const [appName, appId, deploymentId] = parts as [string, string, string]
    return { appName, appId, deploymentId }
  }
  if (parts.length === 2) {
    const [appName, deploymentId] = parts as [string, string]
    return { appName, deploymentId }
  }
  return undefined
}

export function isKillStepName(name: string): boolean {
  return name.startsWith(KILL_STEP_NAME_PREFIX)
}

/** Every driver of the app carries it (for people: `yarn application -list -appTags`). */
export function appTag(app: AppIdentity): string {
  return `rollover-${app.id}`
}

/** One deployment's driver: what a forced stop kills, and nothing else. */
export function deploymentTag(app: AppIdentity, deploymentId: string): string {
  return `rollover-${app.id}-${deploymentId}`.toLowerCase()
}

/**
 * The deployment-specific tags among a step's YARN tags: today's `rollover-<app id>-<deployment>`
 * and the earlier `rollover-<app name>-<deployment>`, both unique by the random deployment id.
 */
export function deploymentTagsIn(tags: readonly string[], deploymentId: string): string[] {
  const suffix = `-${deploymentId}`.toLowerCase()
  return tags
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t.startsWith('rollover-') && t.endsWith(suffix) && t.length > suffix.length + 9)
}
