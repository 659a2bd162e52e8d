// What both demos (demo.ts, demo-spark.ts) do around their main: colours when stdout is a
// terminal, the exit status from main, one red line for an error, and quiet after Ctrl-C (the
// stack's own signal handler stops everything it started and exits 130).
const color = process.stdout.isTTY && !process.env.NO_COLOR
const paint = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s)

export const colors = {
  enabled: color,
  bold: paint('1'),
  dim: paint('2'),
  green: paint('32'),
  red: paint('31'),
}

/** Runs `main` as the process's job: its result is the exit status. */
export function runDemo(main: () => Promise<number>, stopping: string): void {
  let interrupted = false
  process.once('SIGINT', () => {
    interrupted = true
    console.log(colors.dim(`\ninterrupted: ${stopping}`))
  })
  main().then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      if (interrupted) return
      console.error(colors.red(`✘ ${error instanceof Error ? error.message : String(error)}`))
      process.exitCode = 1
    },
  )
}
