import { describe, it, expect } from 'vitest'
import {
  InputError,
  parseDuration,
  parseLines,
  parseS3Uri,
  parseSettings,
  type InputReader,
} from '../../../src/settings/inputs.ts'
import { UserError } from '../../../src/errors.ts'
import type { Settings } from '../../../src/settings/settings.ts'

const MINIMAL: Readonly<Record<string, string>> = {
  'app-name': 'clickstream',
  'cluster-id': 'j-2AXXXXXXGAPLF',
  jar: 's3://acme-artifacts/releases/clickstream-1.4.2.jar',
  'main-class': 'com.acme.clickstream.Main',
  'marker-prefix': 's3://acme-rollover/streaming',
}

const TOKEN = 'ghs_S3cr3tT0k3nValue0123456789abcdef'

/** Like core.getInput: unset is '', values are trimmed. */
function reader(inputs: Readonly<Record<string, string>>): InputReader {
  return (name) => (inputs[name] ?? '').trim()
}

function parse(overrides: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}): Settings {
  return parseSettings(reader({ ...MINIMAL, ...overrides }), env)
}

function inputError(overrides: Record<string, string>, env: NodeJS.ProcessEnv = {}): InputError {
  try {
    parse(overrides, env)
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    expect(error).toBeInstanceOf(UserError)
    return error as InputError
  }
  throw new Error(`expected an InputError for ${JSON.stringify(overrides)}`)
}

function userError(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(UserError)
    return (error as Error).message
  }
  throw new Error('expected a UserError')
}

describe('parseSettings', () => {
  it('parses a full configuration into exact settings', () => {
    const settings = parseSettings(
      reader({
        'app-name': 'click-stream_v2.prod',
        'cluster-name': 'analytics-prod',
        jar: 'build/libs/clickstream.jar',
        'main-class': 'com.acme.clickstream.Main$',
        'spark-submit-args': [
          '# sized for the prod cluster',
          '--conf',
          'spark.driver.extraJavaOptions=-Dconfig.file=prod.conf -Xss4m',
          '',
          '--num-executors',
          '  12  ',
          '--verbose',
        ].join('\r\n'),
        'app-args': '--topic\nclicks events\n\n# ignored\n--since\n2024-01-01',
        'marker-prefix': 's3://acme-rollover/streaming/',
        'artifact-prefix': 's3://acme-artifacts/jars',
        'stop-timeout': '1h30m',
        'on-stop-timeout': 'kill',
        'start-timeout': '90s',
        'stable-for': '0s',
        rollback: 'FALSE',
        strategy: 'standby',
        'verify-by': 'progress',
        'ready-batches': '5',
        'heartbeat-timeout': '15m',
        'lock-timeout': '45s',
        'dry-run': 'True',
        'execution-role-arn': 'arn:aws:iam::123456789012:role/service/emr-step-runner',
        'expected-bucket-owner': '123456789012',
        'sse-kms-key-id': 'alias/rollover',
        'github-token': TOKEN,
        environment: 'production',
        'aws-region': 'eu-west-1',
      }),
      { GITHUB_WORKSPACE: '/home/runner/work/repo/repo', AWS_REGION: 'us-east-1' },
    )
    expect(settings).toStrictEqual({
      appName: 'click-stream_v2.prod',
      cluster: { kind: 'name', name: 'analytics-prod' },
      jar: { kind: 'local', path: '/home/runner/work/repo/repo/build/libs/clickstream.jar' },
      mainClass: 'com.acme.clickstream.Main$',
      sparkSubmitArgs: [
        '--conf',
        'spark.driver.extraJavaOptions=-Dconfig.file=prod.conf -Xss4m',
        '--num-executors',
        '12',
        '--verbose',
      ],
      appArgs: ['--topic', 'clicks events', '--since', '2024-01-01'],
      markerPrefix: { bucket: 'acme-rollover', key: 'streaming' },
      artifactPrefix: { bucket: 'acme-artifacts', key: 'jars' },
      stopTimeoutMs: 90 * 60_000,
      onStopTimeout: 'kill',
      startTimeoutMs: 90_000,
      stableForMs: 0,
      rollback: false,
      strategy: 'standby',
      verifyBy: 'progress',
      readyBatches: 5,
      heartbeatTimeoutMs: 15 * 60_000,
      lockTimeoutMs: 45_000,
      dryRun: true,
      executionRoleArn: 'arn:aws:iam::123456789012:role/service/emr-step-runner',
      expectedBucketOwner: '123456789012',
      sseKmsKeyId: 'alias/rollover',
      githubToken: TOKEN,
      environment: 'production',
      awsRegion: 'eu-west-1',
    } satisfies Settings)
  })

  it('applies the defaults and omits unset optional inputs', () => {
    expect(parse()).toStrictEqual({
      appName: 'clickstream',
      cluster: { kind: 'id', id: 'j-2AXXXXXXGAPLF' },
      jar: {
        kind: 's3',
        location: { bucket: 'acme-artifacts', key: 'releases/clickstream-1.4.2.jar' },
      },
      mainClass: 'com.acme.clickstream.Main',
      sparkSubmitArgs: [],
      appArgs: [],
      markerPrefix: { bucket: 'acme-rollover', key: 'streaming' },
      artifactPrefix: { bucket: 'acme-rollover', key: 'streaming/artifacts' },
      stopTimeoutMs: 15 * 60_000,
      onStopTimeout: 'fail',
      startTimeoutMs: 10 * 60_000,
      stableForMs: 2 * 60_000,
      rollback: true,
      strategy: 'stop-start',
      verifyBy: 'auto',
      readyBatches: 2,
      lockTimeoutMs: 10 * 60_000,
      dryRun: false,
    } satisfies Settings)
  })

  it('puts the default artifact prefix under a bucket-root marker prefix', () => {
    const settings = parse({ 'marker-prefix': 's3://acme-rollover' })
    expect(settings.markerPrefix).toEqual({ bucket: 'acme-rollover', key: '' })
    expect(settings.artifactPrefix).toEqual({ bucket: 'acme-rollover', key: 'artifacts' })
  })

  it('keeps a relative jar path as given when there is no workspace', () => {
    expect(parse({ jar: './target/app.jar' }).jar).toEqual({
      kind: 'local',
      path: './target/app.jar',
    })
    expect(parse({ jar: '/opt/app.jar' }, { GITHUB_WORKSPACE: '/w' }).jar).toEqual({
      kind: 'local',
      path: '/opt/app.jar',
    })
  })

  it('takes the region from AWS_REGION, then AWS_DEFAULT_REGION', () => {
    expect(parse({}, { AWS_REGION: 'us-gov-west-1' }).awsRegion).toBe('us-gov-west-1')
    expect(parse({}, { AWS_DEFAULT_REGION: 'ap-southeast-2' }).awsRegion).toBe('ap-southeast-2')
    expect(parse({}, { AWS_REGION: 'eu-central-1', AWS_DEFAULT_REGION: 'x' }).awsRegion).toBe(
      'eu-central-1',
    )
    expect(parse({ 'aws-region': 'cn-north-1' }, { AWS_REGION: 'eu-west-1' }).awsRegion).toBe(
      'cn-north-1',
    )
  })

  it('names the variable when the region from the environment is malformed', () => {
    const error = inputError({}, { AWS_REGION: 'Europe' })
    expect(error.message).toBe(
      `Input 'aws-region' is empty, and AWS_REGION 'Europe' is not an AWS region. Use a region code such as eu-west-1.`,
    )
  })

  it.each([
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['yes', true],
    ['false', false],
    ['False', false],
    ['FALSE', false],
    ['No', false],
  ])('reads the boolean %s', (value, expected) => {
    expect(parse({ rollback: value, 'dry-run': value })).toMatchObject({
      rollback: expected,
      dryRun: expected,
    })
  })

  it.each([
    'arn:aws-us-gov:iam::123456789012:role/runner',
    'arn:aws:iam::123456789012:role/a/b/c/Runner+Role=1,x.y@z-w',
  ])('accepts the role ARN %s', (arn) => {
    expect(parse({ 'execution-role-arn': arn }).executionRoleArn).toBe(arn)
  })

  it.each([
    '1234abcd-12ab-34cd-56ef-1234567890ab',
    'mrk-1234abcd12ab34cd56ef1234567890ab',
    'alias/aws/s3',
    'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    'arn:aws:kms:eu-west-1:123456789012:alias/rollover',
  ])('accepts the KMS key %s', (key) => {
    expect(parse({ 'sse-kms-key-id': key }).sseKmsKeyId).toBe(key)
  })

  // [input, given value, what the message must also say]
  it.each([
    ['app-name', '.hidden', 'Use 1 to 64 letters'],
    ['app-name', '..', 'is not a valid application name'],
    ['app-name', 'click stream', 'is not a valid application name'],
    ['app-name', 'a/b', 'is not a valid application name'],
    ['app-name', 'x'.repeat(65), 'is not a valid application name'],
    ['cluster-id', 'j-abc', "Use 'j-' and 8 to 20 uppercase letters"],
    ['cluster-id', 'j-2axxxxxxgaplf', 'is not an EMR cluster id'],
    ['cluster-id', 'cl-2AXXXXXXGAPLF', 'is not an EMR cluster id'],
    ['jar', 's3://acme-artifacts/releases/', 'not the jar object'],
    ['jar', 's3://acme-artifacts', 'not the jar object'],
    ['jar', 'https://example.com/app.jar', "uses the scheme 'https://'"],
    ['jar', 's3a://acme-artifacts/app.jar', 'only s3:// is accepted'],
    ['jar', 'target/*.jar', 'wildcard'],
    ['jar', '~/app.jar', "starts with '~'"],
    ['jar', 'target/', 'names a directory'],
    ['main-class', 'com.acme.Stream.', 'is not a Java class name'],
    ['main-class', 'com.acme.1Stream', 'Use a fully qualified class name'],
    ['main-class', 'com.acme.Stream app.jar', 'is not a Java class name'],
    ['marker-prefix', 'acme-rollover/streaming', 'is not an S3 URI'],
    ['marker-prefix', 's3://Acme-Rollover/streaming', 'invalid bucket name'],
    ['marker-prefix', 's3://acme-rollover/a//b', 'empty path segment'],
    ['marker-prefix', 's3://acme-rollover/a/../b', "'..' path segment"],
    ['marker-prefix', 's3://acme-rollover/p?versionId=1', 'no query or fragment'],
    ['artifact-prefix', 's3://ab/jars', '3 to 63 characters'],
    [
      'artifact-prefix',
      's3://acme-rollover/streaming/clickstream/markers',
      'every rollover empties',
    ],
    ['stop-timeout', '15 minutes', 'is not a duration. Use a number with a unit: 90s, 15m, 1h'],
    ['stop-timeout', '15', 'has no unit'],
    ['stop-timeout', '7h', 'longer than the limit of 6h'],
    ['stop-timeout', '0s', 'greater than zero'],
    ['stop-timeout', '-5m', 'is negative'],
    ['start-timeout', '1.5h', 'is not a duration'],
    ['start-timeout', '500ms', 'shorter than the minimum of 1s'],
    ['stable-for', '2M', 'is not a duration'],
    ['lock-timeout', '10m 30s', 'is not a duration'],
    ['on-stop-timeout', 'cancel', 'Use fail or kill'],
    ['on-stop-timeout', 'Kill', 'Use fail or kill'],
    ['rollback', 'on', 'is not a boolean'],
    ['strategy', 'blue-green', 'Use stop-start or standby'],
    ['verify-by', 'logs', 'Use auto or progress or emr-state'],
    ['ready-batches', '0', 'a whole number from 1 to 100'],
    ['ready-batches', 'two', 'a whole number from 1 to 100'],
    ['heartbeat-timeout', '5s', 'shorter than the minimum of 10s'],
    ['heartbeat-timeout', 'never', 'is not a duration'],
    ['dry-run', '1', 'Use true or false'],
    ['execution-role-arn', 'emr-step-runner', 'is not an IAM role ARN'],
    ['execution-role-arn', 'arn:aws:iam::123456789012:user/bob', 'is not an IAM role ARN'],
    ['expected-bucket-owner', '12345678901', 'is not an AWS account id'],
    ['sse-kms-key-id', 'my-key', 'is not a KMS key'],
    ['aws-region', 'EU-WEST-1', 'is not an AWS region'],
    ['aws-region', 'eu-west', 'Use a region code such as eu-west-1'],
    ['spark-submit-args', '--num-executors 4', "put '--num-executors' and '4' on separate lines"],
    ['spark-submit-args', 'app.jar', "put the jar in 'jar'"],
    ['spark-submit-args', '--help', 'prints the usage and exits'],
    ['spark-submit-args', '--usage-error', 'prints the usage and fails'],
  ])("rejects %s '%s'", (input, value, says) => {
    const { message, problems } = inputError({ [input]: value })
    expect(problems).toHaveLength(1)
    expect(message).toContain(`Input '${input}'`)
    expect(message).toContain(`'${value}'`)
    expect(message).toContain(says)
  })

  it.each([
    ['--executor-memroy\n4g', "'--executor-memroy' is not an option of spark-submit"],
    ['--conf\nspark.executor.memory', "'--conf spark.executor.memory' is not key=value"],
    ['--conf\n=4g', "'--conf =4g' is not key=value"],
    ['--kill\napplication_1_1', 'kills another application instead of submitting this one'],
  ])('rejects spark-submit arguments %j, before anything runs', (value, says) => {
    const { message, problems } = inputError({ 'spark-submit-args': value })
    expect(problems).toHaveLength(1)
    expect(message).toContain("Input 'spark-submit-args'")
    expect(message).toContain(says)
  })

  it.each([
    ['--deploy-mode\nclient', "'--deploy-mode client' is refused"],
    ['--conf\nspark.yarn.submit.waitAppCompletion=false', 'must stay RUNNING'],
    ['--conf\nspark.rollover.marker=s3://x/y', 'is set by the action'],
    ['--class\ncom.acme.Other', "'main-class'"],
    ['--supervise', "'--supervise' is refused"],
  ])('surfaces the spark-submit-args check for %j', (args, says) => {
    const { message } = inputError({ 'spark-submit-args': args })
    expect(message).toMatch(/^Input 'spark-submit-args': /)
    expect(message).toContain(says)
  })

  it('allows spaces in option values, only refusing an option joined to its value', () => {
    const args = '--driver-java-options\n-Xss4m -XX:+UseG1GC\n--conf=spark.a=b c\n--verbose'
    expect(parse({ 'spark-submit-args': args }).sparkSubmitArgs).toEqual([
      '--driver-java-options',
      '-Xss4m -XX:+UseG1GC',
      '--conf=spark.a=b c',
      '--verbose',
    ])
    expect(inputError({ 'spark-submit-args': '--verbose\n--conf spark.a=b c' }).message).toBe(
      `Input 'spark-submit-args': '--conf spark.a=b c' is one line, so one argument; put '--conf' and 'spark.a=b c' on separate lines.`,
    )
  })

  it.each(['app-name', 'jar', 'main-class', 'marker-prefix'])('requires %s', (input) => {
    expect(inputError({ [input]: '' }).message).toMatch(
      new RegExp(`^Input '${input}' is required but was empty \\(''\\)\\. Use `),
    )
  })

  it('requires exactly one of cluster-id and cluster-name', () => {
    expect(inputError({ 'cluster-id': '' }).message).toBe(
      `Input 'cluster-id' or 'cluster-name' is required but both were empty (''); set exactly one.`,
    )
    expect(inputError({ 'cluster-name': 'analytics' }).message).toBe(
      `Inputs 'cluster-id' ('j-2AXXXXXXGAPLF') and 'cluster-name' ('analytics') are both set; set exactly one.`,
    )
  })

  it('escapes control characters in a quoted value', () => {
    const { message } = inputError({ 'cluster-id': '', 'cluster-name': 'a\u0007b' })
    expect(message).toBe(
      `Input 'cluster-name': 'a\\u0007b' is not a cluster name. Use 1 to 256 characters on one line.`,
    )
  })

  it('refuses an environment without a token to record the deployment with', () => {
    expect(inputError({ environment: 'production' }).message).toContain(
      `Input 'environment': 'production' records a deployment, which needs a token`,
    )
  })

  it('collects every problem into one error, one line each', () => {
    const error = inputError({
      'app-name': '',
      'cluster-id': 'j-nope',
      'stop-timeout': '15 minutes',
      'on-stop-timeout': 'retry',
      'dry-run': 'maybe',
    })
    expect(error.problems).toEqual([
      `Input 'app-name' is required but was empty (''). Use 1 to 64 letters, digits, ., _ or -, starting with a letter or digit.`,
      `Input 'cluster-id': 'j-nope' is not an EMR cluster id. Use 'j-' and 8 to 20 uppercase letters or digits, e.g. j-2AXXXXXXGAPLF.`,
      `Input 'stop-timeout': '15 minutes' is not a duration. Use a number with a unit: 90s, 15m, 1h, 1h30m, 500ms.`,
      `Input 'on-stop-timeout': 'retry' is not accepted. Use fail or kill.`,
      `Input 'dry-run': 'maybe' is not a boolean. Use true or false (yes and no are accepted too).`,
    ])
    expect(error.message.split('\n')).toEqual([
      '5 problems with the inputs:',
      ...error.problems.map((p) => `- ${p}`),
    ])
  })

  it('never puts the github token into an error message', () => {
    const error = inputError({
      'github-token': TOKEN,
      'cluster-id': '',
      'cluster-name': `${TOKEN}\n`,
      'app-name': TOKEN.replace(/_/g, ' '),
      environment: `${'y'.repeat(300)}${TOKEN}`,
      'marker-prefix': `s3://acme-rollover/${TOKEN}/`.replace('s3:', 's4:'),
      'stop-timeout': TOKEN,
      'aws-region': TOKEN,
      'sse-kms-key-id': TOKEN,
    })
    expect(error.problems.length).toBeGreaterThanOrEqual(5)
    expect(error.message).not.toContain(TOKEN)
    expect(error.message).not.toContain(TOKEN.slice(0, 12))
    expect(error.message).toContain('***')
  })

  it('returns deeply frozen settings', () => {
    const settings = parse({
      jar: 's3://acme-artifacts/app.jar',
      'spark-submit-args': '--verbose',
      'app-args': 'a',
    })
    const nested = [
      settings,
      settings.cluster,
      settings.jar,
      settings.jar.kind === 's3' ? settings.jar.location : undefined,
      settings.sparkSubmitArgs,
      settings.appArgs,
      settings.markerPrefix,
      settings.artifactPrefix,
    ]
    for (const value of nested) expect(Object.isFrozen(value)).toBe(true)
    expect(() => (settings.appArgs as string[]).push('b')).toThrow(TypeError)
    expect(() => {
      ;(settings as { dryRun: boolean }).dryRun = true
    }).toThrow(TypeError)
  })
})

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2h0m5s', 7_205_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1s250ms', 1_250],
    ['90m', 5_400_000],
    ['007s', 7_000],
  ])('reads %s as %i ms', (value, ms) => {
    expect(parseDuration('stop-timeout', value)).toBe(ms)
  })

  it.each([
    ['', 'is not a duration'],
    ['15', 'has no unit'],
    ['0', 'has no unit'],
    ['0s', 'is zero; give a duration greater than zero'],
    ['0h0m', 'is zero'],
    ['-1s', 'is negative'],
    ['1.5h', 'is not a duration'],
    ['1H', 'is not a duration'],
    ['30s1m', 'is not a duration'],
    ['1h1h', 'is not a duration'],
    ['15 m', 'is not a duration'],
    ['15min', 'is not a duration'],
    ['1d', 'is not a duration'],
    ['PT15M', 'is not a duration'],
    ['9'.repeat(30) + 'h', 'is longer than the limit'],
  ])("rejects '%s'", (value, says) => {
    const message = userError(() => parseDuration('stop-timeout', value))
    expect(message).toContain(`Input 'stop-timeout': '${value}' ${says}`)
  })

  it('accepts zero only when allowed, with or without a unit', () => {
    expect(parseDuration('stable-for', '0', { allowZero: true })).toBe(0)
    expect(parseDuration('stable-for', '0s', { allowZero: true })).toBe(0)
    expect(parseDuration('stable-for', '0m0s', { allowZero: true })).toBe(0)
  })

  it('enforces the limits it is given', () => {
    const limits = { minMs: 1000, maxMs: 6 * 3_600_000 }
    expect(parseDuration('stop-timeout', '6h', limits)).toBe(6 * 3_600_000)
    expect(parseDuration('stop-timeout', '1s', limits)).toBe(1000)
    expect(userError(() => parseDuration('stop-timeout', '6h1s', limits))).toBe(
      `Input 'stop-timeout': '6h1s' is longer than the limit of 6h.`,
    )
    expect(userError(() => parseDuration('stop-timeout', '999ms', limits))).toBe(
      `Input 'stop-timeout': '999ms' is shorter than the minimum of 1s.`,
    )
  })

  it('says what is accepted, as the spec words it', () => {
    expect(userError(() => parseDuration('stop-timeout', '15 minutes'))).toBe(
      `Input 'stop-timeout': '15 minutes' is not a duration. Use a number with a unit: 90s, 15m, 1h, 1h30m, 500ms.`,
    )
  })
})

describe('parseS3Uri', () => {
  it.each([
    ['s3://acme-rollover', { bucket: 'acme-rollover', key: '' }],
    ['s3://acme-rollover/', { bucket: 'acme-rollover', key: '' }],
    ['s3://acme-rollover/streaming', { bucket: 'acme-rollover', key: 'streaming' }],
    ['s3://acme-rollover/streaming/', { bucket: 'acme-rollover', key: 'streaming' }],
    ['s3://acme.rollover.eu/a/b.c/d-e_f', { bucket: 'acme.rollover.eu', key: 'a/b.c/d-e_f' }],
    ['s3://abc/ünïcödé', { bucket: 'abc', key: 'ünïcödé' }],
    ['s3://1bucket-2/x', { bucket: '1bucket-2', key: 'x' }],
  ])('reads %s', (value, location) => {
    expect(parseS3Uri('marker-prefix', value)).toEqual(location)
  })

  it.each([
    ['acme-rollover/streaming', 'is not an S3 URI'],
    ['S3://acme-rollover/x', "uses the scheme 'S3://'"],
    ['s3a://acme-rollover/x', "uses the scheme 's3a://'"],
    ['arn:aws:s3:::acme-rollover', 'is not an S3 URI'],
    ['s3://', 'invalid bucket name'],
    ['s3:///streaming', 'invalid bucket name'],
    ['s3://ab', '3 to 63 characters'],
    ['s3://' + 'a'.repeat(64), '3 to 63 characters'],
    ['s3://Acme/x', 'lowercase letters'],
    ['s3://acme_rollover/x', 'lowercase letters'],
    ['s3://-acme/x', 'start and end with a letter or digit'],
    ['s3://acme./x', 'start and end with a letter or digit'],
    ['s3://acme..rollover/x', 'two dots in a row'],
    ['s3://192.168.1.10/x', 'IP address'],
    ['s3://xn--acme/x', 'reserved by AWS'],
    ['s3://acme-s3alias/x', 'reserved by AWS'],
    ['s3://acme-rollover//x', 'empty path segment'],
    ['s3://acme-rollover/x//', 'empty path segment'],
    ['s3://acme-rollover/a//b', 'empty path segment'],
    ['s3://acme-rollover/./x', "'.' or '..' path segment"],
    ['s3://acme-rollover/x/..', "'.' or '..' path segment"],
    ['s3://acme-rollover/a b', 'whitespace'],
    ['s3://acme-rollover/a\tb', 'whitespace'],
    ['s3://acme-rollover/x?y=1', "'?' or '#'"],
    ['s3://acme-rollover/x#y', "'?' or '#'"],
    ['s3://acme-rollover/' + 'k'.repeat(1025), 'longer than 1024 bytes'],
  ])("rejects '%s'", (value, says) => {
    const message = userError(() => parseS3Uri('marker-prefix', value))
    expect(message).toMatch(/^Input 'marker-prefix': '/)
    expect(message).toContain(says)
    expect(message).toContain('Use s3://bucket/optional/prefix.')
  })
})

describe('parseLines', () => {
  it('gives one argument per line, keeping inner spaces', () => {
    expect(
      parseLines('  --conf \r\n spark.x=a b  \r# comment\n\n   \n  # indented comment\nlast'),
    ).toEqual(['--conf', 'spark.x=a b', 'last'])
  })

  it('gives nothing for an empty input', () => {
    expect(parseLines('')).toEqual([])
  })
})
