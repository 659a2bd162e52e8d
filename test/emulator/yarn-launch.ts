// How the emulator's YARN starts an application attempt's process: the simulated driver
// (driver.ts) by default, or real spark-submit in the real-Spark mode (spark-local.ts).
import { fileURLToPath } from 'node:url'
import { nodeBinary } from './node-bin.ts'

/** What spark-submit asked YARN for: one application, run as one or more attempts. */
export interface LaunchRequest {
  readonly clusterId: string
  readonly stepId: string
  /** What followed `spark-submit` in the step's args. */
  readonly sparkArgs: readonly string[]
  readonly tags: readonly string[]
  readonly name: string
  readonly deployMode: string
  /** spark.yarn.maxAppAttempts (YARN's default 2 when unset); client mode has one attempt. */
  readonly maxAttempts: number
  /** spark.yarn.appMasterEnv.* and the like. */
  readonly env: Readonly<Record<string, string>>
  readonly state?: string
}

const DRIVER_PATH = fileURLToPath(new URL('./driver.ts', import.meta.url))

/** How one attempt's process is started. */
export interface AttemptCommand {
  readonly command: string
  readonly args: readonly string[]
  /** Over the application's environment. */
  readonly env?: Readonly<Record<string, string>>
  /**
   * Its own process group, signalled as a whole: spark-submit is a script that execs Java after
   * running Spark's launcher, and a signal must reach whatever runs at that moment.
   */
  readonly processGroup?: boolean
}

/** Turns an application's spark-submit arguments into the attempt's process. */
export type AttemptLauncher = (request: LaunchRequest) => AttemptCommand

/** The default: the simulated driver, given spark-submit's arguments as they are. */
export const simulatedDriver: AttemptLauncher = (request) => ({
  command: nodeBinary(),
  args: [DRIVER_PATH, ...request.sparkArgs],
})
