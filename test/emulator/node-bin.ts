// Children run .ts files natively (driver) or dist/index.js as the runner's node24 would, so they
// need Node >= 23.6 even when the parent was started by an older system node.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export function nodeBinary(): string {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
  if (major > 23 || (major === 23 && minor >= 6)) return process.execPath
  const local = fileURLToPath(new URL('../../node_modules/node/bin/node', import.meta.url))
  if (existsSync(local)) return local
  throw new Error(
    `Node ${process.versions.node} cannot run TypeScript directly and node_modules/node is missing: run npm ci, or use Node 24`,
  )
}
