// `npm run demo:spark`: the demo's rollover on real Spark. Each EMR step of the local stack runs
// spark-submit (pyspark 3.5.7 from the project venv, local mode) with the sample Structured
// Streaming app of test/spark-app (rate source → JSON files on S3 through S3A, a checkpoint, the
// driver library); the real action bundle deploys v1 and rolls it over to v2; Spark's own sink
// then shows every value exactly once, v1's before the handoff and v2's after.
//
//   npm run demo:spark          # DEMO_VERBOSE=1 also streams the action's own log
//
// The first run installs pyspark into .venv (~320 MB) and builds the sample app with Maven.
// Exit status: 0 when everything holds, 1 otherwise, 130 on Ctrl-C (all started here is stopped).
import { colors, runDemo } from './demo-run.ts'
import { rollOverRealSpark, sparkProblems, valueAt } from './spark-rollover.ts'
import { startStack } from './stack.ts'

const VERBOSE = ['1', 'true', 'yes'].includes((process.env.DEMO_VERBOSE ?? '').toLowerCase())
const { bold, dim, green, red } = colors

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

async function main(): Promise<number> {
  const started = Date.now()
  console.log(
    bold('emr-streaming-rollover demo on real Spark') +
      dim(' — moto S3 + EMR emulator; each step runs spark-submit --master local[2]'),
  )
  const stack = await startStack({ realSpark: true, appName: 'clickstream' })
  try {
    const line = (what: string, detail: string, ms?: number) =>
      console.log(
        `  ${what.padEnd(9)}${detail}${ms === undefined ? '' : dim(`  (${seconds(ms)})`)}`,
      )
    line(
      'stack',
      `cluster ${stack.clusterId}, Spark from ${stack.realSpark?.sparkHome}`,
      Date.now() - started,
    )
    let mark = Date.now()
    const r = await rollOverRealSpark(stack, {
      runOptions: VERBOSE
        ? { onOutput: (chunk) => process.stdout.write(dim(chunk.replace(/^/gm, '    │ '))) }
        : {},
      log: (text) => {
        line(text.startsWith('v1') ? 'deploy' : 'rollover', text, Date.now() - mark)
        mark = Date.now()
      },
    })
    const end = valueAt(r.finalStopped.endOffset)
    line(
      'stop',
      `v2 stopped by deleting its marker: last batch ${r.finalStopped.batchId}`,
      Date.now() - mark,
    )

    console.log(bold('\nOutputs of the rollover'))
    for (const [name, value] of Object.entries(r.second.outputs)) {
      console.log(`  ${name.padEnd(20)}${dim(value || '—')}`)
    }
    const handoff = r.record.handoff?.sources[0]
    console.log(
      bold('\nThe sink') +
        dim(` (${r.sink.committedFiles} committed files, ${r.sink.uncommittedFiles} uncommitted)`),
    )
    for (const range of r.sink.ranges) {
      console.log(`  ${range.version} wrote values ${range.from}..${range.to}`)
    }
    console.log(
      `  handoff: v1's .stopped ended at offset ${handoff?.oldEnd}, v2's first batch started at ${handoff?.newStart} (× ${valueAt(1)} rows/s)\n`,
    )
    const problems = sparkProblems(r)
    if (problems.length > 0) {
      console.log(red(`✘ ${problems.join('; ')}`))
      return 1
    }
    const [v1, v2] = r.sink.ranges
    console.log(
      green('✔') +
        ` ${r.sink.rows} rows, values 0..${end - 1} each exactly once; v1 ${v1?.from}..${v1?.to}, ` +
        `v2 ${v2?.from}..${v2?.to}, split where both drivers put the handoff; ` +
        `v1 exited before v2 started; downtime ${r.second.outputs['downtime-seconds']} s`,
    )
    return 0
  } finally {
    await stack.stop()
  }
}

runDemo(main, 'stopping Spark, moto and the emulator…')
