// Phase 3: a local jar is uploaded (content-addressed) before anything is stopped; an s3:// jar
// must exist before anything is changed.
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { jarOfStep } from '../../../src/contract/spark-submit.ts'
import { UserError } from '../../../src/errors.ts'
import type { JarSource } from '../../../src/settings/settings.ts'
import {
  BUCKET,
  disposeWorlds,
  eventIndex,
  makeWorld,
  markerKeys,
  markerUri,
  rollover,
  seedDeployment,
} from '../../support/rollover-harness.ts'

afterEach(disposeWorlds)

let dir: string
let jar: JarSource
let stagedUri: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollover-stage-'))
  const path = join(dir, 'orders-assembly-2.0.jar')
  // ASCII only: MemoryStore keeps bodies as strings and reports their UTF-8 length as the size.
  const content = `PK\u0003\u0004${'orders classes '.repeat(200)}`
  await writeFile(path, content, 'latin1')
  const sha = createHash('sha256').update(Buffer.from(content, 'latin1')).digest('hex')
  jar = { kind: 'local', path }
  stagedUri = `s3://${BUCKET}/rollover/artifacts/orders/${sha}.jar`
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('staging a local jar', () => {
  it('uploads to <artifact-prefix>/<app>/<sha256>.jar before any marker is deleted', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001')

    const { report, error } = await rollover(w, { settings: { jar } })

    expect(error).toBeUndefined()
    expect(report.result).toBe('deployed')
    expect(report.jarUri).toBe(stagedUri)
    expect(report.jarUploaded).toBe(true)
    expect(w.store.calls.filter((c) => c.op === 'uploadFile')).toEqual([
      { op: 'uploadFile', uri: stagedUri },
    ])
    const upload = eventIndex(w, (e) => e === `s3:uploadFile ${stagedUri}`)
    const firstDelete = eventIndex(w, (e) => e.startsWith('s3:delete'))
    const lock = eventIndex(w, (e) => e.startsWith('s3:putText') && e.endsWith('/lock'))
    expect(upload).toBeGreaterThan(0)
    expect(upload).toBeLessThan(lock)
    expect(upload).toBeLessThan(firstDelete)
    expect(w.events[firstDelete]).toBe(`s3:delete ${old.markerUri}`)
    // The step runs the staged copy, and the marker names it.
    expect(jarOfStep(w.emr.submitted[0]?.spec.args ?? [])).toBe(stagedUri)
    expect(w.store.json(markerUri('d-002'))).toMatchObject({ jar: stagedUri })
  })

  it('does not upload a jar that is already staged', async () => {
    const w = makeWorld()
    expect((await rollover(w, { settings: { jar }, deploymentId: 'd-001' })).error).toBeUndefined()
    const uploads = w.store.calls.filter((c) => c.op === 'uploadFile').length
    expect(uploads).toBe(1)

    const { report, error } = await rollover(w, { settings: { jar }, deploymentId: 'd-002' })

    expect(error).toBeUndefined()
    expect(report.result).toBe('deployed')
    expect(w.store.calls.filter((c) => c.op === 'uploadFile')).toHaveLength(1)
    expect(report.jarUploaded).toBeUndefined()
    expect(report.phases.find((p) => p.name === 'Stage')).toMatchObject({
      status: 'skipped',
      detail: 'jar already in S3',
    })
    expect(jarOfStep(w.emr.submitted[1]?.spec.args ?? [])).toBe(stagedUri)
  })

  it('uploads nothing in a dry run', async () => {
    const w = makeWorld()
    const { report, error } = await rollover(w, { settings: { jar, dryRun: true } })
    expect(error).toBeUndefined()
    expect(report.result).toBe('planned')
    expect(report.plan?.step.args).toContain(stagedUri)
    expect(w.store.mutations).toEqual([])
    expect(w.emr.mutations).toEqual([])
  })
})

describe('an s3:// jar', () => {
  it('that does not exist fails before any change', async () => {
    const w = makeWorld()
    const old = seedDeployment(w, 'd-001')
    const missing: JarSource = {
      kind: 's3',
      location: { bucket: BUCKET, key: 'jars/orders-9.9.jar' },
    }

    const { report, error } = await rollover(w, { settings: { jar: missing } })

    expect(error).toBeInstanceOf(UserError)
    expect(error?.message).toContain(
      `Input 'jar': s3://${BUCKET}/jars/orders-9.9.jar does not exist`,
    )
    expect(w.store.mutations).toEqual([])
    expect(w.emr.mutations).toEqual([])
    expect(markerKeys(w)).toEqual([old.markerUri])
    expect(old.step.state).toBe('RUNNING')
    expect(report.phases.map((p) => `${p.name}:${p.status}`)).toEqual(['Preflight:failed'])
  })
})
