// Turns the action's inputs into one immutable Settings object, in the manner of actions/checkout's
// input-helper: read each input, apply its default, validate it. Pure (the reader and the
// environment are passed in) so every rule is unit-tested without a runner. Problems are
// collected rather than thrown one at a time: a user editing a workflow should fix all of them
// in one push, not discover them one failed run at a time.

import * as path from 'node:path'
import { checkUserSparkArgs, parseSparkSubmitArgs } from '../contract/spark-submit.ts'
import type { ClusterRef } from '../aws/emr-port.ts'
import { child, type S3Location } from '../aws/s3-location.ts'
import { UserError } from '../errors.ts'
import type { JarSource, OnStopTimeout, Settings, Strategy, VerifyBy } from './settings.ts'

/** Returns '' when the input is unset, like `core.getInput`. */
export type InputReader = (name: string) => string

/** A UserError listing every invalid input; `problems` has one line per problem. */
export class InputError extends UserError {
  readonly problems: readonly string[]

  constructor(problems: readonly string[]) {
    const list = [`${problems.length} problems with the inputs:`, ...problems.map((p) => `- ${p}`)]
    super(problems.length === 1 ? String(problems[0]) : list.join('\n'))
    this.problems = problems
    this.name = 'InputError'
  }
}

export interface DurationLimits {
  readonly allowZero?: boolean
  /** Smallest non-zero value; 1 ms when not given. */
  readonly minMs?: number
  readonly maxMs?: number
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
// A GitHub-hosted job cannot run longer than 6h, so a longer wait is always a typo.
const MAX_WAIT = 6 * HOUR
const DURATION_FORMS = 'Use a number with a unit: 90s, 15m, 1h, 1h30m, 500ms'
// Units in descending order, each at most once; `m(?!s)` keeps minutes apart from milliseconds.
const DURATION = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/

const PARTITION = 'arn:aws(?:-[a-z]+)*'
const KEY_ID = '(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})'
const ALIAS = 'alias/[\\w/-]{1,250}'

/** Inputs that are one value matched by a pattern: [pattern, what it is, the accepted form]. */
const PATTERNS: Record<string, readonly [RegExp, string, string]> = {
  // Starting with a letter or digit also rules out '.' and '..', so the name cannot climb out of
  // its S3 prefix.
  'app-name': [
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'a valid application name',
    'Use 1 to 64 letters, digits, ., _ or -, starting with a letter or digit',
  ],
  'cluster-id': [
    /^j-[A-Z0-9]{8,20}$/,
    'an EMR cluster id',
    "Use 'j-' and 8 to 20 uppercase letters or digits, e.g. j-2AXXXXXXGAPLF",
  ],
  'cluster-name': [/^[^\p{Cc}]{1,256}$/u, 'a cluster name', 'Use 1 to 256 characters on one line'],
  'main-class': [
    /^(?:[A-Za-z_$][\w$]*\.){0,100}[A-Za-z_$][\w$]{0,255}$/,
    'a Java class name',
    'Use a fully qualified class name such as com.acme.Stream (or com.acme.Stream$)',
  ],
  'execution-role-arn': [
    new RegExp(`^${PARTITION}:iam::\\d{12}:role/(?:[\\w+=,.@-]+/)*[\\w+=,.@-]{1,64}$`),
    'an IAM role ARN',
    'Use arn:aws:iam::123456789012:role/name',
  ],
  'expected-bucket-owner': [
    /^\d{12}$/,
    'an AWS account id',
    'Use the 12 digits of the account that owns the bucket',
  ],
  'sse-kms-key-id': [
    new RegExp(
      `^(?:${KEY_ID}|${ALIAS}|${PARTITION}:kms:[a-z0-9-]+:\\d{12}:(?:key/${KEY_ID}|${ALIAS}))$`,
    ),
    'a KMS key',
    'Use a key id, a key ARN, alias/name, or an alias ARN',
  ],
  environment: [
    /^[^\p{Cc}]{1,255}$/u,
    'a GitHub environment name',
    'Use 1 to 255 characters on one line',
  ],
  'aws-region': [
    /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/,
    'an AWS region',
    'Use a region code such as eu-west-1',
  ],
}
const S3_PREFIX_FORM = 'Use s3://bucket/optional/prefix'

/**
 * Quotes a value for a message on one line. Never truncated: a cut could leave part of a token
 * that the final redaction (which matches the whole token) would miss.
 */
function quote(value: string): string {
  const escaped = value.replace(/\p{Cc}/gu, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  })
  return `'${escaped}'`
}

function problem(input: string, value: string, text: string): UserError {
  return new UserError(`Input '${input}': ${quote(value)} ${text}`)
}

function formatDuration(ms: number): string {
  if (ms % HOUR === 0) return `${ms / HOUR}h`
  if (ms % MINUTE === 0) return `${ms / MINUTE}m`
  return ms % SECOND === 0 ? `${ms / SECOND}s` : `${ms}ms`
}

/**
 * Parses `90s`, `15m`, `1h`, `1h30m`, `500ms` into milliseconds. A bare number is refused, because
 * `15` could mean seconds or minutes and guessing wrong turns a stop timeout into a failed deploy.
 * `0` (with or without a unit) is accepted only when `limits.allowZero` is set.
 */
export function parseDuration(input: string, value: string, limits: DurationLimits = {}): number {
  if (/^\d+$/.test(value)) {
    if (limits.allowZero === true && Number(value) === 0) return 0
    throw problem(input, value, `has no unit. ${DURATION_FORMS} (a bare number is refused).`)
  }
  const match = value === '' ? null : DURATION.exec(value)
  if (match === null) {
    const what = value.startsWith('-') ? 'is negative' : 'is not a duration'
    throw problem(input, value, `${what}. ${DURATION_FORMS}.`)
  }
  const [, h = '0', m = '0', s = '0', ms = '0'] = match
  const total = Number(h) * HOUR + Number(m) * MINUTE + Number(s) * SECOND + Number(ms)
  if (total === 0) {
    if (limits.allowZero === true) return 0
    throw problem(input, value, 'is zero; give a duration greater than zero, e.g. 15m.')
  }
  const minMs = limits.minMs ?? 1
  if (total < minMs) {
    throw problem(input, value, `is shorter than the minimum of ${formatDuration(minMs)}.`)
  }
  if (!Number.isSafeInteger(total) || (limits.maxMs !== undefined && total > limits.maxMs)) {
    const limit = limits.maxMs === undefined ? '' : ` of ${formatDuration(limits.maxMs)}`
    throw problem(input, value, `is longer than the limit${limit}.`)
  }
  return total
}

function bucketProblem(bucket: string): string | undefined {
  if (bucket.length < 3 || bucket.length > 63) return 'it must be 3 to 63 characters long'
  if (!/^[a-z0-9.-]+$/.test(bucket)) return 'only lowercase letters, digits, dots and hyphens'
  if (!/^[a-z0-9].*[a-z0-9]$/.test(bucket)) return 'it must start and end with a letter or digit'
  if (bucket.includes('..')) return 'it must not contain two dots in a row'
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return 'it must not look like an IP address'
  if (/^(?:xn--|sthree-)|(?:-s3alias|--ol-s3)$/.test(bucket)) {
    return 'it uses a prefix or suffix reserved by AWS'
  }
  return undefined
}

/**
 * Parses `s3://bucket/optional/prefix` strictly. One trailing '/' is dropped, so `s3://b/p/` and
 * `s3://b/p` are the same prefix; anything that S3 would read differently from a human (empty or
 * dot segments, query, fragment, whitespace) is refused rather than normalised.
 */
export function parseS3Uri(input: string, value: string, form = S3_PREFIX_FORM): S3Location {
  const fail = (text: string) => problem(input, value, `${text}. ${form}.`)
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)
  if (scheme === null) throw fail('is not an S3 URI')
  if (scheme[1] !== 's3') throw fail(`uses the scheme '${scheme[1]}://'; only s3:// is accepted`)
  if (/[\s\p{Cc}]/u.test(value)) throw fail('contains whitespace or a control character')
  if (/[?#]/.test(value)) throw fail(`contains '?' or '#'; an S3 URI has no query or fragment`)
  const rest = value.slice('s3://'.length)
  const slash = rest.indexOf('/')
  const bucket = slash < 0 ? rest : rest.slice(0, slash)
  const bad = bucketProblem(bucket)
  if (bad !== undefined) throw fail(`has an invalid bucket name '${bucket}' (${bad})`)
  let key = slash < 0 ? '' : rest.slice(slash + 1)
  if (key.endsWith('/')) key = key.slice(0, -1)
  if (key !== '') {
    const segments = key.split('/')
    if (segments.includes('')) throw fail(`has an empty path segment ('//')`)
    if (segments.some((s) => s === '.' || s === '..')) throw fail(`has a '.' or '..' path segment`)
  }
  if (Buffer.byteLength(key) > 1024) throw fail('has a key longer than 1024 bytes')
  return { bucket, key }
}

/**
 * One argument per line, never split on spaces (a line is one argv element). Lines are trimmed,
 * and empty lines and lines starting with '#' are dropped, so an argument cannot be empty or start
 * with '#'.
 */
export function parseLines(value: string): string[] {
  return value
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
}

function required(input: string, value: string): string {
  const form = PATTERNS[input]?.[2] ?? S3_PREFIX_FORM
  if (value === '') throw new UserError(`Input '${input}' is required but was empty (''). ${form}.`)
  return value
}

function matching(input: string, value: string): string {
  const [pattern, what, form] = PATTERNS[input] as readonly [RegExp, string, string]
  if (pattern.test(value)) return value
  throw problem(input, value, `is not ${what}. ${form}.`)
}

function optional(input: string, value: string): string | undefined {
  return value === '' ? undefined : matching(input, value)
}

function parseCluster(id: string, name: string): ClusterRef {
  if (id !== '' && name !== '') {
    const both = `(${quote(id)}) and 'cluster-name' (${quote(name)}) are both set`
    throw new UserError(`Inputs 'cluster-id' ${both}; set exactly one.`)
  }
  if (id !== '') return { kind: 'id', id: matching('cluster-id', id) }
  if (name !== '') return { kind: 'name', name: matching('cluster-name', name) }
  throw new UserError(
    `Input 'cluster-id' or 'cluster-name' is required but both were empty (''); set exactly one.`,
  )
}

const JAR_FORM = 'Use a local path or s3://bucket/path/app.jar'
const LOCAL_PATH_PROBLEMS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\p{Cc}/u, 'contains a control character'],
  [/[/\\]$/, 'ends in a separator, so it names a directory'],
  [/^~/, "starts with '~', which is not expanded; give a path relative to the workspace"],
  [/[*?]/, 'contains a wildcard, which is not expanded; give the exact path'],
]

function parseJar(value: string, env: NodeJS.ProcessEnv): JarSource {
  if (value === '') throw new UserError(`Input 'jar' is required but was empty (''). ${JAR_FORM}.`)
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) {
    // parseS3Uri drops one trailing '/' from prefixes; for the jar it means a prefix was given.
    const location = parseS3Uri('jar', value, JAR_FORM)
    if (location.key !== '' && !value.endsWith('/')) return { kind: 's3', location }
    throw problem('jar', value, `names a bucket or prefix, not the jar object. ${JAR_FORM}.`)
  }
  const bad = LOCAL_PATH_PROBLEMS.find(([pattern]) => pattern.test(value))
  if (bad !== undefined) throw problem('jar', value, `${bad[1]}. ${JAR_FORM}.`)
  // Relative paths mean the workspace, as in actions/checkout; an absolute path says in the log
  // exactly which file was deployed.
  const workspace = env['GITHUB_WORKSPACE'] ?? ''
  return { kind: 'local', path: workspace === '' ? value : path.resolve(workspace, value) }
}

function checkSparkArgs(args: readonly string[]): readonly string[] {
  // The commonest slip with "one argument per line" is an option and its value on one line, which
  // spark-submit would reject as unknown only after the old driver had been stopped. Only option
  // positions are checked: a value such as '-Xss4m -XX:+UseG1GC' may hold spaces.
  const joined = parseSparkSubmitArgs(args).options.find(([name]) => /\s/.test(name))
  const line = joined && args.find((arg) => arg.startsWith(joined[0]))
  if (line !== undefined) {
    const [option = '', rest = ''] = line.split(/\s+(.*)/s)
    const fix = `put '${option}' and '${rest}' on separate lines`
    throw problem('spark-submit-args', line, `is one line, so one argument; ${fix}.`)
  }
  const message = checkUserSparkArgs(args)
  if (message !== undefined) throw new UserError(`Input 'spark-submit-args': ${message}.`)
  return args
}

function oneOf<T extends string>(input: string, value: string, accepted: readonly T[]): T {
  if ((accepted as readonly string[]).includes(value)) return value as T
  throw problem(input, value, `is not accepted. Use ${accepted.join(' or ')}.`)
}

function parseCount(input: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw problem(input, value, `is not a whole number from ${min} to ${max}.`)
  }
  return Number(value)
}

function parseBoolean(input: string, value: string, fallback: boolean): boolean {
  const lower = value.toLowerCase()
  if (lower === '') return fallback
  if (lower === 'true' || lower === 'yes') return true
  if (lower === 'false' || lower === 'no') return false
  throw problem(input, value, 'is not a boolean. Use true or false (yes and no are accepted too).')
}

function parseRegion(value: string, env: NodeJS.ProcessEnv): string | undefined {
  if (value !== '') return matching('aws-region', value)
  for (const variable of ['AWS_REGION', 'AWS_DEFAULT_REGION']) {
    const fromEnv = env[variable]?.trim() ?? ''
    if (fromEnv === '') continue
    const [pattern, what, form] = PATTERNS['aws-region'] as readonly [RegExp, string, string]
    if (pattern.test(fromEnv)) return fromEnv
    const given = `is empty, and ${variable} ${quote(fromEnv)} is not ${what}`
    throw new UserError(`Input 'aws-region' ${given}. ${form}.`)
  }
  return undefined
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const nested of Object.values(value)) deepFreeze(nested)
    Object.freeze(value)
  }
  return value
}

function parseArtifactPrefix(value: string, markerPrefix: S3Location, appName: string): S3Location {
  if (value === '') return child(markerPrefix, 'artifacts')
  const location = parseS3Uri('artifact-prefix', value)
  // Stopping deletes everything under <marker-prefix>/<app-name>/markers/, so a jar staged there
  // would vanish at the next rollover.
  const markers = child(markerPrefix, appName, 'markers')
  const staged = child(location, appName, 'app.jar')
  if (staged.bucket === markers.bucket && staged.key.startsWith(`${markers.key}/`)) {
    const where = quote(`s3://${markers.bucket}/${markers.key}/`)
    throw problem(
      'artifact-prefix',
      value,
      `puts jars under ${where}, which every rollover empties. Use another prefix.`,
    )
  }
  return location
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}

/** Reads, defaults and validates every input. Throws one InputError listing every problem. */
export function parseSettings(read: InputReader, env: NodeJS.ProcessEnv = {}): Settings {
  const problems: string[] = []
  const get = (name: string): string => read(name).trim()
  function take<T>(fallback: T, parse: () => T): T {
    try {
      return parse()
    } catch (error) {
      if (!(error instanceof UserError)) throw error
      problems.push(error.message)
      return fallback
    }
  }
  const duration = (name: string, fallback: string, allowZero = false): number =>
    take(0, () =>
      parseDuration(name, get(name) || fallback, { allowZero, minMs: SECOND, maxMs: MAX_WAIT }),
    )
  const requiredInput = (name: string) => take('', () => matching(name, required(name, get(name))))
  const optionalInput = (name: string) => take(undefined, () => optional(name, get(name)))
  const noPrefix: S3Location = { bucket: '', key: '' }
  const githubToken = get('github-token')

  const appName = requiredInput('app-name')
  const cluster = take<ClusterRef>({ kind: 'id', id: '' }, () =>
    parseCluster(get('cluster-id'), get('cluster-name')),
  )
  const jar = take<JarSource>({ kind: 'local', path: '' }, () => parseJar(get('jar'), env))
  const mainClass = requiredInput('main-class')
  const sparkSubmitArgs = take<readonly string[]>([], () =>
    checkSparkArgs(parseLines(get('spark-submit-args'))),
  )
  const markerPrefix = take(noPrefix, () =>
    parseS3Uri('marker-prefix', required('marker-prefix', get('marker-prefix'))),
  )
  const settings = {
    appName,
    cluster,
    jar,
    mainClass,
    sparkSubmitArgs,
    appArgs: parseLines(get('app-args')),
    markerPrefix,
    artifactPrefix: take(noPrefix, () =>
      parseArtifactPrefix(get('artifact-prefix'), markerPrefix, appName),
    ),
    stopTimeoutMs: duration('stop-timeout', '15m'),
    onStopTimeout: take<OnStopTimeout>('fail', () => {
      const value = get('on-stop-timeout') || 'fail'
      if (value === 'fail' || value === 'kill') return value
      throw problem('on-stop-timeout', value, 'is not accepted. Use fail or kill.')
    }),
    startTimeoutMs: duration('start-timeout', '10m'),
    stableForMs: duration('stable-for', '2m', true),
    rollback: take(true, () => parseBoolean('rollback', get('rollback'), true)),
    strategy: take<Strategy>('stop-start', () =>
      oneOf('strategy', get('strategy') || 'stop-start', ['stop-start', 'standby']),
    ),
    verifyBy: take<VerifyBy>('auto', () =>
      oneOf('verify-by', get('verify-by') || 'auto', ['auto', 'progress', 'emr-state']),
    ),
    readyBatches: take(2, () => parseCount('ready-batches', get('ready-batches') || '2', 1, 100)),
    heartbeatTimeoutMs: take(undefined, () => {
      const value = get('heartbeat-timeout') || 'auto'
      if (value === 'auto') return undefined
      return parseDuration('heartbeat-timeout', value, { minMs: 10 * SECOND, maxMs: MAX_WAIT })
    }),
    lockTimeoutMs: duration('lock-timeout', '10m', true),
    dryRun: take(false, () => parseBoolean('dry-run', get('dry-run'), false)),
    executionRoleArn: optionalInput('execution-role-arn'),
    expectedBucketOwner: optionalInput('expected-bucket-owner'),
    sseKmsKeyId: optionalInput('sse-kms-key-id'),
    githubToken: githubToken === '' ? undefined : githubToken,
    environment: take(undefined, () => {
      const environment = optional('environment', get('environment'))
      if (environment === undefined || githubToken !== '') return environment
      const fix = "set 'github-token' (e.g. to ${{ github.token }}) or remove 'environment'"
      throw problem(
        'environment',
        environment,
        `records a deployment, which needs a token; ${fix}.`,
      )
    }),
    awsRegion: take(undefined, () => parseRegion(get('aws-region'), env)),
  }
  if (problems.length > 0) {
    // A token pasted into the wrong input must not reach the log through an error message.
    const redact = (text: string) =>
      githubToken === '' ? text : text.split(githubToken).join('***')
    throw new InputError(problems.map(redact))
  }
  return deepFreeze(withoutUndefined<Settings>(settings))
}
