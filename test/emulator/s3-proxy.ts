// An HTTP proxy in front of moto for the action's S3 traffic only (the stack points the action's
// AWS_ENDPOINT_URL_S3 at it; the drivers and the tests talk to moto directly). Rules fail
// (HTTP 500/503 with S3's XML error), hang, or drop the response of requests matching a method
// and a key pattern: `drop-response` lets S3 apply the request and then resets the connection,
// the "response lost" case. A hung request is released (forwarded late) when its rule expires,
// and destroyed when the rule is cleared or the proxy closes, so no hang outlives its test.
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'

export type S3FaultKind = 'error' | 'hang' | 'drop-response'

export interface S3FaultRule {
  /** HTTP method to match (GET, PUT, HEAD, DELETE, POST); any when absent. */
  readonly method?: string
  /** Matches the object key (path-style: what follows /<bucket>/), or the bucket when empty. */
  readonly key?: RegExp | string
  readonly fault: S3FaultKind
  /** `error`: 500 (InternalError) or 503 (SlowDown). Default 503. */
  readonly status?: 500 | 503
  /** The rule applies this long after it was added (a hang ends then); default until cleared. */
  readonly forMs?: number
  /** The rule applies to this many requests at most. */
  readonly count?: number
}

export interface S3RequestRecord {
  readonly t: number
  readonly method: string
  readonly bucket: string
  readonly key: string
  /** The fault applied, if any. */
  readonly fault?: S3FaultKind
  /** The status S3 (or the proxy) answered; undefined when no answer reached the client. */
  status?: number
}

interface ActiveRule {
  readonly id: number
  readonly rule: S3FaultRule
  readonly until: number
  matched: number
  readonly held: Set<() => void>
  readonly destroy: Set<() => void>
  timer?: NodeJS.Timeout
}

export class S3FaultProxy {
  /** Every request the action made, in order. */
  readonly requests: S3RequestRecord[] = []
  private readonly server: Server
  private readonly target: URL
  private rules: ActiveRule[] = []
  private seq = 0

  private constructor(target: string) {
    this.target = new URL(target)
    this.server = createServer((req, res) => this.handle(req, res))
  }

  static async start(target: string): Promise<S3FaultProxy> {
    const proxy = new S3FaultProxy(target)
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject)
      proxy.server.listen(0, '127.0.0.1', resolve)
    })
    return proxy
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  /** Adds a rule; returns a function that removes it (destroying what it holds). */
  add(rule: S3FaultRule): () => void {
    this.seq += 1
    const active: ActiveRule = {
      id: this.seq,
      rule,
      until: rule.forMs === undefined ? Infinity : Date.now() + rule.forMs,
      matched: 0,
      held: new Set(),
      destroy: new Set(),
    }
    this.rules.push(active)
    if (rule.forMs !== undefined) {
      active.timer = setTimeout(() => {
        // Expired: hung requests go on to S3, late.
        for (const release of [...active.held]) release()
        this.rules = this.rules.filter((r) => r !== active)
      }, rule.forMs)
      active.timer.unref()
    }
    return () => this.remove(active)
  }

  /** Removes every rule; requests still hung are destroyed (the client sees a reset). */
  clear(): void {
    for (const rule of [...this.rules]) this.remove(rule)
  }

  requestsMatching(method: string, key: RegExp): S3RequestRecord[] {
    return this.requests.filter((r) => r.method === method && key.test(r.key))
  }

  async close(): Promise<void> {
    this.clear()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private remove(active: ActiveRule): void {
    if (active.timer) clearTimeout(active.timer)
    for (const destroy of [...active.destroy]) destroy()
    this.rules = this.rules.filter((r) => r !== active)
  }

  private match(method: string, key: string): ActiveRule | undefined {
    const now = Date.now()
    return this.rules.find((r) => {
      if (now >= r.until) return false
      if (r.rule.count !== undefined && r.matched >= r.rule.count) return false
      if (r.rule.method && r.rule.method.toUpperCase() !== method) return false
      const pattern = r.rule.key
      if (pattern === undefined) return true
      return typeof pattern === 'string' ? key.includes(pattern) : pattern.test(key)
    })
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://proxy')
    const [bucket = '', ...rest] = url.pathname.split('/').slice(1)
    const key = decodeURIComponent(rest.join('/'))
    const method = req.method ?? 'GET'
    const rule = this.match(method, key)
    if (rule) rule.matched += 1
    const record: S3RequestRecord = {
      t: Date.now(),
      method,
      bucket,
      key,
      ...(rule ? { fault: rule.rule.fault } : {}),
    }
    this.requests.push(record)
    const kind = rule?.rule.fault
    if (kind === 'error') {
      // Read the body first: the client expects its upload to be consumed.
      req.resume()
      req.once('end', () => {
        const status = rule?.rule.status ?? 503
        record.status = status
        const code = status === 500 ? 'InternalError' : 'SlowDown'
        res.writeHead(status, { 'content-type': 'application/xml' })
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by the test stack</Message><Key>${escapeXml(key)}</Key></Error>`,
        )
      })
      return
    }
    if (kind === 'hang' && rule) {
      req.pause()
      const destroy = () => {
        rule.held.delete(release)
        rule.destroy.delete(destroy)
        req.socket.destroy()
      }
      const release = () => {
        rule.held.delete(release)
        rule.destroy.delete(destroy)
        if (!req.socket.destroyed) this.forward(req, res, record, false)
      }
      rule.held.add(release)
      rule.destroy.add(destroy)
      req.socket.once('close', () => {
        rule.held.delete(release)
        rule.destroy.delete(destroy)
      })
      return
    }
    this.forward(req, res, record, kind === 'drop-response')
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    record: S3RequestRecord,
    dropResponse: boolean,
  ): void {
    const headers = { ...req.headers }
    // Node answered any 100-continue itself; moto gets a plain request.
    delete headers.expect
    const upstream = httpRequest(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (answer) => {
        if (dropResponse) {
          // S3 applied it; the client never learns: read it all, then reset the connection.
          answer.resume()
          answer.once('end', () => req.socket.destroy())
          return
        }
        record.status = answer.statusCode
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.once('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
      res.end(`proxy: ${error.message}`)
    })
    req.pipe(upstream)
    req.resume()
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`)
}
