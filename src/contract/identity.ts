// What the action names on the cluster: deployment ids, step names and YARN tags. Pure.
import { randomBytes } from 'node:crypto'

const STEP_NAME_PREFIX = 'rollover:'

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

export function stepName(appName: string, deploymentId: string): string {
  return `${STEP_NAME_PREFIX}${appName}:${deploymentId}`
}

export function parseStepName(
  name: string,
): { readonly appName: string; readonly deploymentId: string } | undefined {
  if (!name.startsWith(STEP_NAME_PREFIX)) return undefined
  const rest = name.slice(STEP_NAME_PREFIX.length)
  const colon = rest.lastIndexOf(':')
  if (colon <= 0 || colon === rest.length - 1) return undefined
  return { appName: rest.slice(0, colon), deploymentId: rest.slice(colon + 1) }
}

/** YARN lower-cases application tags, so we do too: the kill step must find them. */
export function appTag(appName: string): string {
  return `rollover-${appName}`.toLowerCase()
}

export function deploymentTag(appName: string, deploymentId: string): string {
  return `rollover-${appName}-${deploymentId}`.toLowerCase()
}
