// `npm test`: every test of both parts, the action's (vitest: unit, integration on moto,
// end-to-end on the local stack) and the driver library's (Maven, on real Spark), with one
// closing line of counts, so a run that executed nothing, or skipped a suite, cannot pass for
// a green one. Arguments go to vitest (e.g. `npm test -- test/unit`); `--no-driver` or
// `--driver-only` pick one part. The project venv (moto_server; pyspark for the real-Spark e2e)
// is made first when missing (test/support/python-env.ts); Maven gets its moto_server too.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from './emulator/node-bin.ts'
import { javaProblem } from './support/java-env.ts'
import { ensurePythonEnv, pythonEnvReady, venvBin } from './support/python-env.ts'

interface Counts {
  passed: number
  failed: number
  skipped: number
}

const args = process.argv.slice(2)
const driverOnly = args.includes('--driver-only')
const withDriver = !args.includes('--no-driver')
const vitestArgs = args.filter((a) => a !== '--driver-only' && a !== '--no-driver')
const results: Array<[string, Counts | undefined]> = []
let status = 0

try {
  await ensurePythonEnv()
} catch (error) {
  // In CI nothing may be skipped for want of moto: say what to install and stop here.
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`)
  if (process.env.CI === 'true') process.exit(1)
}

if (!driverOnly) {
  const json = join(mkdtempSync(join(tmpdir(), 'rollover-vitest-')), 'results.json')
  const run = spawnSync(
    'npx',
    [
      'vitest',
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile=${json}`,
      ...vitestArgs,
    ],
    { cwd: REPO_ROOT, stdio: 'inherit' },
  )
  if (run.status !== 0) status = 1
  results.push(['action (vitest)', readVitest(json)])
}

if (withDriver && vitestArgs.length === 0) {
  // Reports of an earlier run must not stand in for this one.
  rmSync(join(REPO_ROOT, 'driver', 'target', 'surefire-reports'), { recursive: true, force: true })
  const java = javaProblem()
  const mvn = java
    ? undefined
    : spawnSync('mvn', ['-B', '-q', '-f', 'driver', 'verify'], {
        cwd: REPO_ROOT,
        stdio: 'inherit',
        env: {
          ...process.env,
          ...(pythonEnvReady() ? { ROLLOVER_MOTO_SERVER: venvBin('moto_server') } : {}),
        },
      })
  if (java) {
    console.error(`error: the driver library's tests did not run: ${java}`)
    status = 1
  } else if (mvn?.error || mvn?.status !== 0) status = 1
  results.push([
    'driver (maven)',
    readSurefire(join(REPO_ROOT, 'driver', 'target', 'surefire-reports')),
  ])
}

const total: Counts = { passed: 0, failed: 0, skipped: 0 }
const parts = results.map(([name, counts]) => {
  if (!counts) {
    status = 1
    return `${name}: no results`
  }
  total.passed += counts.passed
  total.failed += counts.failed
  total.skipped += counts.skipped
  if (counts.passed + counts.failed === 0) status = 1
  return `${name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`
})
console.log(
  `\ntests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped (${parts.join('; ')})`,
)
if (total.failed > 0) status = 1
if (process.env.CI === 'true' && total.skipped > 0) {
  console.error('error: tests were skipped in CI; every suite must run here.')
  status = 1
}
process.exit(status)

function readVitest(file: string): Counts | undefined {
  if (!existsSync(file)) return undefined
  const r = JSON.parse(readFileSync(file, 'utf8')) as {
    numPassedTests: number
    numFailedTests: number
    numPendingTests: number
    numTodoTests: number
  }
  return {
    passed: r.numPassedTests,
    failed: r.numFailedTests,
    skipped: r.numPendingTests + r.numTodoTests,
  }
}

function readSurefire(dir: string): Counts | undefined {
  if (!existsSync(dir)) return undefined
  const counts: Counts = { passed: 0, failed: 0, skipped: 0 }
  for (const name of readdirSync(dir).filter((f) => /^TEST-.*\.xml$/.test(f))) {
    const head = /<testsuite\b[^>]*>/.exec(readFileSync(join(dir, name), 'utf8'))?.[0] ?? ''
    const attr = (key: string): number =>
      Number(new RegExp(`\\b${key}="(\\d+)"`).exec(head)?.[1] ?? 0)
    const tests = attr('tests')
    const failed = attr('failures') + attr('errors')
    const skipped = attr('skipped')
    counts.failed += failed
    counts.skipped += skipped
    counts.passed += tests - failed - skipped
  }
  return counts
}
