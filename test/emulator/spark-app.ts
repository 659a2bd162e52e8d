// The real-Spark mode's sample application (test/spark-app/): built by Maven with the driver
// library of this checkout shaded in, once per change of its sources (a hash stamp in target/),
// and stamped per version: `stampJar('v2')` is the same build with only the version entry
// changed, so v1 and v2 run the same code and differ in what they write into each row.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import AdmZip from 'adm-zip'
import { withLockDir } from '../support/lock-dir.ts'
import { REPO_ROOT } from './node-bin.ts'

export const SAMPLE_MAIN_CLASS = 'io.github.emrrollover.sample.RateToJsonApp'
/** The jar entry the sample app reads its version from. */
export const VERSION_ENTRY = 'rollover-sample-version.txt'

const BUILD = join(REPO_ROOT, 'test', 'spark-app')
const TARGET = join(BUILD, 'app', 'target')
const JAR = join(TARGET, 'rollover-sample-app.jar')
const S3A_CLASSPATH = join(TARGET, 's3a-classpath.txt')
const STAMP = join(TARGET, 'source-hash.txt')
const INPUTS = [
  'test/spark-app/pom.xml',
  'test/spark-app/app/pom.xml',
  'test/spark-app/app/src',
  'driver/pom.xml',
  'driver/src/main',
]

export interface SampleApp {
  /** The built jar (version `dev`). */
  readonly jar: string
  /** hadoop-aws and aws-java-sdk-bundle in ~/.m2, `:`-separated. */
  readonly s3aClasspath: string
}

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path]
  return readdirSync(path)
    .sort()
    .flatMap((name) => files(join(path, name)))
}

function sourceHash(): string {
  const hash = createHash('sha256')
  for (const input of INPUTS) {
    for (const file of files(join(REPO_ROOT, input))) {
      hash.update(relative(REPO_ROOT, file)).update('\0').update(readFileSync(file)).update('\0')
    }
  }
  return hash.digest('hex')
}

function built(): SampleApp | undefined {
  try {
    if (readFileSync(STAMP, 'utf8').trim() !== sourceHash()) return undefined
    statSync(JAR)
    return { jar: JAR, s3aClasspath: readFileSync(S3A_CLASSPATH, 'utf8').trim() }
  } catch {
    return undefined
  }
}

/** The sample app, built by Maven when its sources (or the library's) changed since the last build. */
export async function buildSampleApp(log: (line: string) => void): Promise<SampleApp> {
  const ready = built()
  if (ready) return ready
  return withLockDir(join(BUILD, 'app', 'target.lock'), 10 * 60_000, async () => {
    const again = built()
    if (again) return again
    const hash = sourceHash()
    log('real Spark: building the sample app and the driver library with Maven (test/spark-app)')
    // -Dmaven.test.skip: the library's own tests are `mvn -f driver verify`'s job.
    const args = ['-B', '-q', '-f', BUILD, 'package', '-Dmaven.test.skip=true']
    const output = await new Promise<string | undefined>((resolve) => {
      execFile('mvn', args, { cwd: REPO_ROOT, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
        resolve(error ? `${stdout}${stderr}${error.message}` : undefined),
      )
    })
    if (output !== undefined) {
      throw new Error(
        `mvn ${args.join(' ')} failed:\n${output.trim().split('\n').slice(-30).join('\n')}`,
      )
    }
    writeFileSync(STAMP, `${hash}\n`)
    const app = built()
    if (!app) throw new Error(`Maven did not produce ${JAR} and ${S3A_CLASSPATH}`)
    return app
  })
}

let stampSeq = 0

/** A copy of the sample jar whose version entry says `version`; returns its path. */
export async function stampJar(app: SampleApp, dir: string, version: string): Promise<string> {
  await mkdir(dir, { recursive: true })
  stampSeq += 1
  const zip = new AdmZip(app.jar)
  zip.updateFile(VERSION_ENTRY, Buffer.from(`${version}\n`))
  const safe = version.replace(/[^A-Za-z0-9._-]/g, '_')
  const path = join(dir, `rollover-sample-app-${safe}-${stampSeq}.jar`)
  await writeFile(path, zip.toBuffer())
  return path
}
