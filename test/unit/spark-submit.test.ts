import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appTag, deploymentTag, parseStepName, stepName } from '../../src/contract/identity.ts'
import {
  KILL_STEP_MARKER_ARG,
  YARN_KILL_SCRIPT,
  buildKillStep,
} from '../../src/contract/kill-step.ts'
import {
  MARKER_CONF,
  MARKER_ENV_CONF,
  TAGS_CONF,
  WAIT_CONF,
  checkUserSparkArgs,
  jarOfStep,
  markerUriOfStep,
  parseSparkSubmitArgs,
} from '../../src/contract/spark-submit.ts'
import { buildSparkStep, retargetStep, type SparkStepInput } from '../../src/contract/step.ts'
import type { StepSpec } from '../../src/aws/emr-port.ts'

const DEPLOYMENT = '20250102t030405z-a1b2c3'
const MARKER = `s3://acme-rollover/streaming/Click-Stream/markers/${DEPLOYMENT}`
const JAR = 's3://acme-artifacts/jars/Click-Stream/5f2b.jar'

const INPUT: SparkStepInput = {
  appName: 'Click-Stream',
  deploymentId: DEPLOYMENT,
  mainClass: 'com.acme.clickstream.Main',
  sparkSubmitArgs: [
    '--conf',
    'spark.executor.memory=4g',
    '--conf=spark.sql.shuffle.partitions=64',
    '--conf',
    'spark.driver.extraJavaOptions=-Dconfig.file=prod.conf -Xss4m',
    '--num-executors',
    '12',
    '--verbose',
  ],
  appArgs: ['--topic', 'click events', '--since', '2024-01-01', 'a "quoted" $HOME'],
  jarUri: JAR,
  markerUri: MARKER,
}

const EXPECTED_ARGS = [
  'spark-submit',
  '--deploy-mode',
  'cluster',
  '--master',
  'yarn',
  '--class',
  'com.acme.clickstream.Main',
  '--conf',
  'spark.executor.memory=4g',
  '--conf=spark.sql.shuffle.partitions=64',
  '--conf',
  'spark.driver.extraJavaOptions=-Dconfig.file=prod.conf -Xss4m',
  '--num-executors',
  '12',
  '--verbose',
  '--conf',
  'spark.yarn.submit.waitAppCompletion=true',
  '--conf',
  `spark.rollover.marker=${MARKER}`,
  '--conf',
  `spark.yarn.appMasterEnv.ROLLOVER_MARKER=${MARKER}`,
  '--conf',
  `spark.yarn.tags=rollover-click-stream,rollover-click-stream-${DEPLOYMENT}`,
  JAR,
  '--topic',
  'click events',
  '--since',
  '2024-01-01',
  'a "quoted" $HOME',
]

describe('buildSparkStep', () => {
  it('builds the exact step for a realistic configuration', () => {
    expect(buildSparkStep(INPUT)).toEqual({
      name: `rollover:Click-Stream:${DEPLOYMENT}`,
      jar: 'command-runner.jar',
      args: EXPECTED_ARGS,
      actionOnFailure: 'CONTINUE',
    })
  })

  it('keeps an argument with spaces as one argv element (no shell)', () => {
    const { args } = buildSparkStep(INPUT)
    expect(args).toContain('click events')
    expect(args).not.toContain('click')
    expect(args.filter((a) => a.includes(' '))).toEqual([
      'spark.driver.extraJavaOptions=-Dconfig.file=prod.conf -Xss4m',
      'click events',
      'a "quoted" $HOME',
    ])
  })

  it('lower-cases the YARN tags, which YARN stores lower-cased', () => {
    expect(appTag('Click-Stream')).toBe('rollover-click-stream')
    expect(deploymentTag('Click-Stream', DEPLOYMENT)).toBe(`rollover-click-stream-${DEPLOYMENT}`)
    const tags = buildSparkStep(INPUT).args.find((a) => a.startsWith(`${TAGS_CONF}=`))
    expect(tags).toBe(`${TAGS_CONF}=${(tags ?? '').slice(TAGS_CONF.length + 1).toLowerCase()}`)
  })

  it('puts the action confs after the user arguments, so the user cannot override them', () => {
    const step = buildSparkStep({ ...INPUT, sparkSubmitArgs: ['--conf', `${WAIT_CONF}=true`] })
    const parsed = parseSparkSubmitArgs(step.args.slice(1))
    expect(parsed.confs.get(WAIT_CONF)).toBe('true')
    expect(parsed.confs.get(MARKER_CONF)).toBe(MARKER)
    expect(parsed.confs.get(MARKER_ENV_CONF)).toBe(MARKER)
    expect(parsed.jar).toBe(JAR)
    expect(parsed.appArgs).toEqual(INPUT.appArgs)
  })

  it('produces user arguments that pass checkUserSparkArgs', () => {
    expect(checkUserSparkArgs(INPUT.sparkSubmitArgs)).toBeUndefined()
  })
})

describe('stepName / parseStepName', () => {
  it.each([
    ['clickstream', DEPLOYMENT],
    ['Click-Stream', DEPLOYMENT],
    ['app.v2_prod', `${DEPLOYMENT}-rb`],
  ])('round-trips %s / %s', (appName, deploymentId) => {
    const name = stepName(appName, deploymentId)
    expect(name).toBe(`rollover:${appName}:${deploymentId}`)
    expect(parseStepName(name)).toEqual({ appName, deploymentId })
  })

  it('round-trips the name of a built step', () => {
    expect(parseStepName(buildSparkStep(INPUT).name)).toEqual({
      appName: 'Click-Stream',
      deploymentId: DEPLOYMENT,
    })
  })

  it.each([
    'Spark application',
    'rollover:',
    'rollover:clickstream',
    'rollover:clickstream:',
    'rollover::20250102t030405z-a1b2c3',
    `rollover-kill:clickstream:${DEPLOYMENT}`,
    `Rollover:clickstream:${DEPLOYMENT}`,
  ])('is undefined for a name the action did not give: %s', (name) => {
    expect(parseStepName(name)).toBeUndefined()
  })
})

describe('parseSparkSubmitArgs', () => {
  it('splits options, confs, the jar and the application arguments as spark-submit does', () => {
    const parsed = parseSparkSubmitArgs([
      '--master',
      'yarn',
      '--verbose',
      '--conf',
      'spark.a=1',
      '--conf=spark.b=x=y',
      '-c',
      'spark.c=3',
      '--driver-java-options',
      '-Xss4m',
      '--supervise',
      's3://b/app.jar',
      '--conf',
      'spark.app.arg=not-a-conf',
      'plain',
    ])
    expect(parsed.options).toEqual([
      ['--master', 'yarn'],
      ['--verbose', undefined],
      ['--conf', 'spark.a=1'],
      ['--conf', 'spark.b=x=y'],
      ['-c', 'spark.c=3'],
      ['--driver-java-options', '-Xss4m'],
      ['--supervise', undefined],
    ])
    expect([...parsed.confs]).toEqual([
      ['spark.a', '1'],
      ['spark.b', 'x=y'],
      ['spark.c', '3'],
    ])
    expect(parsed.jar).toBe('s3://b/app.jar')
    expect(parsed.appArgs).toEqual(['--conf', 'spark.app.arg=not-a-conf', 'plain'])
  })

  it('has no jar when the arguments are only options', () => {
    const parsed = parseSparkSubmitArgs(['--num-executors', '4'])
    expect(parsed.jar).toBeUndefined()
    expect(parsed.appArgs).toEqual([])
  })

  it('leaves the value of a trailing option undefined', () => {
    expect(parseSparkSubmitArgs(['--num-executors']).options).toEqual([
      ['--num-executors', undefined],
    ])
  })

  it('trims the conf key and keeps a conf without "=" out of the map', () => {
    const parsed = parseSparkSubmitArgs(['--conf', ' spark.x =1', '--conf', 'spark.novalue'])
    expect([...parsed.confs]).toEqual([['spark.x', '1']])
  })
})

describe('checkUserSparkArgs', () => {
  it.each<[string, string[], RegExp]>([
    ['client mode', ['--deploy-mode', 'client'], /'--deploy-mode client' is refused/],
    ['client mode, = form', ['--deploy-mode=client'], /'--deploy-mode client' is refused/],
    ['cluster mode set by hand', ['--deploy-mode', 'cluster'], /set by the action/],
    [
      'waitAppCompletion=false, --conf k=v',
      ['--conf', `${WAIT_CONF}=false`],
      /'spark\.yarn\.submit\.waitAppCompletion=false' is refused/,
    ],
    [
      'waitAppCompletion=false, --conf=k=v',
      [`--conf=${WAIT_CONF}=false`],
      /'spark\.yarn\.submit\.waitAppCompletion=false' is refused/,
    ],
    [
      'waitAppCompletion=FALSE',
      ['-c', `${WAIT_CONF}=FALSE`],
      /waitAppCompletion=FALSE' is refused/,
    ],
    ['waitAppCompletion=0', ['--conf', `${WAIT_CONF}=0`], /waitAppCompletion=0' is refused/],
    [
      'reserved marker conf',
      ['--conf', `${MARKER_CONF}=s3://x/y`],
      /'--conf spark\.rollover\.marker' is set by the action/,
    ],
    [
      'reserved marker env conf, = form',
      [`--conf=${MARKER_ENV_CONF}=s3://x/y`],
      /'--conf spark\.yarn\.appMasterEnv\.ROLLOVER_MARKER' is set by the action/,
    ],
    ['reserved tags conf', ['--conf', `${TAGS_CONF}=mine`], /'--conf spark\.yarn\.tags' is set/],
    ['--class', ['--class', 'com.acme.Other'], /'--class' is set from the 'main-class' input/],
    ['--master local', ['--master', 'local[4]'], /'--master local\[4\]' is refused/],
    ['--master=local', ['--master=local'], /'--master local' is refused/],
    ['--supervise', ['--supervise'], /'--supervise' is refused/],
    [
      'a stray jar',
      ['--num-executors', '4', 'target/app.jar'],
      /'target\/app\.jar' is not an option; put the jar in 'jar'/,
    ],
    [
      'a missing value',
      ['--conf', 'spark.a=1', '--num-executors'],
      /option '--num-executors' has no value/,
    ],
  ])('refuses %s', (_what, args, message) => {
    expect(checkUserSparkArgs(args)).toMatch(message)
  })

  it.each<[string, string[]]>([
    ['nothing', []],
    ['confs and sizes', ['--conf', 'spark.executor.memory=4g', '--num-executors', '12']],
    ['--master yarn', ['--master', 'yarn']],
    ['waitAppCompletion=true', ['--conf', `${WAIT_CONF}=true`]],
    ['waitAppCompletion= TRUE ', ['--conf', `${WAIT_CONF}= TRUE `]],
    ['flags', ['--verbose', '--queue', 'streaming']],
    ['a value starting with -', ['--driver-java-options', '-Xss4m -Dx=1']],
  ])('accepts %s', (_what, args) => {
    expect(checkUserSparkArgs(args)).toBeUndefined()
  })
})

describe('markerUriOfStep / jarOfStep', () => {
  const built = buildSparkStep(INPUT).args

  it('reads the marker and the jar of a built step', () => {
    expect(markerUriOfStep(built)).toBe(MARKER)
    expect(jarOfStep(built)).toBe(JAR)
  })

  it('works with or without the leading spark-submit', () => {
    expect(markerUriOfStep(built.slice(1))).toBe(MARKER)
    expect(jarOfStep(built.slice(1))).toBe(JAR)
  })

  it('reads the --conf=k=v form', () => {
    const args = ['spark-submit', `--conf=${MARKER_CONF}=s3://b/m/1`, '--verbose', 's3://b/a.jar']
    expect(markerUriOfStep(args)).toBe('s3://b/m/1')
    expect(jarOfStep(args)).toBe('s3://b/a.jar')
  })

  it('ignores a marker conf among the application arguments', () => {
    const args = ['spark-submit', 's3://b/a.jar', '--conf', `${MARKER_CONF}=s3://b/m/1`]
    expect(markerUriOfStep(args)).toBeUndefined()
    expect(jarOfStep(args)).toBe('s3://b/a.jar')
  })

  it('is undefined for a step without a marker or without a jar', () => {
    expect(markerUriOfStep(['spark-submit', '--class', 'Main', 's3://b/a.jar'])).toBeUndefined()
    expect(jarOfStep(['spark-submit', '--num-executors', '2'])).toBeUndefined()
    expect(markerUriOfStep([])).toBeUndefined()
  })

  it('finds no marker and no option in a kill step', () => {
    const kill = buildKillStep('clickstream', DEPLOYMENT)
    expect(markerUriOfStep(kill.args)).toBeUndefined()
  })
})

describe('retargetStep', () => {
  const ROLLBACK = `${DEPLOYMENT}-rb`
  const NEW_MARKER = `s3://acme-rollover/streaming/Click-Stream/markers/${ROLLBACK}`
  const target = { appName: 'Click-Stream', deploymentId: ROLLBACK, markerUri: NEW_MARKER }

  it('replaces the marker, its env and the tags; keeps every other argument byte for byte', () => {
    const previous = buildSparkStep(INPUT)
    const step = retargetStep(previous, target)
    expect(step.name).toBe(`rollover:Click-Stream:${ROLLBACK}`)
    expect(step.jar).toBe('command-runner.jar')
    expect(step.actionOnFailure).toBe('CONTINUE')
    expect(step.args).toHaveLength(previous.args.length)
    const changed = step.args
      .map((arg, i) => [i, previous.args[i], arg] as const)
      .filter(([, before, after]) => before !== after)
    expect(changed).toEqual([
      [18, `${MARKER_CONF}=${MARKER}`, `${MARKER_CONF}=${NEW_MARKER}`],
      [20, `${MARKER_ENV_CONF}=${MARKER}`, `${MARKER_ENV_CONF}=${NEW_MARKER}`],
      [
        22,
        `${TAGS_CONF}=rollover-click-stream,rollover-click-stream-${DEPLOYMENT}`,
        `${TAGS_CONF}=rollover-click-stream,rollover-click-stream-${ROLLBACK}`,
      ],
    ])
    expect(markerUriOfStep(step.args)).toBe(NEW_MARKER)
    expect(jarOfStep(step.args)).toBe(JAR)
  })

  it('keeps the --conf=k=v form of a replaced conf', () => {
    const previous: StepSpec = {
      name: 'rollover:Click-Stream:old',
      jar: 'command-runner.jar',
      args: [
        'spark-submit',
        `--conf=${MARKER_CONF}=s3://old/m`,
        `--conf=${MARKER_ENV_CONF}=s3://old/m`,
        `--conf=${TAGS_CONF}=rollover-click-stream,rollover-click-stream-old`,
        '--conf=spark.other=1',
        's3://b/a.jar',
      ],
      actionOnFailure: 'CONTINUE',
    }
    expect(retargetStep(previous, target).args).toEqual([
      'spark-submit',
      `--conf=${MARKER_CONF}=${NEW_MARKER}`,
      `--conf=${MARKER_ENV_CONF}=${NEW_MARKER}`,
      `--conf=${TAGS_CONF}=rollover-click-stream,rollover-click-stream-${ROLLBACK}`,
      '--conf=spark.other=1',
      's3://b/a.jar',
    ])
  })

  it("adds the contract confs right after 'spark-submit' for a foreign step that lacks them", () => {
    const foreign: StepSpec = {
      name: 'Clickstream (started by hand)',
      jar: 'command-runner.jar',
      args: [
        'spark-submit',
        '--deploy-mode',
        'cluster',
        '--class',
        'com.acme.clickstream.Main',
        '--conf',
        'spark.executor.memory=4g',
        's3://acme-artifacts/old.jar',
        'click events',
      ],
      actionOnFailure: 'CANCEL_AND_WAIT',
    }
    const step = retargetStep(foreign, target)
    expect(step).toEqual({
      name: `rollover:Click-Stream:${ROLLBACK}`,
      jar: 'command-runner.jar',
      args: [
        'spark-submit',
        '--conf',
        `${MARKER_CONF}=${NEW_MARKER}`,
        '--conf',
        `${MARKER_ENV_CONF}=${NEW_MARKER}`,
        '--conf',
        `${TAGS_CONF}=rollover-click-stream,rollover-click-stream-${ROLLBACK}`,
        ...foreign.args.slice(1),
      ],
      actionOnFailure: 'CONTINUE',
    })
    expect(jarOfStep(step.args)).toBe('s3://acme-artifacts/old.jar')
  })

  it('adds only the confs that are missing', () => {
    const partial: StepSpec = {
      name: 'x',
      jar: 'command-runner.jar',
      args: ['spark-submit', '--conf', `${MARKER_CONF}=s3://old/m`, 's3://b/a.jar'],
      actionOnFailure: 'CONTINUE',
    }
    expect(retargetStep(partial, target).args).toEqual([
      'spark-submit',
      '--conf',
      `${MARKER_ENV_CONF}=${NEW_MARKER}`,
      '--conf',
      `${TAGS_CONF}=rollover-click-stream,rollover-click-stream-${ROLLBACK}`,
      '--conf',
      `${MARKER_CONF}=${NEW_MARKER}`,
      's3://b/a.jar',
    ])
  })

  it('does not modify the previous step', () => {
    const previous = buildSparkStep(INPUT)
    const before = JSON.stringify(previous)
    retargetStep(previous, target)
    expect(JSON.stringify(previous)).toBe(before)
  })
})

describe('buildKillStep', () => {
  const APP = 'ZebraFeed'

  it('passes the tag as its own argv element, after the script and $0', () => {
    const step = buildKillStep(APP, DEPLOYMENT)
    expect(step).toEqual({
      name: `rollover-kill:${APP}:${DEPLOYMENT}`,
      jar: 'command-runner.jar',
      args: ['bash', '-c', YARN_KILL_SCRIPT, KILL_STEP_MARKER_ARG, 'rollover-zebrafeed'],
      actionOnFailure: 'CONTINUE',
    })
  })

  it('never puts the app name or the tag into the script text', () => {
    const [, , script] = buildKillStep(APP, DEPLOYMENT).args
    expect(script).toBe(YARN_KILL_SCRIPT)
    expect(script?.toLowerCase()).not.toContain('zebrafeed')
    expect(script).not.toContain(DEPLOYMENT)
    expect(script).toContain('tag="$1"')
  })

  it('kills by the app tag, so every driver of the app is found', () => {
    expect(buildKillStep(APP, DEPLOYMENT).args.at(-1)).toBe(appTag(APP))
  })
})

// The script runs under bash with fake `hostname`, `curl` and `yarn` on the PATH.
describe('YARN_KILL_SCRIPT', () => {
  let dir: string

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'rollover-kill-'))
    const bin = path.join(dir, 'bin')
    const scripts: Record<string, string> = {
      hostname: 'echo primary.ec2.internal',
      yarn: 'echo "yarn $*" >> "$LOG"',
      // Answers from $ANSWERS, one file per call (1, 2, ...); exit 22 when the file is missing.
      curl: [
        'echo "curl $*" >> "$LOG"',
        'n=$(( $(cat "$COUNT" 2>/dev/null || echo 0) + 1 )); echo $n > "$COUNT"',
        '[ -f "$ANSWERS/$n" ] || exit 22',
        'cat "$ANSWERS/$n"',
      ].join('\n'),
    }
    spawnSync('mkdir', ['-p', bin])
    for (const [name, body] of Object.entries(scripts)) {
      writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`)
      chmodSync(path.join(bin, name), 0o755)
    }
  })

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  function runScript(name: string, answers: readonly string[], tag = 'rollover-zebrafeed') {
    const work = path.join(dir, name)
    const answersDir = path.join(work, 'answers')
    spawnSync('mkdir', ['-p', answersDir])
    answers.forEach((a, i) => writeFileSync(path.join(answersDir, String(i + 1)), a))
    const log = path.join(work, 'log')
    const result = spawnSync('bash', ['-c', YARN_KILL_SCRIPT, KILL_STEP_MARKER_ARG, tag], {
      cwd: work,
      encoding: 'utf8',
      timeout: 10_000,
      env: {
        PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin`,
        HOME: work,
        LOG: log,
        COUNT: path.join(work, 'count'),
        ANSWERS: answersDir,
      },
    })
    const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []
    return { ...result, calls, work }
  }

  const RUNNING =
    '{"apps":{"app":[{"id":"application_1700000000000_0042","state":"RUNNING"},{"id":"application_1700000000000_0042"}]}}'
  const NONE = '{"apps":null}'

  it('kills each tagged application once and confirms none is left', () => {
    const r = runScript('kills', [RUNNING, NONE])
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('killed: application_1700000000000_0042\n')
    expect(r.calls).toEqual([
      'curl -sfL --max-time 30 http://primary.ec2.internal:8088/ws/v1/cluster/apps?applicationTags=rollover-zebrafeed&states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING',
      'yarn application -kill application_1700000000000_0042',
      'curl -sfL --max-time 30 http://primary.ec2.internal:8088/ws/v1/cluster/apps?applicationTags=rollover-zebrafeed&states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING',
    ])
  })

  it('succeeds with nothing to kill when the ResourceManager lists no application', () => {
    const r = runScript('none', [NONE, NONE])
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('killed: none\n')
    expect(r.calls.filter((c) => c.startsWith('yarn'))).toEqual([])
  })

  it('fails when the ResourceManager cannot be queried, instead of reporting "killed: none"', () => {
    const r = runScript('unreachable', [])
    expect(r.status).not.toBe(0)
    expect(r.stdout).not.toContain('killed')
    expect(r.stderr).toContain('cannot query the ResourceManager')
    expect(r.calls.filter((c) => c.startsWith('yarn'))).toEqual([])
  })

  it('fails when the confirming query fails after the kill', () => {
    const r = runScript('confirm-fails', [RUNNING])
    expect(r.status).not.toBe(0)
    expect(r.stdout).not.toContain('killed:')
    expect(r.calls).toContain('yarn application -kill application_1700000000000_0042')
  })

  it('never evaluates the tag as shell code', () => {
    const r = runScript('injection', [NONE, NONE], '$(touch pwned)`touch pwned2`')
    expect(r.status).toBe(0)
    expect(existsSync(path.join(r.work, 'pwned'))).toBe(false)
    expect(existsSync(path.join(r.work, 'pwned2'))).toBe(false)
    expect(r.calls[0]).toContain('applicationTags=$(touch pwned)`touch pwned2`&states=')
  })
})
