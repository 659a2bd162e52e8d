import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { compareHandoff } from '../../../src/contract/handoff.ts'
import { newReport, type LaunchRecord, type RunReport } from '../../../src/rollover/report.ts'
import { outputsOf } from '../../../src/report/outputs.ts'
import { launch, markerOf, NEW_ID, NEW_JAR } from '../../visual/samples.ts'

const ACTION_YML = readFileSync(new URL('../../../action.yml', import.meta.url), 'utf8')
const OUTPUT_KEYS = [
  ...(/^outputs:\n([\s\S]*?)(?=^\S)/m.exec(ACTION_YML)?.[1] ?? '').matchAll(
    /^ {2}([a-z][a-z-]*):\s*$/gm,
  ),
].map((m) => m[1] as string)

const REGION = 'us-west-2'
const CLUSTER = 'j-2AXXXXXXGAPLF'
const ID = NEW_ID
const JAR = NEW_JAR

function base(): RunReport {
  return { ...newReport(ID, 'clickstream', REGION), clusterId: CLUSTER, jarUri: JAR }
}

const running = (id: string, stepId: string, extra: Partial<LaunchRecord> = {}): LaunchRecord =>
  launch(id, JAR, { stepId, outcome: 'running', ...extra })

function deployed(): RunReport {
  return {
    ...base(),
    result: 'deployed',
    status: 'succeeded',
    previous: [{ stepId: 's-OLDSTEP0001', state: 'COMPLETED' }],
    stopStartedAt: 10_000,
    oldStoppedAt: 22_400,
    launch: running(ID, 's-NEWSTEP0001', {
      submittedAt: 23_000,
      runningAt: 29_000,
      readiness: { method: 'progress', batches: 3 },
    }),
    handoff: compareHandoff(
      [{ description: 'k', startOffset: null, endOffset: { t: { '0': 5 } } }],
      [{ description: 'k', startOffset: { t: { '0': 5 } }, endOffset: null }],
    ),
  }
}

function firstDeploy(): RunReport {
  return {
    ...base(),
    result: 'first-deploy',
    status: 'succeeded',
    stopStartedAt: 5_000,
    oldStoppedAt: 5_000,
    launch: running(ID, 's-NEWSTEP0001', { runningAt: 9_000 }),
  }
}

function rolledBack(): RunReport {
  return {
    ...base(),
    result: 'rolled-back',
    status: 'failed',
    error: 'The new step s-NEWSTEP0001 died.',
    previous: [{ stepId: 's-OLDSTEP0001', state: 'KILLED' }],
    forcedStop: true,
    stopStartedAt: 10_000,
    oldStoppedAt: 70_000,
    launch: launch(ID, JAR, { stepId: 's-NEWSTEP0001', runningAt: 75_000, outcome: 'died' }),
    rollback: running(`${ID}-rb`, 's-RBSTEP00001', {
      runningAt: 95_500,
      readiness: { method: 'emr-state' },
    }),
    handoff: { verdict: 'gap', sources: [] },
  }
}

function planned(): RunReport {
  return {
    ...base(),
    result: 'planned',
    status: 'succeeded',
    plan: { stop: [], markerUri: markerOf(ID), step: launch(ID, JAR).step },
  }
}

function failedEarly(): RunReport {
  return { ...newReport(ID, 'clickstream', REGION), status: 'failed', error: 'no cluster' }
}

describe('outputsOf', () => {
  it('action.yml declares the outputs this test expects', () => {
    expect(OUTPUT_KEYS).toEqual([
      'result',
      'deployment-id',
      'cluster-id',
      'step-id',
      'previous-step-id',
      'previous-step-state',
      'marker-uri',
      'jar-uri',
      'stop-seconds',
      'downtime-seconds',
      'handoff',
      'verified-by',
    ])
  })

  it.each([
    ['deployed', deployed],
    ['first-deploy', firstDeploy],
    ['rolled-back', rolledBack],
    ['planned', planned],
    ['failed before the cluster was resolved', failedEarly],
  ])('gives every output of action.yml, and only those: %s', (_name, make) => {
    const outputs = outputsOf(make())
    expect(Object.keys(outputs).sort()).toEqual([...OUTPUT_KEYS].sort())
    for (const value of Object.values(outputs)) expect(typeof value).toBe('string')
  })

  it('deployed', () => {
    expect(outputsOf(deployed())).toEqual({
      result: 'deployed',
      'deployment-id': ID,
      'cluster-id': CLUSTER,
      'step-id': 's-NEWSTEP0001',
      'previous-step-id': 's-OLDSTEP0001',
      'previous-step-state': 'COMPLETED',
      'marker-uri': markerOf(ID),
      'jar-uri': JAR,
      'stop-seconds': '12.4',
      'downtime-seconds': '6.6',
      handoff: 'contiguous',
      'verified-by': 'progress',
    })
  })

  it('first-deploy: verified, by EMR state when no readiness was recorded; no handoff', () => {
    expect(outputsOf(firstDeploy())).toMatchObject({
      result: 'first-deploy',
      'step-id': 's-NEWSTEP0001',
      'previous-step-id': '',
      'stop-seconds': '0',
      'downtime-seconds': '4',
      handoff: '',
      'verified-by': 'emr-state',
    })
  })

  it('rolled-back: the rollback step is what runs now, and how it was verified', () => {
    expect(outputsOf(rolledBack())).toMatchObject({
      result: 'rolled-back',
      'step-id': 's-RBSTEP00001',
      'previous-step-id': 's-OLDSTEP0001',
      'previous-step-state': 'KILLED',
      'marker-uri': markerOf(`${ID}-rb`),
      'stop-seconds': '60',
      'downtime-seconds': '25.5',
      handoff: 'gap',
      'verified-by': 'emr-state',
    })
  })

  it('a launch that did not run verifies nothing', () => {
    const report = rolledBack()
    report.rollback = { ...(report.rollback as LaunchRecord), outcome: 'failed-to-start' }
    expect(outputsOf(report)['verified-by']).toBe('')
  })

  it('planned: the marker that would be written, no step', () => {
    expect(outputsOf(planned())).toMatchObject({
      result: 'planned',
      'step-id': '',
      'marker-uri': markerOf(ID),
      'stop-seconds': '',
      handoff: '',
      'verified-by': '',
    })
  })

  it('failed before the cluster was resolved: only the deployment id', () => {
    const outputs = outputsOf(failedEarly())
    expect(outputs['deployment-id']).toBe(ID)
    expect(Object.entries(outputs).filter(([, v]) => v !== '')).toEqual([['deployment-id', ID]])
  })

  it('a failed stop names the step that still runs', () => {
    const report = base()
    report.status = 'failed'
    report.found = [{ stepId: 's-OLD', state: 'RUNNING' }]
    report.phases.push({ name: 'Stop', startedAt: 0, endedAt: 900_000, status: 'failed' })
    expect(outputsOf(report)).toMatchObject({
      'previous-step-id': 's-OLD',
      'previous-step-state': 'RUNNING',
      'step-id': '',
    })
  })
})
