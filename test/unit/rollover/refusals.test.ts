// Issue 9, "refuse before the stop": each mistake EMR would refuse later is refused before the
// running driver is touched, with a message naming the input and the fix. No EMR change, and no
// S3 change but the deploy lock itself.
import { afterEach, describe, expect, it } from 'vitest'
import { UserError } from '../../../src/errors.ts'
import {
  LOCK_URI,
  disposeWorlds,
  makeWorld,
  rollover,
  seedDeployment,
  type World,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

/** Nothing of the app changed: no EMR call that changes, no S3 write but the lock and the record. */
function expectNothingChanged(w: World, old?: ReturnType<typeof seedDeployment>): void {
  expect(w.emr.mutations).toEqual([])
  const own = (uri: string) => uri === LOCK_URI || uri.includes('/deployments/')
  expect(w.store.mutations.filter((m) => !own(m.uri))).toEqual([])
  if (old) {
    expect(old.step.state).toBe('RUNNING')
    expect(w.store.objects.has(old.markerUri)).toBe(true)
  }
}

describe('refused before anything is stopped', () => {
  it('on-stop-timeout kill on a release below emr-5.28.0 (a RUNNING step cannot be cancelled)', async () => {
    const w = makeWorld({ cluster: { releaseLabel: 'emr-5.27.1' } })
    const old = seedDeployment(w)

    const out = await rollover(w, { settings: { onStopTimeout: 'kill' } })

    expect(out.error).toBeInstanceOf(UserError)
    expect(out.error?.message).toContain("Input 'on-stop-timeout'")
    expect(out.error?.message).toContain('emr-5.27.1')
    expect(w.store.mutations).toEqual([])
    expectNothingChanged(w, old)
  })

  it('accepts kill on emr-5.28.0', async () => {
    const w = makeWorld({ cluster: { releaseLabel: 'emr-5.28.0' } })
    seedDeployment(w)
    const out = await rollover(w, { settings: { onStopTimeout: 'kill' } })
    expect(out.error).toBeUndefined()
  })

  it('a step longer than EMR takes (all HadoopJarStep strings together)', async () => {
    const w = makeWorld()
    const old = seedDeployment(w)
    const appArgs = Array.from({ length: 200 }, (_, i) => `--arg-${i}=${'x'.repeat(50)}`)

    const out = await rollover(w, { settings: { appArgs } })

    expect(out.error?.message).toContain("Inputs 'spark-submit-args' and 'app-args'")
    expect(out.error?.message).toMatch(/together, EMR takes at most 10240/)
    expect(w.store.mutations).toEqual([])
    expectNothingChanged(w, old)
  })

  it('one argument longer than EMR takes', async () => {
    const w = makeWorld()
    const out = await rollover(w, { settings: { appArgs: ['y'.repeat(10_300)] } })
    expect(out.error?.message).toMatch(/one argument is 10300 characters/)
    expectNothingChanged(w)
  })

  it('a rollback step that would not fit', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001', {}, { current: true, ledger: true })
    // The verified step was just under the limit; its retargeted copy is longer.
    const current = JSON.parse(
      w.store.text(`s3://data-lake/rollover/orders/current.json`) as string,
    )
    const size = (args: string[]): number =>
      current.step.jar.length + args.reduce((n, a) => n + a.length, 0)
    // Just under the limit: the copy's marker and tags (for 'd-002-rb') are a few characters longer.
    current.step.args = [...current.step.args, 'z'.repeat(10_240 - 5 - size(current.step.args))]
    w.store.seed(`s3://data-lake/rollover/orders/current.json`, JSON.stringify(current))

    const out = await rollover(w)

    expect(out.error?.message).toContain('The rollback step')
    expect(out.error?.message).toContain("'rollback: false'")
    expectNothingChanged(w, old)
  })

  it('a cluster with runtime roles and no execution-role-arn', async () => {
    const w = makeWorld()
    const old = seedDeployment(
      w,
      'd-001',
      {},
      { ledger: true, executionRoleArn: 'arn:aws:iam::123456789012:role/streaming' },
    )

    const out = await rollover(w)

    expect(out.error?.message).toContain("Input 'execution-role-arn' is empty")
    expect(out.error?.message).toContain('arn:aws:iam::123456789012:role/streaming')
    expectNothingChanged(w, old)
  })

  it("another team's steps ahead on a one-step cluster, named", async () => {
    const w = makeWorld({ cluster: { stepConcurrencyLevel: 1 } })
    const theirs = seedDeployment(
      w,
      'b-001',
      {},
      { prefix: { bucket: 'data-lake', key: 'team-b' }, appName: 'etl' },
    )

    const out = await rollover(w)

    expect(out.error?.message).toContain(`${theirs.step.id} 'rollover:etl:`)
    expect(out.error?.message).toContain('runs one step at a time')
    expectNothingChanged(w)
  })

  it('the dry run refuses the same', async () => {
    const w = makeWorld()
    seedDeployment(
      w,
      'd-001',
      {},
      { ledger: true, executionRoleArn: 'arn:aws:iam::123456789012:role/streaming' },
    )

    const out = await rollover(w, { settings: { dryRun: true } })

    expect(out.error?.message).toContain("Input 'execution-role-arn' is empty")
    expect(w.store.mutations).toEqual([])
    expect(w.emr.mutations).toEqual([])
  })
})
