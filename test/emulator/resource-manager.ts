// The emulator's YARN ResourceManager as the kill script sees it: the REST endpoint
// `GET /ws/v1/cluster/apps?applicationTags=...&states=...` answering Hadoop's JSON, per cluster
// (`/<cluster-id>/ws/...`), plus what a real cluster may answer instead (a 401 SPNEGO challenge,
// a standby RM's 307 to the active one, a page that is not JSON, nothing at all). The fake
// `yarn` and `hostname` on the kill step's PATH live here too: `yarn application -kill <id>`
// asks this server, which asks the emulator's Yarn (SIGTERM, SIGKILL after the grace).
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AppInfo, Yarn, YarnState } from './yarn.ts'

/** How the RM's REST endpoint answers the kill script. */
export type RmMode = 'ok' | 'unreachable' | 'unauthorized' | 'standby-redirect' | 'not-json'

export const RM_MODES: readonly RmMode[] = [
  'ok',
  'unreachable',
  'unauthorized',
  'standby-redirect',
  'not-json',
]

export interface YarnKill {
  readonly t: number
  readonly clusterId: string
  /** The kill step that ran `yarn application -kill`. */
  readonly stepId?: string
  readonly appId: string
  readonly outcome: 'killed' | 'already-finished' | 'unknown'
}

const FAKE_HOST = 'ip-10-0-0-1.ec2.internal'

const FAKE_BIN: Record<string, string> = {
  hostname: `echo ${FAKE_HOST}`,
  // Only `yarn application -kill <application id>`; the emulator does the killing.
  yarn: [
    'if [ "$#" -ne 3 ] || [ "$1" != application ] || [ "$2" != -kill ]; then',
    '  echo "the emulator\'s yarn knows only: yarn application -kill <application id>" >&2; exit 2',
    'fi',
    'case "$3" in',
    '  application_*[!0-9_]*|application_) echo "Invalid ApplicationId: $3" >&2; exit 255 ;;',
    '  application_*) ;;',
    '  *) echo "Invalid ApplicationId prefix: $3" >&2; exit 255 ;;',
    'esac',
    'out=$(curl -sS --max-time 60 -X POST -w "\\n%{http_code}" "$EMULATOR_YARN_URL/kill/$3?step=$EMULATOR_STEP_ID") ||',
    '  { echo "yarn: cannot reach the ResourceManager" >&2; exit 255; }',
    'code=$(printf "%s" "$out" | tail -n 1)',
    'body=$(printf "%s" "$out" | sed \'$d\')',
    'printf "%s\\n" "$body"',
    '[ "$code" = 200 ] || exit 255',
  ].join('\n'),
}

export class ResourceManager {
  mode: RmMode = 'ok'
  readonly kills: YarnKill[] = []
  /** What the kill step's PATH starts with: the fake yarn and hostname. */
  readonly binDir: string
  private readonly dir: string
  private readonly server: Server
  private readonly yarn: Yarn
  private readonly graceMs: () => number
  private closedPort = 0

  private constructor(yarn: Yarn, graceMs: () => number) {
    this.yarn = yarn
    this.graceMs = graceMs
    this.dir = mkdtempSync(join(tmpdir(), 'emulator-rm-'))
    this.binDir = join(this.dir, 'bin')
    mkdirSync(this.binDir)
    for (const [name, body] of Object.entries(FAKE_BIN)) {
      writeFileSync(join(this.binDir, name), `#!/bin/sh\n${body}\n`)
      chmodSync(join(this.binDir, name), 0o755)
    }
    this.server = createServer((req, res) => void this.handle(req, res))
  }

  static async start(yarn: Yarn, graceMs: () => number): Promise<ResourceManager> {
    const rm = new ResourceManager(yarn, graceMs)
    await new Promise<void>((resolve, reject) => {
      rm.server.once('error', reject)
      rm.server.listen(0, '127.0.0.1', resolve)
    })
    // A port nothing listens on, for 'unreachable'.
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    rm.closedPort = (probe.address() as AddressInfo).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    return rm
  }

  get base(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  /** The environment of a kill step on `clusterId`: where its RM and its yarn are. */
  stepEnv(clusterId: string, stepId: string): Record<string, string> {
    const rmUrl =
      this.mode === 'unreachable'
        ? `http://127.0.0.1:${this.closedPort}`
        : this.mode === 'standby-redirect'
          ? `${this.base}/standby/${clusterId}`
          : `${this.base}/${clusterId}`
    return {
      PATH: `${this.binDir}:/usr/bin:/bin`,
      HOME: this.dir,
      ROLLOVER_RM_URL: rmUrl,
      EMULATOR_YARN_URL: `${this.base}/__yarn/${clusterId}`,
      EMULATOR_STEP_ID: stepId,
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
    rmSync(this.dir, { recursive: true, force: true })
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for await (const chunk of req) void chunk
    const url = new URL(req.url ?? '/', this.base)
    const parts = url.pathname.split('/').filter(Boolean)
    try {
      if (req.method === 'POST' && parts[0] === '__yarn' && parts[2] === 'kill') {
        return await this.kill(res, parts[1] ?? '', parts[3] ?? '', url.searchParams.get('step'))
      }
      if (parts[0] === 'standby') {
        const location = `${this.base}/${parts.slice(1).join('/')}${url.search}`
        res.writeHead(307, { location, 'content-type': 'text/plain' })
        return void res.end(`This is standby RM. The redirect url is: ${location}`)
      }
      const [clusterId, ws, v1, cluster, apps] = parts
      if (req.method !== 'GET' || ws !== 'ws' || v1 !== 'v1' || cluster !== 'cluster') {
        return text(res, 404, 'Not Found')
      }
      if (this.mode === 'unauthorized') {
        res.writeHead(401, { 'www-authenticate': 'Negotiate', 'content-type': 'text/html' })
        return void res.end(
          '<html><body><h2>HTTP ERROR 401</h2>Authentication required</body></html>',
        )
      }
      if (this.mode === 'not-json') {
        return text(res, 200, '<html><head><title>Sign in</title></head><body></body></html>')
      }
      if (apps !== 'apps') return text(res, 404, 'Not Found')
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(this.appsJson(clusterId ?? '', url.searchParams)))
    } catch (error) {
      text(res, 500, String(error))
    }
  }

  /** Hadoop's answer: `{"apps":null}` when nothing matches, else `{"apps":{"app":[...]}}`. */
  private appsJson(clusterId: string, query: URLSearchParams): unknown {
    const tags = csv(query.get('applicationTags')).map((t) => t.toLowerCase())
    const states = csv(query.get('states')).map((s) => s.toUpperCase())
    const matches = this.yarn
      .list()
      .filter((a) => a.clusterId === clusterId)
      .filter((a) => tags.length === 0 || a.tags.some((t) => tags.includes(t)))
      .filter((a) => states.length === 0 || states.includes(a.yarnState))
    if (matches.length === 0) return { apps: null }
    return { apps: { app: matches.map((a) => appJson(a)) } }
  }

  private async kill(
    res: ServerResponse,
    clusterId: string,
    appId: string,
    stepId: string | null,
  ): Promise<void> {
    const app = this.yarn.get(appId)
    const record = (outcome: YarnKill['outcome']) =>
      this.kills.push({ t: Date.now(), clusterId, appId, outcome, ...(stepId ? { stepId } : {}) })
    if (!app || app.clusterId !== clusterId) {
      record('unknown')
      return text(res, 404, `Application with id '${appId}' doesn't exist in RM.`)
    }
    if (!app.alive) {
      record('already-finished')
      return text(res, 200, `Application ${appId} has already finished`)
    }
    record('killed')
    await this.yarn.kill(appId, this.graceMs())
    text(res, 200, `Killing application ${appId}\nKilled application ${appId}`)
  }
}

const FINAL_STATUS: Record<YarnState, string> = {
  ACCEPTED: 'UNDEFINED',
  RUNNING: 'UNDEFINED',
  FINISHED: 'SUCCEEDED',
  FAILED: 'FAILED',
  KILLED: 'KILLED',
}

function appJson(a: AppInfo): Record<string, unknown> {
  return {
    id: a.appId,
    user: 'hadoop',
    name: a.name,
    queue: 'default',
    state: a.yarnState,
    finalStatus: FINAL_STATUS[a.yarnState],
    progress: a.alive ? 10.0 : 100.0,
    trackingUI: a.alive ? 'ApplicationMaster' : 'History',
    trackingUrl: `http://${FAKE_HOST}:20888/proxy/${a.appId}/`,
    diagnostics: a.diagnostics,
    clusterId: Number(a.appId.split('_')[1]),
    applicationType: 'SPARK',
    applicationTags: a.tags.join(','),
    startedTime: a.startedAt,
    finishedTime: a.endedAt ?? 0,
    elapsedTime: (a.endedAt ?? Date.now()) - a.startedAt,
    amContainerLogs: `http://${FAKE_HOST}:8042/node/containerlogs/container_${a.appId.slice(12)}_01_000001/hadoop`,
    amHostHttpAddress: `${FAKE_HOST}:8042`,
    runningContainers: a.alive ? 2 : -1,
  }
}

function csv(value: string | null): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' })
  res.end(body)
}
