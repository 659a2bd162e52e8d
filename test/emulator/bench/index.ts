// `npm run bench`: the benchmarks of the local stack, each printing its numbers.
//
//   npm run bench                                   standby vs stop-start (strategies.ts)
//   npm run bench -- --apps 20 [--max-parallel 0,5] one account, many apps at once (matrix.ts)
//   npm run bench -- baseline [--runs 5]            the action vs a naive deploy script
//   npm run bench -- <bench> --help                 each bench's options
import { baselineBench } from './baseline-bench.ts'
import { UsageError } from './measure.ts'

type Bench = (argv: string[]) => Promise<number>

const BENCHES: Record<string, () => Promise<Bench>> = {
  baseline: async () => baselineBench,
  matrix: async () => (await import('./matrix.ts')).matrixBench,
  strategies: async () => (await import('./strategies.ts')).strategiesBench,
}

function pick(argv: string[]): { bench: () => Promise<Bench>; rest: string[] } {
  const [first, ...rest] = argv
  if (first !== undefined && !first.startsWith('-')) {
    const bench = BENCHES[first]
    if (!bench) {
      throw new UsageError(
        `unknown bench ${first}; one of: ${Object.keys(BENCHES).join(', ')} (or none: strategies)`,
      )
    }
    return { bench, rest }
  }
  // Options of the matrix bench without a name: `npm run bench -- --apps 20`.
  if (argv.some((a) => ['--apps', '--max-parallel', '--clusters'].includes(a))) {
    return { bench: BENCHES.matrix as () => Promise<Bench>, rest: argv }
  }
  // No bench name: the default one, standby vs stop-start.
  return { bench: BENCHES.strategies as () => Promise<Bench>, rest: argv }
}

let interrupted = false
process.once('SIGINT', () => {
  interrupted = true
  process.stderr.write('\ninterrupted: stopping the drivers, moto and the emulator…\n')
})

try {
  const { bench, rest } = pick(process.argv.slice(2))
  process.exitCode = await (await bench())(rest)
} catch (error) {
  if (!interrupted) {
    const usage = error instanceof UsageError
    console.error(
      usage
        ? error.message
        : `✘ ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    )
    process.exitCode = usage ? 2 : 1
  }
}
