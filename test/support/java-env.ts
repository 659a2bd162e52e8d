// Java 17 and Maven: what the driver library's tests (driver/) and the stack's real-Spark mode
// need (Spark 3.5 runs on it; the library is compiled for it). Checked up front so that a machine
// without them gets one line naming what to install instead of a stack trace.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

export const JAVA_MISSING =
  'Java 17 (a JDK) and Maven 3.8+ are needed for the driver library tests and the real-Spark ' +
  'mode: install them (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless maven; or set ' +
  'JAVA_HOME to a JDK 17)'

/** The java Spark's scripts run: $JAVA_HOME/bin/java, else java on PATH. */
function javaCommand(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
}

/** Why Java 17 and Maven cannot be used here, or undefined when they can. */
export function javaProblem(): string | undefined {
  const java = spawnSync(javaCommand(), ['-version'], { encoding: 'utf8', timeout: 30_000 })
  if (java.error || java.status !== 0) return `${JAVA_MISSING} (${javaCommand()}: not found)`
  // `openjdk version "17.0.15" ...`, `java version "1.8.0_392"`
  const version = /version "(\d+)(?:\.(\d+))?/.exec(`${java.stderr}${java.stdout}`)
  const major = version ? Number(version[1] === '1' ? version[2] : version[1]) : 0
  if (major < 17) return `${JAVA_MISSING} (${javaCommand()} is Java ${major || 'unknown'})`
  const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8', timeout: 60_000 })
  if (mvn.error || mvn.status !== 0) return `${JAVA_MISSING} (mvn: not found)`
  return undefined
}
