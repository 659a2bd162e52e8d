import { describe, expect, it } from 'vitest'
import { appTag, deploymentTag } from '../../../src/contract/identity.ts'
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
import { buildSparkStep, retargetStep } from '../../../src/contract/step.ts'
import type { StepSpec } from '../../../src/aws/emr-port.ts'

import { APP, APP_ID, DEPLOYMENT, MARKER, JAR, INPUT, EXPECTED_ARGS } from './step-input.ts'

describe('buildSparkStep', () => {
  it('builds the exact step for a realistic configuration', () => {
    expect(buildSparkStep(INPUT)).toEqual({
      name: `rollover:Click-Stream:${APP_ID}:${DEPLOYMENT}`,
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
    expect(appTag(APP)).toBe(`rollover-${APP_ID}`)
    expect(deploymentTag(APP, DEPLOYMENT)).toBe(`rollover-${APP_ID}-${DEPLOYMENT}`)
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

describe('retargetStep', () => {
  const ROLLBACK = `${DEPLOYMENT}-rb`
  const NEW_MARKER = `s3://acme-rollover/streaming/Click-Stream/markers/${ROLLBACK}`
  const target = { app: APP, deploymentId: ROLLBACK, markerUri: NEW_MARKER }

  it('replaces the marker, its env and the tags; keeps every other argument byte for byte', () => {
    const previous = buildSparkStep(INPUT)
    const step = retargetStep(previous, target)
    expect(step.name).toBe(`rollover:Click-Stream:${APP_ID}:${ROLLBACK}`)
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
        `${TAGS_CONF}=rollover-${APP_ID},rollover-${APP_ID}-${DEPLOYMENT}`,
        `${TAGS_CONF}=rollover-${APP_ID},rollover-${APP_ID}-${ROLLBACK}`,
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
      `--conf=${TAGS_CONF}=rollover-${APP_ID},rollover-${APP_ID}-${ROLLBACK}`,
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
      name: `rollover:Click-Stream:${APP_ID}:${ROLLBACK}`,
      jar: 'command-runner.jar',
      args: [
        'spark-submit',
        '--conf',
        `${MARKER_CONF}=${NEW_MARKER}`,
        '--conf',
        `${MARKER_ENV_CONF}=${NEW_MARKER}`,
        '--conf',
        `${TAGS_CONF}=rollover-${APP_ID},rollover-${APP_ID}-${ROLLBACK}`,
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
      `${TAGS_CONF}=rollover-${APP_ID},rollover-${APP_ID}-${ROLLBACK}`,
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
