// The emulator's "YARN": runs each application attempt as a real child process (the simulated
// driver test/emulator/driver.ts, or real spark-submit in the real-Spark mode: spark-local.ts),
// keeps its tags and logs, re-attempts a cluster-mode driver that
// fails while attempts are left (same application id and tags, as YARN's ApplicationMaster
// re-attempts do), and kills the way `yarn application -kill` does: SIGTERM, then SIGKILL once
// the NodeManager's grace (yarn.nodemanager.sleep-delay-before-sigkill.ms, 250 ms) is over.
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { SPARK_SUBMIT_FAILED_EXIT, type ActivityEvent } from './contract.ts'
import { simulatedDriver, type AttemptLauncher, type LaunchRequest } from './yarn-launch.ts'

export type { LaunchRequest } from './yarn-launch.ts'

const MAX_LOG_LINES = 2000

/** YARN's application states, as the ResourceManager reports them. */
export type YarnState = 'ACCEPTED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED'

export interface AttemptInfo {
  readonly attempt: number
  readonly pid: number
  readonly startedAt: number
  readonly endedAt?: number
  readonly exitCode: number | null
  readonly signal: string | null
}

export interface AppInfo {
  readonly appId: string
  readonly clusterId: string
  readonly stepId: string
  /** The current (or last) attempt's process. */
  readonly pid: number
  readonly tags: readonly string[]
  /** `--name`, else the main class: what the ResourceManager lists as the name. */
  readonly name: string
  readonly deployMode: string
  /** The stream's state prefix the driver was given (`--state`). */
  readonly state?: string
  readonly yarnState: YarnState
  /** True until the application reached FINISHED, FAILED or KILLED (also between attempts). */
  readonly alive: boolean
  /** The last attempt's exit. */
  readonly exitCode: number | null
  readonly signal: string | null
  readonly attempt: number
  readonly maxAttempts: number
  readonly attempts: readonly AttemptInfo[]
  readonly diagnostics: string
  readonly startedAt: number
  readonly endedAt?: number
}

interface App {
  info: AppInfo
  readonly request: LaunchRequest
  child?: ChildProcess
  /** The attempt runs in its own process group: signals go to the group. */
  processGroup: boolean
  logs: string[]
  killing: boolean
  final: Promise<void>
  resolveFinal: () => void
  readonly onEnd: (info: AppInfo, lastLines: string[]) => void
}

export interface YarnOptions {
  /** Environment of every application: S3 endpoint and credentials, activity log. */
  readonly env: Readonly<Record<string, string>>
  /** What runs an attempt; default the simulated driver. */
  readonly launcher?: AttemptLauncher
  readonly activityLog?: string
  /** Read at each use, so that a test may change them while the stack runs. */
  readonly timings: {
    /** From a failed attempt to the next one's process (YARN: a few seconds). */
    readonly reattemptDelayMs: number
    /** The driver's start-up (ApplicationMaster, executors) per attempt: [min, max] ms. */
    readonly driverStartDelayMs: readonly [number, number]
  }
}

export class Yarn {
  private readonly apps = new Map<string, App>()
  private readonly epoch = Date.now()
  private seq = 0
  private closing = false
  private readonly options: YarnOptions

  constructor(options: YarnOptions) {
    this.options = options
    process.once('exit', this.killAllNow)
  }

  /** Submits an application; `onEnd` runs once it reached its final state. */
  launch(request: LaunchRequest, onEnd: (info: AppInfo, lastLines: string[]) => void): AppInfo {
    this.seq += 1
    const appId = `application_${this.epoch}_${String(this.seq).padStart(4, '0')}`
    let resolveFinal = () => {}
    const final = new Promise<void>((resolve) => (resolveFinal = resolve))
    const app: App = {
      info: {
        appId,
        clusterId: request.clusterId,
        stepId: request.stepId,
        pid: -1,
        tags: request.tags,
        name: request.name,
        deployMode: request.deployMode,
        state: request.state,
        yarnState: 'ACCEPTED',
        alive: true,
        exitCode: null,
        signal: null,
        attempt: 0,
        maxAttempts: request.deployMode === 'cluster' ? Math.max(1, request.maxAttempts) : 1,
        attempts: [],
        diagnostics: '',
        startedAt: Date.now(),
      },
      request,
      processGroup: false,
      logs: [],
      killing: false,
      final,
      resolveFinal,
      onEnd,
    }
    this.apps.set(appId, app)
    this.startAttempt(app)
    return app.info
  }

  private startAttempt(app: App): void {
    const attempt = app.info.attempt + 1
    const launch = (this.options.launcher ?? simulatedDriver)(app.request)
    const child = spawn(launch.command, [...launch.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: launch.processGroup === true,
      env: {
        ...withoutAws(process.env),
        ...this.options.env,
        ...(this.options.activityLog ? { ROLLOVER_ACTIVITY_LOG: this.options.activityLog } : {}),
        ...app.request.env,
        EMULATOR_STEP_ID: app.request.stepId,
        EMULATOR_APP_ID: app.info.appId,
        EMULATOR_APP_TAGS: app.request.tags.join(','),
        EMULATOR_APP_ATTEMPT: String(attempt),
        EMULATOR_DRIVER_START_DELAY_MS: String(this.startDelay()),
        ...launch.env,
      },
    })
    app.child = child
    app.processGroup = launch.processGroup === true
    const startedAt = Date.now()
    const pid = child.pid ?? -1
    app.info = { ...app.info, pid, attempt, yarnState: 'RUNNING' }
    const capture = (stream: string) => (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line !== '') app.logs.push(`[${stream}] ${line}`)
      }
      if (app.logs.length > MAX_LOG_LINES) app.logs.splice(0, app.logs.length - MAX_LOG_LINES)
    }
    child.stdout?.on('data', capture('stdout'))
    child.stderr?.on('data', capture('stderr'))
    child.once('error', (error) => app.logs.push(`[yarn] spawn failed: ${error.message}`))
    this.activity({ t: startedAt, event: 'app-start', pid, tags: app.request.tags, attempt }, app)
    // 'close' rather than 'exit': the last log lines are in by then.
    child.once('close', (code, signal) => {
      app.child = undefined
      const record: AttemptInfo = {
        attempt,
        pid,
        startedAt,
        endedAt: Date.now(),
        exitCode: code,
        signal,
      }
      app.info = { ...app.info, exitCode: code, signal, attempts: [...app.info.attempts, record] }
      this.activity({ t: Date.now(), event: 'app-exit', pid, exitCode: code, signal, attempt }, app)
      this.attemptEnded(app, code, signal)
    })
  }

  private attemptEnded(app: App, code: number | null, signal: string | null): void {
    if (app.killing || this.closing) return this.end(app, 'KILLED', 'Application killed by user.')
    if (code === 0) return this.end(app, 'FINISHED', '')
    const cause = signal ? `killed by ${signal}` : `exitCode: ${code}`
    const attemptId = `appattempt_${app.info.appId.slice('application_'.length)}_${String(app.info.attempt).padStart(6, '0')}`
    const diagnostics = `AM Container for ${attemptId} exited with ${cause}. Failing this attempt.`
    const retry = app.info.attempt < app.info.maxAttempts && code !== SPARK_SUBMIT_FAILED_EXIT
    if (!retry) {
      const times = app.info.attempt
      return this.end(
        app,
        'FAILED',
        `Application ${app.info.appId} failed ${times} times due to ${diagnostics}`,
      )
    }
    app.info = { ...app.info, yarnState: 'ACCEPTED', diagnostics, pid: -1 }
    app.logs.push(`[yarn] ${diagnostics} Launching attempt ${app.info.attempt + 1}.`)
    setTimeout(() => {
      if (app.info.alive && !app.killing && !this.closing) this.startAttempt(app)
    }, this.options.timings.reattemptDelayMs)
  }

  private startDelay(): number {
    const [min, max] = this.options.timings.driverStartDelayMs
    return Math.round(min + Math.random() * Math.max(0, max - min))
  }

  private end(app: App, state: 'FINISHED' | 'FAILED' | 'KILLED', diagnostics: string): void {
    if (!app.info.alive) return
    app.info = {
      ...app.info,
      yarnState: state,
      alive: false,
      diagnostics: diagnostics || app.info.diagnostics,
      endedAt: Date.now(),
    }
    app.onEnd(app.info, app.logs.slice(-20))
    app.resolveFinal()
  }

  private activity(line: Omit<ActivityEvent, 'stepId' | 'appId'>, app: App): void {
    if (!this.options.activityLog) return
    const full: ActivityEvent = {
      ...line,
      stepId: app.info.stepId,
      appId: app.info.appId,
      state: app.info.state,
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

  /**
   * A signal to the current attempt's process, as something on the node would send it: a
   * driver that dies of it is re-attempted while attempts are left. YARN's own kill is `kill`.
   */
  signal(appId: string, signal: NodeJS.Signals): void {
    const app = this.apps.get(appId)
    if (app) signalAttempt(app, signal)
  }

  /**
   * `yarn application -kill`: no further attempt; SIGTERM, then SIGKILL after `graceMs`.
   * Resolves once the application is KILLED (or had ended anyway); false if it was not alive.
   */
  async kill(appId: string, graceMs: number): Promise<boolean> {
    const app = this.apps.get(appId)
    if (!app?.info.alive) return false
    app.killing = true
    const child = app.child
    if (!child) {
      // Between two attempts: nothing runs, the application just ends.
      this.end(app, 'KILLED', 'Application killed by user.')
      return true
    }
    signalAttempt(app, graceMs <= 0 ? 'SIGKILL' : 'SIGTERM')
    if (graceMs > 0 && !(await settles(app.final, graceMs))) signalAttempt(app, 'SIGKILL')
    await settles(app.final, 5000)
    return true
  }

  /** Ends every application (SIGKILL, no re-attempt): the emulator is going away. */
  async closeAll(): Promise<void> {
    this.closing = true
    process.off('exit', this.killAllNow)
    const live = [...this.apps.values()].filter((a) => a.info.alive)
    for (const app of live) {
      if (app.child) signalAttempt(app, 'SIGKILL')
      else this.end(app, 'KILLED', 'The emulator stopped.')
    }
    await Promise.all(live.map((a) => settles(a.final, 3000)))
  }

  private readonly killAllNow = (): void => {
    for (const app of this.apps.values()) signalAttempt(app, 'SIGKILL')
  }
}

/** The current attempt's process, or its whole group when it has one. */
function signalAttempt(app: App, signal: NodeJS.Signals): void {
  const child = app.child
  if (!child?.pid) return
  if (!app.processGroup) {
    child.kill(signal)
    return
  }
  try {
    process.kill(-child.pid, signal)
  } catch {
    // the group is gone already
  }
}

/** A developer's own AWS profile or session must never reach a test driver. */
export function withoutAws(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => !entry[0].startsWith('AWS_') && entry[1] !== undefined,
    ),
  )
}

export function settles(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    void promise.then(() => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}
