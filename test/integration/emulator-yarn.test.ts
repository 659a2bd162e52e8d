// The emulator's YARN: the kill step run for real (the action's script under bash, the fake
// ResourceManager's JSON, the fake yarn), the RM's failure modes, YARN re-attempts, steps and
// applications that disagree, and step logs in S3.
import { gunzipSync } from 'node:zlib'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { expect, it } from 'vitest'
import { buildKillStep } from '../../src/contract/kill-step.ts'
import { appTag, deploymentTag } from '../../src/contract/identity.ts'
import type { RmMode } from '../emulator/resource-manager.ts'
import { batchEnds, describeEmulator } from './emulator-support.ts'

describeEmulator('EMR emulator: YARN and the kill step', (t) => {
  const app = (stepId: string) => t.stack.emr.apps().find((a) => a.stepId === stepId)
  const rmApps = async (clusterId: string, tags: string) => {
    const url = `${t.stack.emr.rm.base}/${clusterId}/ws/v1/cluster/apps?applicationTags=${tags}&states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING`
    return (await (await fetch(url)).json()) as {
      apps: null | { app: Array<Record<string, unknown>> }
    }
  }
  const killStep = (tags: string[]) =>
    buildKillStep({ name: `rollover-kill:test:${tags.join('+')}`, tags })

  it('kills by deployment tag with the real script: SIGTERM, then SIGKILL; the other deployment lives', async () => {
    const { clusterId, state } = await t.fresh('kill', { stepConcurrencyLevel: 3 })
    const stubborn = await t.stack.makeJar('v1', 'ignore-marker', {
      upload: true,
      ignoreSigterm: true,
    })
    const ok = await t.stack.makeJar('v2', 'ok', { upload: true })
    const d1 = await t.submit(clusterId, stubborn, state)
    const d2 = await t.submit(clusterId, ok, await t.stack.newStream(`kill-other-${Date.now()}`))
    await t.waitForStep(clusterId, d2.stepId, ['RUNNING'])
    // Up and ignoring SIGTERM (a driver still starting would die of it).
    await t.waitForEvents(state, (e) => e.some((x) => x.event === 'driver-start'))
    const tag1 = deploymentTag(t.app(), d1.deploymentId)

    // What the script reads: Hadoop's JSON, tags comma-separated, filtered by any tag.
    expect(await rmApps(clusterId, 'rollover-nobody')).toEqual({ apps: null })
    const listed = await rmApps(clusterId, appTag(t.app()))
    expect(listed.apps?.app.map((a) => a.id).sort()).toEqual(
      [app(d1.stepId)?.appId, app(d2.stepId)?.appId].sort(),
    )
    expect(listed.apps?.app.find((a) => a.id === app(d1.stepId)?.appId)).toMatchObject({
      state: 'RUNNING',
      finalStatus: 'UNDEFINED',
      applicationTags: `${appTag(t.app())},${tag1}`,
      applicationType: 'SPARK',
    })

    const killId = await t.addStep(clusterId, killStep([tag1]))
    const kill = await t.waitForStep(clusterId, killId, ['COMPLETED', 'FAILED'])
    expect(kill.Status?.State, t.stack.emr.stepLogs(killId).join('\n')).toBe('COMPLETED')
    const killed = app(d1.stepId)?.appId as string
    expect(app(d1.stepId)).toMatchObject({ yarnState: 'KILLED', signal: 'SIGKILL' })
    expect(t.stack.emr.snapshot().yarnKills).toEqual([
      expect.objectContaining({ stepId: killId, appId: killed, outcome: 'killed' }),
    ])
    expect(t.stack.emr.stepLogs(killId)).toEqual(
      expect.arrayContaining([`[stdout] killing ${killed}`, `[stdout] killed: ${killed}`]),
    )
    const streaming = await t.waitForStep(clusterId, d1.stepId, ['FAILED'])
    expect(streaming.Status?.FailureDetails?.Message).toMatch(/SIGKILL/)
    expect(app(d2.stepId)?.alive).toBe(true)
    expect(t.stack.emr.step(d2.stepId)?.state).toBe('RUNNING')
  })

  it('kills by the id members only: a name that mentions another application kills nothing else', async () => {
    const { clusterId, state } = await t.fresh('kill-names', { stepConcurrencyLevel: 3 })
    const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
    const foreign = await t.submit(clusterId, jar, state, { appName: 'someone-else' })
    await t.waitForStep(clusterId, foreign.stepId, ['RUNNING'])
    const foreignId = app(foreign.stepId)?.appId as string
    const ours = await t.submit(clusterId, jar, await t.stack.newStream(`names-${Date.now()}`), {
      sparkSubmitArgs: ['--name', `replaces ${foreignId} "id":"${foreignId}"`],
    })
    await t.waitForStep(clusterId, ours.stepId, ['RUNNING'])
    const listed = await rmApps(clusterId, appTag(t.app()))
    expect(JSON.stringify(listed)).toContain(foreignId)

    const killId = await t.addStep(clusterId, killStep([appTag(t.app())]))
    expect((await t.waitForStep(clusterId, killId, ['COMPLETED', 'FAILED'])).Status?.State).toBe(
      'COMPLETED',
    )
    expect(app(ours.stepId)?.yarnState).toBe('KILLED')
    expect(app(foreign.stepId)).toMatchObject({ alive: true, yarnState: 'RUNNING' })
    expect(t.stack.emr.snapshot().yarnKills.map((k) => k.appId)).not.toContain(foreignId)
  })

  it.each([
    ['unreachable', /cannot query the ResourceManager/],
    ['unauthorized', /HTTP 401/],
    ['not-json', /not the ResourceManager's JSON/],
  ] as Array<[RmMode, RegExp]>)(
    'a kill step whose RM is %s fails, kills nothing and logs why in stderr.gz',
    async (mode, why) => {
      const { clusterId, state } = await t.fresh(`rm-${mode}`, { stepConcurrencyLevel: 2 })
      const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
      const { stepId } = await t.submit(clusterId, jar, state)
      await t.waitForStep(clusterId, stepId, ['RUNNING'])
      t.stack.emr.setFaults({ rm: mode })
      const killId = await t.addStep(clusterId, killStep([appTag(t.app())]))
      const kill = await t.waitForStep(clusterId, killId, ['COMPLETED', 'FAILED'])
      expect(kill.Status?.State).toBe('FAILED')
      expect(kill.Status?.FailureDetails?.Message).toMatch(why)
      expect(app(stepId)?.alive).toBe(true)
      expect(t.stack.emr.snapshot().yarnKills.filter((k) => k.clusterId === clusterId)).toEqual([])
      const logFile = kill.Status?.FailureDetails?.LogFile as string
      const stderr = await t.until(() => readLog(logFile), 15_000, `${logFile} in S3`)
      expect(stderr).toMatch(why)
    },
  )

  it('a standby RM redirects (307) to the active one, and the kill goes through', async () => {
    const { clusterId, state } = await t.fresh('rm-standby', { stepConcurrencyLevel: 2 })
    const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
    const { stepId } = await t.submit(clusterId, jar, state)
    await t.waitForStep(clusterId, stepId, ['RUNNING'])
    const standby = `${t.stack.emr.rm.base}/standby/${clusterId}/ws/v1/cluster/apps?states=RUNNING`
    const redirect = await fetch(standby, { redirect: 'manual' })
    expect(redirect.status).toBe(307)
    expect(redirect.headers.get('location')).toBe(
      `${t.stack.emr.rm.base}/${clusterId}/ws/v1/cluster/apps?states=RUNNING`,
    )
    t.stack.emr.setFaults({ rm: 'standby-redirect' })
    const killId = await t.addStep(clusterId, killStep([appTag(t.app())]))
    expect((await t.waitForStep(clusterId, killId, ['COMPLETED', 'FAILED'])).Status?.State).toBe(
      'COMPLETED',
    )
    expect(app(stepId)?.yarnState).toBe('KILLED')
  })

  it('re-attempts a crashed driver as the same application; its step stays RUNNING', async () => {
    const { clusterId, state } = await t.fresh('reattempt')
    const jar = await t.stack.makeJar('v1', 'crash-after-start', {
      upload: true,
      crashAfterMs: 400,
      crashAttempts: 1,
    })
    const { stepId, markerKey } = await t.submit(clusterId, jar, state)
    const events = await t.waitForEvents(
      state,
      (e) => e.filter((x) => x.event === 'driver-start' && x.stepId === stepId).length === 2,
    )
    const starts = events.filter((e) => e.event === 'app-start' && e.stepId === stepId)
    expect(starts.map((e) => [e.appId, e.attempt, e.tags])).toEqual([
      [app(stepId)?.appId, 1, app(stepId)?.tags],
      [app(stepId)?.appId, 2, app(stepId)?.tags],
    ])
    expect(new Set(starts.map((e) => e.pid)).size).toBe(2)
    const second = Date.now()
    await t.waitForEvents(state, (e) => batchEnds(e, second, stepId) >= 2)
    expect(app(stepId)).toMatchObject({ attempt: 2, yarnState: 'RUNNING', alive: true })
    const listed = await rmApps(clusterId, appTag(t.app()))
    expect(String(listed.apps?.app[0]?.diagnostics)).toMatch(/appattempt_\d+_\d+_000001/)

    await t.deleteMarker(markerKey)
    await t.waitForStep(clusterId, stepId, ['COMPLETED', 'FAILED'])
    expect(t.stack.emr.step(stepId)?.history.map((h) => h.state)).toEqual([
      'PENDING',
      'RUNNING',
      'COMPLETED',
    ])
    const inv = await t.stack.checkInvariants({ state })
    expect(inv).toMatchObject({ ok: true, lostOffsets: [], driverOverlaps: [] })
  })

  it('fails the step when the last attempt fails (spark.yarn.maxAppAttempts=1: the first)', async () => {
    const { clusterId, state } = await t.fresh('one-attempt')
    const jar = await t.stack.makeJar('v1', 'crash-after-start', {
      upload: true,
      crashAfterMs: 200,
      crashExitCode: 3,
    })
    const { stepId } = await t.submit(clusterId, jar, state, {
      sparkSubmitArgs: ['--conf', 'spark.yarn.maxAppAttempts=1'],
    })
    await t.waitForStep(clusterId, stepId, ['FAILED'])
    expect(app(stepId)).toMatchObject({
      yarnState: 'FAILED',
      attempts: [{ attempt: 1, exitCode: 3 }],
    })
    expect(app(stepId)?.diagnostics).toMatch(/failed 1 times/)
  })

  it('a kill between two attempts ends the application: no further attempt starts', async () => {
    const { clusterId, state } = await t.fresh('kill-reattempt', { stepConcurrencyLevel: 2 })
    const saved = t.stack.emr.timings.reattemptDelayMs
    t.stack.emr.timings.reattemptDelayMs = 8000
    try {
      const jar = await t.stack.makeJar('v1', 'crash-after-start', {
        upload: true,
        crashAfterMs: 200,
      })
      const { stepId } = await t.submit(clusterId, jar, state, {
        sparkSubmitArgs: ['--conf', 'spark.yarn.maxAppAttempts=3'],
      })
      await t.until(() => app(stepId)?.yarnState === 'ACCEPTED', 15_000, 'the gap between attempts')
      const gapFrom = Date.now()
      const killId = await t.addStep(clusterId, killStep([appTag(t.app())]))
      await t.waitForStep(clusterId, killId, ['COMPLETED', 'FAILED'])
      expect(app(stepId)?.yarnState).toBe('KILLED')
      expect(t.stack.emr.step(stepId)?.state).toBe('FAILED')
      // Well past the moment the next attempt was due: none started.
      await t.until(() => Date.now() > gapFrom + 9000, 15_000, 'the re-attempt delay to pass')
      expect(app(stepId)?.attempts).toHaveLength(1)
      const starts = (await t.stack.readActivity(state)).filter((e) => e.event === 'app-start')
      expect(starts).toHaveLength(1)
    } finally {
      t.stack.emr.timings.reattemptDelayMs = saved
    }
  })

  it('a re-attempt whose marker is gone refuses to start, touching nothing: the step fails', async () => {
    const { clusterId, state } = await t.fresh('reattempt-gone')
    const saved = t.stack.emr.timings.reattemptDelayMs
    t.stack.emr.timings.reattemptDelayMs = 3000
    try {
      const jar = await t.stack.makeJar('v1', 'crash-after-start', {
        upload: true,
        crashAfterMs: 600,
      })
      const { stepId, markerKey } = await t.submit(clusterId, jar, state)
      await t.waitForEvents(state, (e) => e.some((x) => x.event === 'crash'))
      await t.deleteMarker(markerKey)
      const failed = await t.waitForStep(clusterId, stepId, ['COMPLETED', 'FAILED'])
      expect(failed.Status?.State).toBe('FAILED')
      expect(failed.Status?.FailureDetails?.Message).toMatch(/MarkerMissingException/)
      const events = await t.stack.readActivity(state)
      expect(events.filter((e) => e.event === 'refused')).toHaveLength(1)
      expect(events.filter((e) => e.event === 'driver-start')).toHaveLength(1)
      expect(await t.getText(`${markerKey}.stopped`)).toBeUndefined()
      expect(app(stepId)).toMatchObject({ yarnState: 'FAILED', attempt: 2 })
    } finally {
      t.stack.emr.timings.reattemptDelayMs = saved
    }
  })

  it('spark-submit killed on the primary node: the step ends FAILED, the application lives on', async () => {
    const { clusterId, state } = await t.fresh('submit-killed')
    const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
    const { stepId } = await t.submit(clusterId, jar, state)
    await t.waitForStep(clusterId, stepId, ['RUNNING'])
    t.stack.emr.state.killSparkSubmit(stepId)
    const failed = await t.waitForStep(clusterId, stepId, ['FAILED'])
    expect(failed.Status?.FailureDetails?.Message).toMatch(/spark-submit/)
    const after = Date.now()
    await t.waitForEvents(state, (e) => batchEnds(e, after, stepId) >= 2)
    expect(app(stepId)).toMatchObject({ alive: true, yarnState: 'RUNNING' })
  })

  it('with an exit lag, the step stays RUNNING for a while after its application ended', async () => {
    const { clusterId, state } = await t.fresh('exit-lag')
    const saved = t.stack.emr.timings.stepExitLagMs
    t.stack.emr.timings.stepExitLagMs = 1500
    try {
      const jar = await t.stack.makeJar('v1', 'ok', { upload: true })
      const { stepId, markerKey } = await t.submit(clusterId, jar, state)
      await t.waitForEvents(state, (e) => batchEnds(e, 0, stepId) >= 1)
      await t.deleteMarker(markerKey)
      await t.waitForStep(clusterId, stepId, ['COMPLETED'])
      const completed = t.stack.emr.step(stepId)?.history.find((h) => h.state === 'COMPLETED')
      // The emulator's own timer: the step cannot end before the lag is over.
      expect((completed?.t ?? 0) - (app(stepId)?.endedAt ?? Infinity)).toBeGreaterThanOrEqual(1490)
    } finally {
      t.stack.emr.timings.stepExitLagMs = saved
    }
  })

  it("uploads a failed step's stderr and stdout (gzip) to its LogFile, after the upload delay", async () => {
    const { clusterId, state } = await t.fresh('logs')
    const saved = t.stack.emr.timings.logUploadDelayMs
    t.stack.emr.timings.logUploadDelayMs = 3000
    try {
      const jar = await t.stack.makeJar('v1', 'crash-after-start', {
        upload: true,
        crashAfterMs: 200,
      })
      const { stepId } = await t.submit(clusterId, jar, state, {
        sparkSubmitArgs: ['--conf', 'spark.yarn.maxAppAttempts=1'],
      })
      const failed = await t.waitForStep(clusterId, stepId, ['FAILED'])
      const seenAt = Date.now()
      const logFile = failed.Status?.FailureDetails?.LogFile as string
      expect(logFile).toBe(`${t.stack.logUri}${clusterId}/steps/${stepId}/stderr.gz`)
      const early = await readLog(logFile)
      const endedAt = t.stack.emr.step(stepId)?.endedAt ?? 0
      if (seenAt < endedAt + 3000) expect(early).toBeUndefined()
      const stderr = await t.until(() => readLog(logFile), 20_000, `${logFile} in S3`)
      expect(stderr).toContain('simulated crash (crash-after-start)')
      const stdout = await readLog(logFile.replace(/stderr\.gz$/, 'stdout.gz'))
      expect(stdout).toMatch(/INFO StreamingApp: version v1/)
      expect(t.stack.emr.snapshot().stepLogs).toContain(logFile)
    } finally {
      t.stack.emr.timings.logUploadDelayMs = saved
    }
  })

  async function readLog(uri: string): Promise<string | undefined> {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)
    if (!match) throw new Error(`not an s3 URI: ${uri}`)
    try {
      const out = await t.stack.s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }))
      return gunzipSync(Buffer.from((await out.Body?.transformToByteArray()) ?? [])).toString()
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined
      throw error
    }
  }
})
