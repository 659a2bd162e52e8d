// The EMR step that runs the application: spark-submit through command-runner.jar, with the
// contract's confs (marker, tags, waitAppCompletion). Pure. Arguments are an array end to end
// (command-runner.jar execs them); nothing goes through a shell.
import type { StepSpec } from '../aws/emr-port.ts'
import { appTag, deploymentTag, stepName, type AppIdentity } from './identity.ts'
import { MARKER_CONF, MARKER_ENV_CONF, TAGS_CONF, WAIT_CONF } from './spark-submit.ts'

export interface SparkStepInput {
  readonly app: AppIdentity
  readonly deploymentId: string
  readonly mainClass: string
  readonly sparkSubmitArgs: readonly string[]
  readonly appArgs: readonly string[]
  readonly jarUri: string
  readonly markerUri: string
}

export function buildSparkStep(input: SparkStepInput): StepSpec {
  const tags = [appTag(input.app), deploymentTag(input.app, input.deploymentId)]
  const args = [
    'spark-submit',
    '--deploy-mode',
    'cluster',
    '--master',
    'yarn',
    '--class',
    input.mainClass,
    ...input.sparkSubmitArgs,
    '--conf',
    `${WAIT_CONF}=true`,
    '--conf',
    `${MARKER_CONF}=${input.markerUri}`,
    '--conf',
    `${MARKER_ENV_CONF}=${input.markerUri}`,
    '--conf',
    `${TAGS_CONF}=${tags.join(',')}`,
    input.jarUri,
    ...input.appArgs,
  ]
  return {
    name: stepName(input.app, input.deploymentId),
    jar: 'command-runner.jar',
    args,
    actionOnFailure: 'CONTINUE',
  }
}

/**
 * The previous step's exact configuration, pointed at a fresh marker and deployment (rollback).
 * Only the contract confs and the step name change; everything else is kept as EMR reports it.
 */
export function retargetStep(
  previous: StepSpec,
  target: { readonly app: AppIdentity; readonly deploymentId: string; readonly markerUri: string },
): StepSpec {
  const tags = [appTag(target.app), deploymentTag(target.app, target.deploymentId)].join(',')
  const replaced = new Map([
    [MARKER_CONF, target.markerUri],
    [MARKER_ENV_CONF, target.markerUri],
    [TAGS_CONF, tags],
  ])
  const seen = new Set<string>()
  const args = previous.args.map((arg, index) => {
    if (index === 0 || (previous.args[index - 1] !== '--conf' && !arg.startsWith('--conf='))) {
      return arg
    }
    const prefix = arg.startsWith('--conf=') ? '--conf=' : ''
    const conf = arg.slice(prefix.length)
    const eq = conf.indexOf('=')
    const key = eq > 0 ? conf.slice(0, eq) : conf
    const value = replaced.get(key)
    if (value === undefined) return arg
    seen.add(key)
    return `${prefix}${key}=${value}`
  })
  const missing = [...replaced.keys()].filter((key) => !seen.has(key))
  if (missing.length > 0 && args[0] === 'spark-submit') {
    // A step not launched by this action: add the contract confs right after 'spark-submit'.
    args.splice(1, 0, ...missing.flatMap((key) => ['--conf', `${key}=${replaced.get(key)}`]))
  }
  return {
    name: stepName(target.app, target.deploymentId),
    jar: previous.jar,
    args,
    actionOnFailure: 'CONTINUE',
  }
}

/** EMR's limits on AddJobFlowSteps: the name, each HadoopJarStep string, all of them together. */
export const STEP_NAME_MAX = 256
export const STEP_STRING_MAX = 10_280
export const STEP_STRINGS_TOTAL_MAX = 10_240

/** What EMR would refuse about a step's size, for a person; undefined when it fits. */
export function stepLimitProblem(step: StepSpec): string | undefined {
  if (step.name.length > STEP_NAME_MAX) {
    return `its name is ${step.name.length} characters, EMR takes at most ${STEP_NAME_MAX}`
  }
  const strings = [step.jar, ...step.args]
  const longest = strings.reduce((a, b) => (b.length > a.length ? b : a), '')
  if (longest.length > STEP_STRING_MAX) {
    return `one argument is ${longest.length} characters (${longest.slice(0, 40)}…), EMR takes at most ${STEP_STRING_MAX}`
  }
  const total = strings.reduce((sum, x) => sum + x.length, 0)
  if (total > STEP_STRINGS_TOTAL_MAX) {
    return `its jar and arguments are ${total} characters together, EMR takes at most ${STEP_STRINGS_TOTAL_MAX}`
  }
  return undefined
}

/**
 * What a step runs, apart from who it is: the jar, the arguments without the contract's
 * per-deployment confs (marker, tags), the action on failure. Two steps with the same key run
 * the same build the same way (a re-run may adopt a standby with it).
 */
export function submissionKey(step: Pick<StepSpec, 'jar' | 'args' | 'actionOnFailure'>): string {
  const perDeployment = new Set([MARKER_CONF, MARKER_ENV_CONF, TAGS_CONF])
  const args: string[] = []
  for (let i = 0; i < step.args.length; i++) {
    const arg = step.args[i] as string
    const next = step.args[i + 1]
    const key = (conf: string): string => conf.slice(0, Math.max(0, conf.indexOf('=')))
    if (arg === '--conf' && next !== undefined && perDeployment.has(key(next))) {
      i++
      continue
    }
    if (arg.startsWith('--conf=') && perDeployment.has(key(arg.slice('--conf='.length)))) continue
    args.push(arg)
  }
  return JSON.stringify([step.jar, step.actionOnFailure, args])
}
