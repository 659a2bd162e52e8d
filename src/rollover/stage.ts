// Preflight check and staging of the jar. Staging happens before anything is stopped, so the
// upload never adds downtime; content addressing makes a re-run skip it.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { formatDuration } from '../clock.ts'
import type { ObjectStore } from '../aws/object-store.ts'
import { child, s3Uri, type S3Location } from '../aws/s3-location.ts'
import type { Clock } from '../clock.ts'
import { UserError } from '../errors.ts'
import type { Log } from '../log.ts'
import type { Settings } from '../settings/settings.ts'

export interface JarPlan {
  readonly uri: string
  readonly location: S3Location
  /** Set for a local jar that must be uploaded to `location` unless already there. */
  readonly localPath?: string
  readonly sha256?: string
  readonly bytes?: number
  /** True when the object is already in S3 (an s3:// jar, or a local jar staged before). */
  readonly present: boolean
}

const ZIP_MAGIC = [Buffer.from('PK\x03\x04', 'latin1'), Buffer.from('PK\x05\x06', 'latin1')]

export async function planJar(settings: Settings, store: ObjectStore): Promise<JarPlan> {
  if (settings.jar.kind === 's3') {
    const location = settings.jar.location
    const head = await store.head(location)
    if (!head) {
      throw new UserError(
        `Input 'jar': ${s3Uri(location)} does not exist (or the role cannot read it). Upload the jar first, or give a local path to have the action upload it.`,
      )
    }
    return { uri: s3Uri(location), location, bytes: head.size, present: true }
  }
  const path = settings.jar.path
  const info = await stat(path).catch(() => undefined)
  if (!info?.isFile()) {
    throw new UserError(
      `Input 'jar': local file '${path}' does not exist. Build the jar before this step, or give an s3:// URI.`,
    )
  }
  if (!(await hasZipMagic(path))) {
    throw new UserError(
      `Input 'jar': '${path}' is not a jar (no zip header). Point 'jar' at the assembled application jar.`,
    )
  }
  const sha256 = await sha256File(path)
  const location = child(settings.artifactPrefix, settings.appName, `${sha256}.jar`)
  const present = (await store.head(location))?.size === info.size
  return { uri: s3Uri(location), location, localPath: path, sha256, bytes: info.size, present }
}

export async function stageJar(
  plan: JarPlan,
  store: ObjectStore,
  log: Log,
  clock: Clock,
): Promise<{ readonly uploaded: boolean }> {
  if (plan.present || !plan.localPath) {
    log.info(`Jar ${plan.uri} is already in S3; nothing to upload.`)
    return { uploaded: false }
  }
  const started = clock.now()
  let lastReport = started
  let lastPercent = -1
  await store.uploadFile(plan.location, plan.localPath, ({ loaded, total }) => {
    const percent = total > 0 ? Math.floor((loaded / total) * 100) : 0
    const now = clock.now()
    if (percent === 100 || (percent >= lastPercent + 10 && now - lastReport >= 2000)) {
      log.info(`Uploading ${plan.localPath}: ${percent}% of ${formatBytes(total)}`)
      lastReport = now
      lastPercent = percent
    }
  })
  const elapsed = clock.now() - started
  log.info(`Uploaded ${formatBytes(plan.bytes ?? 0)} to ${plan.uri} in ${formatDuration(elapsed)}.`)
  return { uploaded: true }
}

async function hasZipMagic(path: string): Promise<boolean> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(4)
    const { bytesRead } = await handle.read(buffer, 0, 4, 0)
    return bytesRead === 4 && ZIP_MAGIC.some((magic) => magic.equals(buffer))
  } finally {
    await handle.close()
  }
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')))
  })
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
