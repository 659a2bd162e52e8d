// Everything EMR would refuse later, checked before anything is stopped (DESIGN.md, "Phases"):
// a bad input gets a clear error and no side effect. Pure checks over what preflight and observe
// read; each message names the input and the fix.
import type { ClusterInfo, StepInfo } from '../aws/emr-port.ts'
import { retargetStep, stepLimitProblem } from '../contract/step.ts'
import type { AppIdentity } from '../contract/identity.ts'
import type { StepSpec } from '../aws/emr-port.ts'
import { UserError } from '../errors.ts'
import type { Settings } from '../settings/settings.ts'
import type { DriverCandidate } from './liveness.ts'

/** Cancelling a RUNNING step (the forced stop) needs emr-5.28.0 or later. */
export function releaseProblem(settings: Settings, cluster: ClusterInfo): string | undefined {
  if (settings.onStopTimeout !== 'kill') return undefined
  const match = /^emr-(\d+)\.(\d+)\./.exec(cluster.releaseLabel ?? '')
  if (!match) return undefined
  const [major, minor] = [Number(match[1]), Number(match[2])]
  if (major > 5 || (major === 5 && minor >= 28)) return undefined
  return `Input 'on-stop-timeout': 'kill' cancels the stuck step before the kill step can run, and cluster ${cluster.id} runs ${cluster.releaseLabel}, where EMR cannot cancel a RUNNING step (emr-5.28.0 and later can). Use on-stop-timeout: fail on this cluster, or a newer release.`
}

/** The new step must fit EMR's limits: refused before the old driver is stopped. */
export function newStepProblem(step: StepSpec): string | undefined {
  const problem = stepLimitProblem(step)
  return (
    problem &&
    `Inputs 'spark-submit-args' and 'app-args': the step would be refused by EMR: ${problem}. Shorten the arguments (a --properties-file in S3 can carry many confs).`
  )
}

/** The rollback step (the last verified one, retargeted) must fit too, or rolling back fails. */
export function rollbackStepProblem(
  app: AppIdentity,
  deploymentId: string,
  markerUri: string,
  previous: StepSpec | undefined,
): string | undefined {
  if (!previous) return undefined
  const problem = stepLimitProblem(retargetStep(previous, { app, deploymentId, markerUri }))
  return (
    problem &&
    `The rollback step (the last verified deployment's, with a fresh marker) would be refused by EMR: ${problem}. Set 'rollback: false', or redeploy that version once with shorter arguments.`
  )
}

/**
 * On a cluster with runtime roles every step needs one (the kill step and the rollback too):
 * running steps that carry a role, with no `execution-role-arn` input, would fail at submit.
 */
export function runtimeRoleProblem(
  settings: Settings,
  drivers: readonly DriverCandidate[],
): string | undefined {
  if (settings.executionRoleArn) return undefined
  const withRole = drivers.find((c) => c.step?.executionRoleArn)
  if (!withRole?.step?.executionRoleArn) return undefined
  return `Input 'execution-role-arn' is empty, but the running step ${withRole.stepId} runs as ${withRole.step.executionRoleArn}: the cluster uses EMR runtime roles, and EMR refuses any step without one. Set execution-role-arn (the role the new version runs as).`
}

/**
 * On a cluster that runs one step at a time, other steps ahead in the queue (or running) hold the
 * new step back while the app is down: refused, naming them.
 */
export function queueProblem(
  cluster: ClusterInfo,
  others: readonly StepInfo[],
): string | undefined {
  if (cluster.stepConcurrencyLevel > 1) return undefined
  const ahead = others.filter(
    (s) => s.state === 'PENDING' || s.state === 'RUNNING' || s.state === 'CANCEL_PENDING',
  )
  if (ahead.length === 0) return undefined
  const names = ahead.map((s) => `${s.id} '${s.name}' (${s.state})`).join(', ')
  return `Cluster ${cluster.id} runs one step at a time, and ${names} ${ahead.length > 1 ? 'are' : 'is'} ahead of the new step: it would wait behind ${ahead.length > 1 ? 'them' : 'it'} while nothing of the app runs. Nothing was changed. Wait for ${ahead.length > 1 ? 'them' : 'it'} to finish, or raise the cluster's step concurrency (aws emr modify-cluster --step-concurrency-level 2).`
}

export function refuse(...problems: ReadonlyArray<string | undefined>): void {
  const found = problems.filter((p): p is string => p !== undefined)
  if (found.length > 0) throw new UserError(found.join('\n'))
}
