// Does a jar carry the driver library? Standby depends on it: a driver without the library
// ignores `mode: standby` and processes at once, beside the running one, on the same
// checkpoint. The answer is in the jar's zip central directory, at its end, so reading it takes
// two ranged reads of a jar in S3, not the whole jar. Pure: bytes in, answers out.

/** The library's entry point, also found when a build relocates (shades) its package. */
export const LIBRARY_CLASS = 'emrrollover/driver/Rollover.class'
/** A `--jars`/`--packages` value that brings the library instead of the application jar. */
export const LIBRARY_ARTIFACT = 'emr-rollover-driver'

/** How much of the end to read first: the end record, a zip64 locator, the longest comment. */
export const TAIL_BYTES = 22 + 20 + 56 + 0xffff

const END = 0x06054b50
const ZIP64_LOCATOR = 0x07064b50
const ZIP64_END = 0x06064b50

export interface Range {
  readonly offset: number
  readonly length: number
}

/**
 * Where the central directory is, from the jar's last bytes (`tail`, which ends the file of
 * `size` bytes); undefined when they hold no zip end record.
 */
export function centralDirectory(tail: Uint8Array, size: number): Range | undefined {
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength)
  const tailStart = size - tail.byteLength
  for (let at = tail.byteLength - 22; at >= 0; at--) {
    if (view.getUint32(at, true) !== END) continue
    const length = view.getUint32(at + 12, true)
    const offset = view.getUint32(at + 16, true)
    if (length !== 0xffffffff && offset !== 0xffffffff) return { offset, length }
    // Zip64 (over 65,535 entries or 4 GiB, as many assembly jars are): the locator just before.
    const locator = at - 20
    if (locator < 0 || view.getUint32(locator, true) !== ZIP64_LOCATOR) return undefined
    const record = Number(view.getBigUint64(locator + 8, true)) - tailStart
    if (record < 0 || record + 56 > tail.byteLength) return undefined
    if (view.getUint32(record, true) !== ZIP64_END) return undefined
    return {
      length: Number(view.getBigUint64(record + 40, true)),
      offset: Number(view.getBigUint64(record + 48, true)),
    }
  }
  return undefined
}

/** Whether a central directory names the library's class (relocated or not). */
export function directoryHasLibrary(directory: Uint8Array): boolean {
  return Buffer.from(directory.buffer, directory.byteOffset, directory.byteLength).includes(
    LIBRARY_CLASS,
  )
}

/** spark-submit arguments that add the library beside the application jar. */
export function argsBringLibrary(sparkSubmitArgs: readonly string[]): boolean {
  const listsOf = ['--jars', '--packages']
  const confs = ['spark.jars=', 'spark.jars.packages=']
  return sparkSubmitArgs.some((arg, i) => {
    if (!arg.includes(LIBRARY_ARTIFACT)) return false
    const before = sparkSubmitArgs[i - 1]
    if (before !== undefined && listsOf.includes(before)) return true
    if (listsOf.some((o) => arg.startsWith(`${o}=`))) return true
    return before === '--conf' && confs.some((c) => arg.startsWith(c))
  })
}
