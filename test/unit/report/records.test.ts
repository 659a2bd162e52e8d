import { describe, expect, it } from 'vitest'
import { AppLayout } from '../../../src/contract/layout.ts'
import { deploymentRecord, writeDeploymentRecord } from '../../../src/report/records.ts'
import { MemoryStore } from '../../support/memory-store.ts'
import { deployedContiguous, rolledBackGap } from '../../visual/samples.ts'

const GITHUB = { repository: 'acme/streaming', runId: '4242' }

describe('deploymentRecord', () => {
  it('records the handoff verdict with each source and its offsets on both sides', () => {
    const record = deploymentRecord(rolledBackGap(), GITHUB)
    expect(record.handoff).toEqual({
      verdict: 'gap',
      reason: undefined,
      sources: [
        {
          description: 'KafkaV2[Subscribe[clicks]]',
          verdict: 'gap',
          oldEnd: { clicks: { '0': 1_204_331, '1': 1_198_870 } },
          newStart: { clicks: { '0': 1_204_331, '1': 1_199_870 } },
          detail:
            'clicks[1]: 1000 offsets skipped (old end 1198870, new start 1199870); 1 contiguous',
        },
      ],
    })
  })

  it('records how each launch was verified, why it failed, the versions and the downtime', () => {
    const record = deploymentRecord(rolledBackGap(), GITHUB)
    const launch = record.launch as Record<string, unknown>
    expect(launch.readiness).toMatchObject({ method: 'progress', batches: 1 })
    expect(launch.failureDetails).toEqual({
      reason: 'Unknown Error.',
      message: undefined,
      logFile: expect.stringMatching(/steps\/s-NEWSTEP0001\/stderr\.gz$/),
      stderrNote: expect.stringContaining('containers/application_1764590000000_0042/'),
    })
    expect(record.downtime).toEqual({ seconds: 25, measuredBy: 'drivers' })
    expect(record.before).toMatchObject({ stepId: 's-OLDSTEP0001' })
    expect(record.handoffTimes).toMatchObject({ oldLastBatchAt: '2026-12-01T12:00:05.200Z' })
  })

  it('writes offsets beyond 2^53 exactly', async () => {
    const store = new MemoryStore()
    const layout = new AppLayout({ bucket: 'b', key: 'rollover' }, 'clickstream')
    const report = deployedContiguous()
    report.handoff = {
      verdict: 'contiguous',
      sources: [
        {
          description: 'k',
          verdict: 'contiguous',
          oldEnd: { t: { '0': 9007199254740993n } },
          newStart: { t: { '0': 9007199254740993n } },
        },
      ],
    }
    await writeDeploymentRecord(store, layout, report, GITHUB)
    const body = store.text(`s3://b/rollover/clickstream/deployments/${report.deploymentId}.json`)
    expect(body).toContain('"0": "9007199254740993"')
  })
})
