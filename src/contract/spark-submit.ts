// Builds the EMR step that runs spark-submit. Pure: no I/O, so every argument is testable.
// Arguments are an array end to end (command-runner.jar execs them); nothing goes through a shell.

import type { StepSpec } from '../aws/emr-port.ts'

export const MARKER_CONF = 'spark.rollover.marker'
export const MARKER_ENV_CONF = 'spark.yarn.appMasterEnv.ROLLOVER_MARKER'
export const TAGS_CONF = 'spark.yarn.tags'
export const WAIT_CONF = 'spark.yarn.submit.waitAppCompletion'
const STEP_NAME_PREFIX = 'rollover:'

/** spark-submit options that take no value; every other `--option` consumes the next argument. */
const FLAG_OPTIONS = new Set(['--verbose', '-v', '--supervise', '--help', '-h', '--version'])

export interface SparkStepInput {
  readonly appName: string
  readonly deploymentId: string
  readonly mainClass: string
  readonly sparkSubmitArgs: readonly string[]
  readonly appArgs: readonly string[]
  readonly jarUri: string
  readonly markerUri: string
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

export function buildSparkStep(input: SparkStepInput): StepSpec {
  const tags = [appTag(input.appName), deploymentTag(input.appName, input.deploymentId)]
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
    name: stepName(input.appName, input.deploymentId),
    jar: 'command-runner.jar',
    args,
    actionOnFailure: 'CONTINUE',
  }
}

export interface ParsedSparkSubmit {
  /** [option, value | undefined] in order, `--conf k=v` kept as ['--conf', 'k=v']. */
  readonly options: ReadonlyArray<readonly [string, string | undefined]>
  readonly confs: ReadonlyMap<string, string>
  readonly jar?: string
  readonly appArgs: readonly string[]
}

/** Splits spark-submit arguments (without the leading 'spark-submit') the way spark-submit does. */
export function parseSparkSubmitArgs(args: readonly string[]): ParsedSparkSubmit {
  const options: Array<readonly [string, string | undefined]> = []
  const confs = new Map<string, string>()
  let i = 0
  while (i < args.length) {
    const arg = args[i] as string
    if (!arg.startsWith('-')) break
    let name = arg
    let value: string | undefined
    const eq = arg.indexOf('=')
    if (arg.startsWith('--') && eq > 0) {
      name = arg.slice(0, eq)
      value = arg.slice(eq + 1)
      i += 1
    } else if (FLAG_OPTIONS.has(arg)) {
      i += 1
    } else {
      value = args[i + 1]
      i += 2
    }
    options.push([name, value])
    if ((name === '--conf' || name === '-c') && value !== undefined) {
      const confEq = value.indexOf('=')
      if (confEq > 0) confs.set(value.slice(0, confEq).trim(), value.slice(confEq + 1))
    }
  }
  return { options, confs, jar: args[i], appArgs: args.slice(i + 1) }
}

/**
 * Checks user-supplied spark-submit arguments. Returns a message naming what is wrong and why,
 * or undefined when they are acceptable.
 */
export function checkUserSparkArgs(args: readonly string[]): string | undefined {
  const parsed = parseSparkSubmitArgs(args)
  if (parsed.jar !== undefined) {
    return `'${parsed.jar}' is not an option; put the jar in 'jar' and application arguments in 'app-args'`
  }
  for (const [name, value] of parsed.options) {
    if (value === undefined && !FLAG_OPTIONS.has(name)) {
      return `option '${name}' has no value; write the value on the next line`
    }
    if (name === '--deploy-mode') {
      return value === 'client'
        ? `'--deploy-mode client' is refused: in client mode the step does not track the driver, so a rollover could not confirm that the old driver stopped; the action always uses cluster mode`
        : `'--deploy-mode' is set by the action (always cluster); remove it`
    }
    if (name === '--class') return `'--class' is set from the 'main-class' input; remove it`
    if (name === '--master' && value !== 'yarn') {
      return `'--master ${value ?? ''}' is refused: EMR steps run on YARN; remove it`
    }
    if (name === '--supervise') {
      return `'--supervise' is refused: a restarted driver would outlive the rollover's stop`
    }
  }
  const wait = parsed.confs.get(WAIT_CONF)
  if (wait !== undefined && wait.trim().toLowerCase() !== 'true') {
    return `'${WAIT_CONF}=${wait}' is refused: the EMR step must stay RUNNING as long as the driver lives, or the action cannot tell when the old driver stopped`
  }
  for (const reserved of [MARKER_CONF, MARKER_ENV_CONF, TAGS_CONF]) {
    if (parsed.confs.has(reserved)) return `'--conf ${reserved}' is set by the action; remove it`
  }
  return undefined
}

/** The marker URI a step was started with, from its `--conf spark.rollover.marker=`. */
export function markerUriOfStep(args: readonly string[]): string | undefined {
  const start = args[0] === 'spark-submit' ? 1 : 0
  return parseSparkSubmitArgs(args.slice(start)).confs.get(MARKER_CONF)
}

export function jarOfStep(args: readonly string[]): string | undefined {
  const start = args[0] === 'spark-submit' ? 1 : 0
  return parseSparkSubmitArgs(args.slice(start)).jar
}

/**
 * The previous step's exact configuration, pointed at a fresh marker and deployment (rollback).
 * Only the contract confs and the step name change; everything else is kept as EMR reports it.
 */
export function retargetStep(
  previous: StepSpec,
  target: { readonly appName: string; readonly deploymentId: string; readonly markerUri: string },
): StepSpec {
  const tags = [appTag(target.appName), deploymentTag(target.appName, target.deploymentId)].join(
    ',',
  )
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
    name: stepName(target.appName, target.deploymentId),
    jar: previous.jar,
    args,
    actionOnFailure: 'CONTINUE',
  }
}

/**
 * Kills every YARN application carrying `tag`, then checks none is left. Runs as an EMR step on
 * the primary node; the tag is passed as $1, so no input is ever spliced into the script text.
 * The ResourceManager REST API filters by tag (the CLI's -appTags is not in every Hadoop).
 * A query that fails (RM unreachable, standby RM, authentication required) fails the step: an
 * unanswered query must never read as "no application left", or a live driver would be taken
 * for a dead one and a second driver submitted beside it.
 */
export const YARN_KILL_SCRIPT = [
  'set -eu',
  'tag="$1"',
  'rm="http://$(hostname -f):8088/ws/v1/cluster/apps?applicationTags=${tag}&states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING"',
  'apps() {',
  '  body=$(curl -sfL --max-time 30 "$rm") || { echo "cannot query the ResourceManager: $rm" >&2; exit 1; }',
  '  printf "%s\\n" "$body" | grep -o "application_[0-9]*_[0-9]*" | sort -u || true',
  '}',
  'ids=$(apps)',
  'for id in $ids; do yarn application -kill "$id"; done',
  'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do',
  '  left=$(apps)',
  '  [ -z "$left" ] && { echo "killed: ${ids:-none}"; exit 0; }',
  '  sleep 5',
  'done',
  'echo "still running: $left" >&2; exit 1',
].join('\n')

export const KILL_STEP_MARKER_ARG = 'rollover-kill'

/** An EMR step that force-stops every driver of the app (tagged `rollover-<app>`). */
export function buildKillStep(appName: string, deploymentId: string): StepSpec {
  return {
    name: `rollover-kill:${appName}:${deploymentId}`,
    jar: 'command-runner.jar',
    args: ['bash', '-c', YARN_KILL_SCRIPT, KILL_STEP_MARKER_ARG, appTag(appName)],
    actionOnFailure: 'CONTINUE',
  }
}
