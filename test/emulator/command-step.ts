// A command-runner.jar step that is not spark-submit, run the way command-runner.jar runs it:
// its arguments exec'd as they are (no shell of ours), stdout and stderr kept as the step's log.
// The emulator runs the rollover's kill step this way: the real script, under the real bash,
// against the fake ResourceManager and with the fake yarn and hostname on its PATH.
import { spawn, type ChildProcess } from 'node:child_process'

export interface CommandResult {
  readonly exitCode: number | null
  readonly signal: string | null
}

export class CommandSteps {
  private readonly running = new Map<string, ChildProcess>()

  /** Runs step `id`'s command; resolves when it exited. */
  run(
    id: string,
    args: readonly string[],
    env: Readonly<Record<string, string>>,
    onLine: (line: string) => void,
  ): Promise<CommandResult> {
    const [command, ...rest] = args
    return new Promise((resolve) => {
      if (!command) return resolve({ exitCode: 127, signal: null })
      const child = spawn(command, rest, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env } })
      this.running.set(id, child)
      const partial: Record<string, string> = { stdout: '', stderr: '' }
      const capture = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
        const lines = (partial[stream] + chunk.toString()).split('\n')
        partial[stream] = lines.pop() ?? ''
        for (const line of lines) onLine(`[${stream}] ${line}`)
      }
      child.stdout.on('data', capture('stdout'))
      child.stderr.on('data', capture('stderr'))
      child.once('error', (error) => onLine(`[stderr] ${command}: ${error.message}`))
      child.once('close', (exitCode, signal) => {
        this.running.delete(id)
        for (const [stream, rest] of Object.entries(partial))
          if (rest) onLine(`[${stream}] ${rest}`)
        resolve({ exitCode, signal })
      })
    })
  }

  /** CancelSteps on a running command step: the step runner signals its process. */
  interrupt(id: string): void {
    this.running.get(id)?.kill('SIGTERM')
  }

  /** The emulator is going away: end every command step still running. */
  closeAll(): void {
    for (const child of this.running.values()) child.kill('SIGKILL')
  }
}
