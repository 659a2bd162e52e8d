// EMR's default quotas as the emulator enforces them (realRateLimits): the token buckets on a
// fake clock (exact), and on the wire with the real SDK (ThrottlingException, "Rate exceeded",
// HTTP 400, counted per operation in /__state).
import {
  DescribeClusterCommand,
  DescribeStepCommand,
  ListClustersCommand,
  ListStepsCommand,
} from '@aws-sdk/client-emr'
import { describe, expect, it } from 'vitest'
import { EMR_ACCOUNT_QUOTA, EMR_QUOTAS, EmrRateLimiter } from '../emulator/emr-quotas.ts'
import { describeEmulator } from './emulator-support.ts'

describe('EmrRateLimiter (fake clock)', () => {
  const limiter = () => {
    let now = 0
    const l = new EmrRateLimiter(() => now)
    return { l, advance: (ms: number) => (now += ms) }
  }
  const takes = (l: EmrRateLimiter, op: string, n: number) =>
    Array.from({ length: n }, () => l.take(op)).filter(Boolean).length

  it('documents the defaults: step APIs 10 / 0.5, DescribeCluster 10 / 1, ListClusters 20 / 0.5, all 25 / 5', () => {
    for (const op of ['DescribeStep', 'ListSteps', 'AddJobFlowSteps', 'CancelSteps']) {
      expect(EMR_QUOTAS[op]).toEqual({ burst: 10, perSecond: 0.5 })
    }
    expect(EMR_QUOTAS.DescribeCluster).toEqual({ burst: 10, perSecond: 1 })
    expect(EMR_QUOTAS.ListClusters).toEqual({ burst: 20, perSecond: 0.5 })
    expect(EMR_ACCOUNT_QUOTA).toEqual({ burst: 25, perSecond: 5 })
  })

  it('a step API bursts 10 and refills one call every 2 s', () => {
    const { l, advance } = limiter()
    expect(takes(l, 'DescribeStep', 12)).toBe(10)
    advance(1999)
    expect(l.take('DescribeStep')).toBe(false)
    advance(1)
    expect(l.take('DescribeStep')).toBe(true)
    expect(l.take('DescribeStep')).toBe(false)
    // Each operation has its own bucket.
    expect(takes(l, 'ListSteps', 10)).toBe(10)
  })

  it('ListClusters bursts 20; DescribeCluster refills 1 per second', () => {
    expect(takes(limiter().l, 'ListClusters', 21)).toBe(20)
    const { l, advance } = limiter()
    expect(takes(l, 'DescribeCluster', 11)).toBe(10)
    advance(999)
    expect(l.take('DescribeCluster')).toBe(false)
    advance(1)
    expect(takes(l, 'DescribeCluster', 3)).toBe(1)
  })

  it('all calls together burst 25 and refill 5 per second; a refused call takes no token', () => {
    const { l, advance } = limiter()
    expect(takes(l, 'DescribeStep', 10) + takes(l, 'ListSteps', 10)).toBe(20)
    expect(takes(l, 'DescribeCluster', 10)).toBe(5)
    expect(l.take('ModifyCluster')).toBe(false)
    advance(200)
    // One account token: DescribeStep's own bucket is empty, so ModifyCluster gets it.
    expect(l.take('DescribeStep')).toBe(false)
    expect(l.take('ModifyCluster')).toBe(true)
  })
})

describeEmulator('EMR emulator: default quotas on the wire', (t) => {
  it('throttles past the burst with ThrottlingException "Rate exceeded" (400), counted per operation', async () => {
    const noRetry = t.client(1)
    try {
      t.stack.emr.resetCounts()
      t.stack.emr.setFaults({ realRateLimits: true })
      const started = Date.now()
      const results = await Promise.allSettled(
        Array.from({ length: 14 }, () =>
          noRetry.send(new ListStepsCommand({ ClusterId: t.stack.clusterId })),
        ),
      )
      const elapsedS = (Date.now() - started) / 1000
      const refused = results.filter((r) => r.status === 'rejected')
      // The burst, plus what the bucket refilled while the calls were answered.
      expect(14 - refused.length).toBeGreaterThanOrEqual(10)
      expect(14 - refused.length).toBeLessThanOrEqual(10 + Math.ceil(elapsedS * 0.5))
      expect(refused.length).toBeGreaterThan(0)
      for (const r of refused) {
        expect((r as PromiseRejectedResult).reason).toMatchObject({
          name: 'ThrottlingException',
          message: 'Rate exceeded',
          $metadata: { httpStatusCode: 400 },
        })
      }
      const snapshot = (await (await fetch(`${t.stack.emrEndpoint}/__state`)).json()) as {
        counts: Record<string, number>
        throttled: Record<string, number>
        rateLimited: Record<string, number>
      }
      expect(snapshot.counts.ListSteps).toBe(14)
      expect(snapshot.rateLimited).toEqual({ ListSteps: refused.length })
      expect(snapshot.throttled).toEqual({ ListSteps: refused.length })

      // The bucket refills: a call goes through again once a token is back.
      await t.until(
        async () =>
          noRetry.send(new ListStepsCommand({ ClusterId: t.stack.clusterId })).then(
            () => true,
            () => false,
          ),
        15_000,
        'a ListSteps token to come back',
      )
    } finally {
      t.stack.emr.setFaults({ realRateLimits: false })
      noRetry.destroy()
    }
  })

  it('all EMR calls of the account share a burst of 25', async () => {
    const noRetry = t.client(1)
    try {
      t.stack.emr.resetCounts()
      t.stack.emr.setFaults({ realRateLimits: true })
      const id = t.stack.clusterId
      const calls = [
        ...Array.from(
          { length: 10 },
          () => () => noRetry.send(new ListStepsCommand({ ClusterId: id })),
        ),
        ...Array.from(
          { length: 10 },
          () => () =>
            noRetry
              .send(new DescribeStepCommand({ ClusterId: id, StepId: 's-NONE' }))
              .catch((e: unknown) => {
                // An unknown step is an answer, not a throttle: it still took a token.
                if ((e as { name?: string }).name === 'InvalidRequestException') return
                throw e
              }),
        ),
        ...Array.from(
          { length: 10 },
          () => () => noRetry.send(new DescribeClusterCommand({ ClusterId: id })),
        ),
        ...Array.from({ length: 5 }, () => () => noRetry.send(new ListClustersCommand({}))),
      ]
      const started = Date.now()
      const results = await Promise.allSettled(calls.map((c) => c()))
      const elapsedS = (Date.now() - started) / 1000
      const answered = results.filter((r) => r.status === 'fulfilled').length
      expect(answered).toBeGreaterThanOrEqual(25)
      expect(answered).toBeLessThanOrEqual(25 + Math.ceil(elapsedS * 5))
      const limited = t.stack.emr.snapshot().rateLimited
      expect(Object.values(limited).reduce((a, b) => a + b, 0)).toBe(35 - answered)
    } finally {
      t.stack.emr.setFaults({ realRateLimits: false })
      noRetry.destroy()
    }
  })
})
