// spark-submit's argument language, as the action reads and checks it: the contract's confs,
// splitting arguments the way spark-submit does, and what user arguments may not contain. Pure.

export const MARKER_CONF = 'spark.rollover.marker'
export const MARKER_ENV_CONF = 'spark.yarn.appMasterEnv.ROLLOVER_MARKER'
export const TAGS_CONF = 'spark.yarn.tags'
export const WAIT_CONF = 'spark.yarn.submit.waitAppCompletion'

/** spark-submit's switches (Spark 3.5, SparkSubmitOptionParser): options that take no value. */
const FLAG_OPTIONS = new Set([
  '--help',
  '-h',
  '--supervise',
  '--usage-error',
  '--verbose',
  '-v',
  '--version',
])

/** spark-submit's options that take a value (Spark 3.5). Anything else it refuses. */
const VALUE_OPTIONS = new Set([
  '--archives',
  '--class',
  '--conf',
  '-c',
  '--deploy-mode',
  '--driver-class-path',
  '--driver-cores',
  '--driver-java-options',
  '--driver-library-path',
  '--driver-memory',
  '--executor-cores',
  '--executor-memory',
  '--files',
  '--jars',
  '--keytab',
  '--kill',
  '--master',
  '--name',
  '--num-executors',
  '--packages',
  '--exclude-packages',
  '--principal',
  '--properties-file',
  '--proxy-user',
  '--py-files',
  '--queue',
  '--repositories',
  '--status',
  '--total-executor-cores',
])

/** Options that make spark-submit do something other than submit (print and exit, act on another app). */
const NOT_A_SUBMIT: Record<string, string> = {
  '--help': 'prints the usage and exits',
  '-h': 'prints the usage and exits',
  '--usage-error': 'prints the usage and fails',
  '--version': 'prints the version and exits',
  '--kill': 'kills another application instead of submitting this one',
  '--status': 'asks for another application instead of submitting this one',
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
    if (!FLAG_OPTIONS.has(name) && !VALUE_OPTIONS.has(name)) {
      return `'${name}' is not an option of spark-submit (Spark 3.5); check the spelling, or pass it as '--conf' and 'key=value' on two lines`
    }
    const notSubmit = NOT_A_SUBMIT[name]
    if (notSubmit) return `'${name}' is refused: it ${notSubmit}, and the step would end at once`
    if (value === undefined && !FLAG_OPTIONS.has(name)) {
      return `option '${name}' has no value; write the value on the next line`
    }
    if ((name === '--conf' || name === '-c') && !/^[^=\s]+=/.test(value ?? '')) {
      return `'${name} ${value ?? ''}' is not key=value; write '--conf' on one line and 'spark.some.key=value' on the next`
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
