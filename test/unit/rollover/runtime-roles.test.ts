// Issue 9, runtime roles: on a cluster with EMR runtime roles every step needs an
// ExecutionRoleArn (the fake EMR refuses one without, as EMR does). The kill step of a forced stop
// carries one and is accepted before the stuck step is cancelled; a rollback step runs as the
// previous step's own role, read from DescribeStep, not as this run's input.
import { afterEach, describe, expect, it } from 'vitest'
import {
  CLUSTER,
  NEW_JAR,
  OLD_JAR,
  disposeWorlds,
  makeWorld,
  rollover,
  seedDeployment,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

const OLD_ROLE = 'arn:aws:iam::111122223333:role/orders-v1'
const NEW_ROLE = 'arn:aws:iam::111122223333:role/orders-v2'
const rolesCluster = { id: CLUSTER, stepConcurrencyLevel: 2, runtimeRoles: true } as const

describe('a cluster with runtime roles', () => {
  it('a forced stop: the kill step carries a role, EMR accepts it before the stuck step is cancelled', async () => {
    const w = makeWorld({ cluster: rolesCluster })
    const old = seedDeployment(
      w,
      'd-001',
      { behaviour: 'ignore-marker' },
      { ledger: true, executionRoleArn: OLD_ROLE },
    )

    const out = await rollover(w, {
      settings: { executionRoleArn: OLD_ROLE, stopTimeoutMs: 60_000, onStopTimeout: 'kill' },
    })

    expect(out.error).toBeUndefined()
    const kill = w.emr.submitted.find((s) => s.kind === 'kill')
    expect(kill?.executionRoleArn).toBe(OLD_ROLE)
    const accepted = w.events.findIndex((e) => e.startsWith('emr:addStep') && e.includes('kill'))
    const cancelled = w.events.indexOf(`emr:cancelStep ${old.step.id}`)
    expect(accepted).toBeGreaterThanOrEqual(0)
    expect(cancelled).toBeGreaterThan(accepted)
    expect(old.step.app?.exit).toBe('killed')
  })

  it('a rollback step runs as the previous step’s own role, not as the input’s', async () => {
    const w = makeWorld({ cluster: rolesCluster })
    const old = seedDeployment(
      w,
      'd-001',
      {},
      { ledger: true, current: true, executionRoleArn: OLD_ROLE },
    )
    w.emr.queue({ behaviour: 'crash-on-start' })

    const out = await rollover(w, {
      settings: { executionRoleArn: NEW_ROLE, startTimeoutMs: 60_000, stableForMs: 10_000 },
    })

    expect(out.error?.message).toMatch(/Rolled back/)
    const [fresh, rollbackStep] = w.emr.submitted.filter((s) => s.kind !== 'kill')
    expect(fresh?.executionRoleArn).toBe(NEW_ROLE)
    expect(rollbackStep?.executionRoleArn).toBe(OLD_ROLE)
    expect(rollbackStep?.spec.args).toContain(OLD_JAR)
    expect(fresh?.spec.args).toContain(NEW_JAR)
    expect(old.step.state).not.toBe('RUNNING')
  })
})
