// Standby needs the new build to honour `mode: standby`, or its driver processes at once beside
// the running one. Checked before anything changes: the jar's central directory names the
// driver library, or spark-submit-args bring it with --jars/--packages.
import { open } from 'node:fs/promises'
import type { ObjectStore } from '../aws/object-store.ts'
import {
  argsBringLibrary,
  centralDirectory,
  directoryHasLibrary,
  LIBRARY_CLASS,
  TAIL_BYTES,
} from '../contract/jar-library.ts'
import { describeError } from '../errors.ts'
import type { Log } from '../log.ts'
import type { Settings } from '../settings/settings.ts'
import type { JarPlan } from './stage.ts'

/** Beyond this a central directory is not read (a jar of millions of entries). */
const MAX_DIRECTORY_BYTES = 64 * 1024 * 1024

/** The refusal, or undefined when the new build carries the library (or cannot be read). */
export async function standbyJarProblem(
  settings: Settings,
  jar: JarPlan,
  store: ObjectStore,
  log: Log,
): Promise<string | undefined> {
  if (settings.strategy !== 'standby' || argsBringLibrary(settings.sparkSubmitArgs))
    return undefined
  const has = await jarHasLibrary(jar, store).catch((error: unknown) => {
    log.warning(
      `Could not read ${jar.uri} to check that it carries the driver library (${describeError(error)}); going on with standby.`,
    )
    return true
  })
  if (has !== false) return undefined
  return (
    `Input 'strategy': standby needs the driver library in the new build, and ${jar.localPath ?? jar.uri} has no ${LIBRARY_CLASS} (nor does 'spark-submit-args' bring emr-rollover-driver with --jars or --packages). ` +
    `A driver without it ignores 'mode: standby' and would process beside the running one, on the same checkpoint. Add the library (README, "The driver library"), or use strategy: stop-start.`
  )
}

/** undefined when the jar's bytes cannot tell (no size, not a zip, a huge directory). */
async function jarHasLibrary(jar: JarPlan, store: ObjectStore): Promise<boolean | undefined> {
  const size = jar.bytes
  if (size === undefined || size === 0) return undefined
  const read = readerOf(jar, store)
  if (!read) return undefined
  const tailLength = Math.min(size, TAIL_BYTES)
  const tail = await read(size - tailLength, tailLength)
  const where = centralDirectory(tail, size)
  if (!where || where.length > MAX_DIRECTORY_BYTES) return undefined
  const tailStart = size - tailLength
  const directory =
    where.offset >= tailStart
      ? tail.subarray(where.offset - tailStart, where.offset - tailStart + where.length)
      : await read(where.offset, where.length)
  return directoryHasLibrary(directory)
}

function readerOf(
  jar: JarPlan,
  store: ObjectStore,
): ((offset: number, length: number) => Promise<Uint8Array>) | undefined {
  const path = jar.localPath
  if (path) {
    return async (offset, length) => {
      const file = await open(path, 'r')
      try {
        const buffer = Buffer.alloc(length)
        const { bytesRead } = await file.read(buffer, 0, length, offset)
        return buffer.subarray(0, bytesRead)
      } finally {
        await file.close()
      }
    }
  }
  const getBytes = store.getBytes?.bind(store)
  if (!getBytes) return undefined
  return async (offset, length) => {
    const got = await getBytes(jar.location, { offset, maxBytes: length })
    if (!got) throw new Error(`${jar.uri} does not exist`)
    return got.bytes
  }
}
