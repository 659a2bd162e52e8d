// A recording proxy in front of the EMR emulator: every EMR call a tool makes, when it was
// received and answered, and what it answered. The benches measure from outside the tools.
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface EmrCall {
  readonly op: string
  readonly clusterId?: string
  readonly stepId?: string
  /** Received from the client / answered by the emulator. */
  readonly receivedAt: number
  readonly answeredAt: number
  readonly status: number
  /** DescribeStep: the state answered. */
  readonly state?: string
  /** AddJobFlowSteps: the step ids answered. */
  readonly stepIds?: readonly string[]
}

/** Forwards every EMR call to the emulator and records when it came and what it answered. */
export class EmrRecorder {
  readonly calls: EmrCall[] = []
  private readonly server: Server
  private readonly upstream: URL

  private constructor(upstream: URL) {
    this.upstream = upstream
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const receivedAt = Date.now()
        const body = Buffer.concat(chunks)
        const headers: IncomingHttpHeaders = { ...req.headers, host: this.upstream.host }
        const forward = request(
          {
            host: this.upstream.hostname,
            port: this.upstream.port,
            method: req.method,
            path: req.url,
            headers,
          },
          (up) => {
            const out: Buffer[] = []
            up.on('data', (c: Buffer) => out.push(c))
            up.on('end', () => {
              const answer = Buffer.concat(out)
              this.record(req.headers, body, up.statusCode ?? 0, answer, receivedAt)
              res.writeHead(up.statusCode ?? 502, up.headers)
              res.end(answer)
            })
          },
        )
        forward.on('error', (error) => {
          res.writeHead(502, { 'content-type': 'text/plain' })
          res.end(String(error))
        })
        forward.end(body)
      })
    })
  }

  static async start(upstream: string): Promise<EmrRecorder> {
    const recorder = new EmrRecorder(new URL(upstream))
    await new Promise<void>((resolve) => recorder.server.listen(0, '127.0.0.1', resolve))
    return recorder
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  private record(
    headers: IncomingHttpHeaders,
    body: Buffer,
    status: number,
    answer: Buffer,
    receivedAt: number,
  ): void {
    const target = String(headers['x-amz-target'] ?? '')
    if (!target.startsWith('ElasticMapReduce.')) return
    const parse = (b: Buffer): Record<string, unknown> => {
      try {
        return JSON.parse(b.toString('utf8')) as Record<string, unknown>
      } catch {
        return {}
      }
    }
    const input = parse(body)
    const output = parse(answer) as {
      Step?: { Status?: { State?: string } }
      StepIds?: string[]
    }
    this.calls.push({
      op: target.slice('ElasticMapReduce.'.length),
      clusterId: (input.ClusterId ?? input.JobFlowId) as string | undefined,
      stepId: input.StepId as string | undefined,
      receivedAt,
      answeredAt: Date.now(),
      status,
      state: output.Step?.Status?.State,
      stepIds: output.StepIds,
    })
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
