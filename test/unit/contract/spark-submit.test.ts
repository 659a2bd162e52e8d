import { describe, expect, it } from 'vitest'
import { buildKillStep } from '../../../src/contract/kill-step.ts'
import {
  MARKER_CONF,
  MARKER_ENV_CONF,
  TAGS_CONF,
  WAIT_CONF,
  checkUserSparkArgs,
  jarOfStep,
  markerUriOfStep,
  parseSparkSubmitArgs,
} from '../../../src/contract/spark-submit.ts'
import { buildSparkStep } from '../../../src/contract/step.ts'
import { DEPLOYMENT, MARKER, JAR, INPUT } from './step-input.ts'

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
    const kill = buildKillStep({ name: 'k', tags: [`rollover-x-${DEPLOYMENT}`] })
    expect(markerUriOfStep(kill.args)).toBeUndefined()
  })
})
