// vitest's globalSetup: the project venv (moto_server) before any worker starts, so that the one
// line saying it is being created comes first and the workers find it ready. In CI a venv that
// cannot be made fails the run here, with what to install; elsewhere the suites that need moto
// fall back to a moto_server on PATH or skip, saying why (test/support/moto.ts).
import { ensurePythonEnv } from './python-env.ts'

export default async function setup(): Promise<void> {
  try {
    await ensurePythonEnv()
  } catch (error) {
    if (process.env.CI === 'true') throw error
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]
    process.stderr.write(`python env: ${reason}\n`)
  }
}
