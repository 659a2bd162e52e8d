// Step logs as EMR archives them: `<LogUri>/<cluster-id>/steps/<step-id>/stderr.gz` (and
// stdout.gz), gzip, uploaded to S3 a while after the step ended (EMR: minutes; here
// `timings.logUploadDelayMs`). The emulator writes them for failed steps, to moto.
import { gzipSync } from 'node:zlib'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'

/** `<LogUri>/<cluster>/steps/<step>/<file>`, LogUri with or without its trailing slash. */
export function stepLogUri(
  logUri: string,
  clusterId: string,
  stepId: string,
  file: string,
): string {
  return `${logUri.replace(/\/+$/, '')}/${clusterId}/steps/${stepId}/${file}`
}

export class StepLogs {
  /** Uploads in flight, so that close() can wait for them. */
  private readonly pending = new Set<Promise<void>>()
  private readonly s3?: S3Client
  /** Failed uploads, for a test to see (the emulator must not throw into a timer). */
  readonly errors: string[] = []
  readonly uploaded: string[] = []

  constructor(s3Endpoint: string | undefined, region: string) {
    if (s3Endpoint) {
      this.s3 = new S3Client({
        endpoint: s3Endpoint,
        region,
        forcePathStyle: true,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      })
    }
  }

  /** Uploads stderr.gz and stdout.gz of a step to its LogUri (no LogUri, no S3: nothing). */
  upload(logUri: string | undefined, clusterId: string, stepId: string, lines: string[]): void {
    if (!logUri || !this.s3) return
    const s3 = this.s3
    const stream = (name: 'stdout' | 'stderr') =>
      lines
        .filter((l) => l.startsWith(`[${name}] `))
        .map((l) => l.slice(name.length + 3))
        .join('\n') + '\n'
    const put = async (file: string, text: string): Promise<void> => {
      const uri = stepLogUri(logUri, clusterId, stepId, file)
      const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)
      if (!match) return void this.errors.push(`not an s3:// LogUri: ${uri}`)
      try {
        await s3.send(
          new PutObjectCommand({
            Bucket: match[1],
            Key: match[2],
            Body: gzipSync(text),
            ContentType: 'application/octet-stream',
          }),
        )
        this.uploaded.push(uri)
      } catch (error) {
        this.errors.push(`${uri}: ${(error as Error).message}`)
      }
    }
    const job = Promise.all([
      put('stderr.gz', stream('stderr')),
      put('stdout.gz', stream('stdout')),
    ]).then(() => undefined)
    this.pending.add(job)
    void job.finally(() => this.pending.delete(job))
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pending])
    this.s3?.destroy()
  }
}
