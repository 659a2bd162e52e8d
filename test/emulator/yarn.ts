// The emulator's "YARN": runs each application as a real child process (test/emulator/driver.ts),
// keeps its tags and logs, and kills by tag the way `yarn application -kill` does (SIGTERM, then
// SIGKILL once the grace period is over).
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { ActivityEvent } from './contract.ts'
import { nodeBinary } from './node-bin.ts'

const DRIVER_PATH = fileURLToPath(new URL('./driver.ts', import.meta.url))
const MAX_LOG_LINES = 2000

export interface AppInfo {
  readonly appId: string
  readonly clusterId: string
  readonly stepId: string
  readonly pid: number
  readonly tags: readonly string[]
  readonly deployMode: string
  readonly state?: string
  readonly alive: boolean
  readonly exitCode: number | null
  readonly signal: string | null
  readonly startedAt: number
  readonly endedAt?: number
}

export interface LaunchRequest {
  readonly clusterId: string
  readonly stepId: string
  /** What followed `spark-submit` in the step's args. */
  readonly sparkArgs: readonly string[]
  readonly tags: readonly string[]
  readonly deployMode: string
  /** spark.yarn.appMasterEnv.* and the like. */
  readonly env: Readonly<Record<string, string>>
  readonly state?: string
}

interface App {
  info: AppInfo
  child: ChildProcess
  logs: string[]
  exited: Promise<void>
}

export interface YarnOptions {
  /** Environment of every application: S3 endpoint and credentials, activity log. */
  readonly env: Readonly<Record<string, string>>
  readonly activityLog?: string
}

export class Yarn {
  private readonly apps = new Map<string, App>()
  private readonly epoch = Date.now()
  private seq = 0
  private readonly options: YarnOptions

  constructor(options: YarnOptions) {
    this.options = options
    process.once('exit', this.killAllNow)
  }

  launch(request: LaunchRequest, onExit: (info: AppInfo, lastLines: string[]) => void): AppInfo {
    this.seq += 1
    const appId = `application_${this.epoch}_${String(this.seq).padStart(4, '0')}`
    const child = spawn(nodeBinary(), [DRIVER_PATH, ...request.sparkArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...withoutAws(process.env),
        ...this.options.env,
        ...(this.options.activityLog ? { ROLLOVER_ACTIVITY_LOG: this.options.activityLog } : {}),
        ...request.env,
        EMULATOR_STEP_ID: request.stepId,
        EMULATOR_APP_ID: appId,
        EMULATOR_APP_TAGS: request.tags.join(','),
      },
    })
    const logs: string[] = []
    const capture = (stream: string) => (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line !== '') logs.push(`[${stream}] ${line}`)
      }
      if (logs.length > MAX_LOG_LINES) logs.splice(0, logs.length - MAX_LOG_LINES)
    }
    child.stdout?.on('data', capture('stdout'))
    child.stderr?.on('data', capture('stderr'))
    const app: App = {
      info: {
        appId,
        clusterId: request.clusterId,
        stepId: request.stepId,
        pid: child.pid ?? -1,
        tags: request.tags,
        deployMode: request.deployMode,
        state: request.state,
        alive: true,
        exitCode: null,
        signal: null,
        startedAt: Date.now(),
      },
      child,
      logs,
      exited: new Promise<void>((resolve) => {
        // 'close' rather than 'exit': the last log lines are in by then.
        child.once('close', (code, signal) => {
          app.info = { ...app.info, alive: false, exitCode: code, signal, endedAt: Date.now() }
          this.activity({
            t: Date.now(),
            event: 'app-exit',
            pid: app.info.pid,
            exitCode: code,
            signal,
          })
          onExit(app.info, logs.slice(-20))
          resolve()
        })
      }),
    }
    child.once('error', (error) => logs.push(`[yarn] spawn failed: ${error.message}`))
    this.apps.set(appId, app)
    this.activity({ t: Date.now(), event: 'app-start', pid: app.info.pid, tags: request.tags })
    return app.info
  }

  private activity(line: Omit<ActivityEvent, 'stepId' | 'appId'>): void {
    if (!this.options.activityLog) return
    const app = [...this.apps.values()].find((a) => a.info.pid === line.pid)
    const full: ActivityEvent = {
      ...line,
      stepId: app?.info.stepId,
      appId: app?.info.appId,
      state: app?.info.state,
    }
    appendFileSync(this.options.activityLog, JSON.stringify(full) + '\n')
  }

  list(): AppInfo[] {
    return [...this.apps.values()].map((a) => a.info)
  }

  get(appId: string): AppInfo | undefined {
    return this.apps.get(appId)?.info
  }

  logs(appId: string): string[] {
    return [...(this.apps.get(appId)?.logs ?? [])]
  }

  signal(appId: string, signal: NodeJS.Signals): void {
    const app = this.apps.get(appId)
    if (app?.info.alive) app.child.kill(signal)
  }

  /** `yarn application -kill` for every live application carrying `tag` on `clusterId`. */
  async killByTag(
    clusterId: string,
    tag: string,
    graceMs: number,
  ): Promise<{ killed: string[]; survivors: string[] }> {
    const wanted = tag.toLowerCase()
    const targets = [...this.apps.values()].filter(
      (a) => a.info.alive && a.info.clusterId === clusterId && a.info.tags.includes(wanted),
    )
    await Promise.all(targets.map((a) => this.stop(a, graceMs)))
    return {
      killed: targets.map((a) => a.info.appId),
      survivors: targets.filter((a) => a.info.alive).map((a) => a.info.appId),
    }
  }

  private async stop(app: App, graceMs: number): Promise<void> {
    app.child.kill('SIGTERM')
    if (await settles(app.exited, graceMs)) return
    app.child.kill('SIGKILL')
    await settles(app.exited, 2000)
  }

  /** Ends every application (SIGKILL): the emulator is going away. */
  async closeAll(): Promise<void> {
    process.off('exit', this.killAllNow)
    const live = [...this.apps.values()].filter((a) => a.info.alive)
    for (const app of live) app.child.kill('SIGKILL')
    await Promise.all(live.map((a) => settles(a.exited, 3000)))
  }

  private readonly killAllNow = (): void => {
    for (const app of this.apps.values()) if (app.info.alive) app.child.kill('SIGKILL')
  }
}

/** A developer's own AWS profile or session must never reach a test driver. */
function withoutAws(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => !entry[0].startsWith('AWS_') && entry[1] !== undefined,
    ),
  )
}

function settles(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    void promise.then(() => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}
