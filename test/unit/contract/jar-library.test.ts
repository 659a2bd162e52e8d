import { describe, expect, it } from 'vitest'
import {
  argsBringLibrary,
  centralDirectory,
  directoryHasLibrary,
  TAIL_BYTES,
} from '../../../src/contract/jar-library.ts'
import { jarBytes } from '../../support/jars.ts'

function directoryOf(jar: Buffer): Buffer | undefined {
  const tail = jar.subarray(Math.max(0, jar.length - TAIL_BYTES))
  const where = centralDirectory(tail, jar.length)
  return where && jar.subarray(where.offset, where.offset + where.length)
}

describe('the driver library in a jar', () => {
  it('is found in the central directory, and not where it is missing', () => {
    expect(directoryHasLibrary(directoryOf(jarBytes()) as Buffer)).toBe(true)
    expect(directoryHasLibrary(directoryOf(jarBytes({ library: false })) as Buffer)).toBe(false)
  })

  it('finds a directory that starts before the last bytes read (a jar of thousands of classes)', () => {
    const jar = jarBytes({ entries: 3_000 })
    const tail = jar.subarray(jar.length - TAIL_BYTES)
    const where = centralDirectory(tail, jar.length)
    expect(where?.offset).toBeLessThan(jar.length - TAIL_BYTES)
    expect(
      directoryHasLibrary(jar.subarray(where?.offset, (where?.offset ?? 0) + (where?.length ?? 0))),
    ).toBe(true)
  })

  it('reads a zip64 end record (over 65,535 entries, as assembly jars have)', () => {
    const directory = Buffer.from('....io/github/emrrollover/driver/Rollover.class....')
    const zip64End = Buffer.alloc(56)
    zip64End.writeUInt32LE(0x06064b50, 0)
    zip64End.writeBigUInt64LE(BigInt(directory.length), 40)
    zip64End.writeBigUInt64LE(100n, 48) // the directory's offset in the file
    const locator = Buffer.alloc(20)
    locator.writeUInt32LE(0x07064b50, 0)
    locator.writeBigUInt64LE(BigInt(100 + directory.length), 8)
    const end = Buffer.alloc(22)
    end.writeUInt32LE(0x06054b50, 0)
    end.writeUInt32LE(0xffffffff, 12)
    end.writeUInt32LE(0xffffffff, 16)
    const file = Buffer.concat([Buffer.alloc(100), directory, zip64End, locator, end])
    expect(centralDirectory(file, file.length)).toEqual({ offset: 100, length: directory.length })
  })

  it('says nothing for bytes that are not a zip', () => {
    expect(
      centralDirectory(Buffer.from('not a jar at all, no end record here'), 36),
    ).toBeUndefined()
  })

  it('is also brought by --jars, --packages or spark.jars naming emr-rollover-driver', () => {
    const jar = 's3://b/libs/emr-rollover-driver_2.12-1.0.0.jar'
    expect(argsBringLibrary(['--jars', jar])).toBe(true)
    expect(argsBringLibrary([`--jars=${jar}`])).toBe(true)
    expect(
      argsBringLibrary(['--packages', 'io.github.emrrollover:emr-rollover-driver_2.12:1.0.0']),
    ).toBe(true)
    expect(argsBringLibrary(['--conf', `spark.jars=${jar}`])).toBe(true)
    expect(argsBringLibrary(['--conf', `spark.app.name=emr-rollover-driver`])).toBe(false)
    expect(argsBringLibrary(['--name', 'emr-rollover-driver'])).toBe(false)
  })
})
