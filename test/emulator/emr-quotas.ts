// EMR's default API quotas, per account and region, as AWS documents them (token buckets: a
// burst, refilled at a rate). One emulator is one account. A call takes a token from its
// operation's bucket and from the bucket all EMR calls share; it is throttled when either is
// empty, and then takes neither.

export interface Quota {
  readonly burst: number
  readonly perSecond: number
}

const STEP_API: Quota = { burst: 10, perSecond: 0.5 }

/** Operation quotas; an operation not named here has only the account-wide one. */
export const EMR_QUOTAS: Readonly<Record<string, Quota>> = {
  DescribeCluster: { burst: 10, perSecond: 1 },
  ListClusters: { burst: 20, perSecond: 0.5 },
  DescribeStep: STEP_API,
  ListSteps: STEP_API,
  AddJobFlowSteps: STEP_API,
  CancelSteps: STEP_API,
}

/** All EMR calls of the account together. */
export const EMR_ACCOUNT_QUOTA: Quota = { burst: 25, perSecond: 5 }

class TokenBucket {
  private tokens: number
  private last: number
  private readonly quota: Quota
  private readonly now: () => number

  constructor(quota: Quota, now: () => number) {
    this.quota = quota
    this.now = now
    this.tokens = quota.burst
    this.last = now()
  }

  available(): boolean {
    const now = this.now()
    this.tokens = Math.min(
      this.quota.burst,
      this.tokens + ((now - this.last) / 1000) * this.quota.perSecond,
    )
    this.last = now
    return this.tokens >= 1
  }

  take(): void {
    this.tokens -= 1
  }
}

export class EmrRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>()
  private readonly now: () => number

  constructor(now: () => number = Date.now) {
    this.now = now
  }

  /** Takes a token for `op` if its bucket and the account's both have one; false: throttled. */
  take(op: string): boolean {
    const account = this.bucket('*', EMR_ACCOUNT_QUOTA)
    const quota = EMR_QUOTAS[op]
    const own = quota ? this.bucket(op, quota) : undefined
    const ok = account.available() && (own?.available() ?? true)
    if (!ok) return false
    account.take()
    own?.take()
    return true
  }

  private bucket(key: string, quota: Quota): TokenBucket {
    let bucket = this.buckets.get(key)
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(quota, this.now)))
    return bucket
  }
}
