// The real-Spark mode's argument mapping (test/emulator/spark-local.ts): only YARN's master and
// deploy mode change, wherever spark-submit accepts them; the jar and the application's own
// arguments are never touched, even when they look like options.
import { describe, expect, it } from 'vitest'
import { buildSparkStep } from '../../src/contract/step.ts'
import { appIdentity } from '../../src/contract/identity.ts'
import { LOCAL_MASTER, localSparkArgs } from '../emulator/spark-local.ts'

describe('localSparkArgs', () => {
  it("maps the action's own step to local mode and keeps everything else in order", () => {
    const step = buildSparkStep({
      app: appIdentity({ bucket: 'b', key: 'rollover' }, 'clicks'),
      deploymentId: 'd-1',
      mainClass: 'com.acme.Main',
      sparkSubmitArgs: ['--conf', 'spark.executor.memory=4g'],
      appArgs: ['--state', 's3://b/streams/clicks'],
      jarUri: 's3://b/app.jar',
      markerUri: 's3://b/rollover/clicks/markers/d-1',
    })
    const [, ...sparkArgs] = step.args
    const local = localSparkArgs(sparkArgs)
    expect(local.slice(0, 4)).toEqual(['--deploy-mode', 'client', '--master', LOCAL_MASTER])
    // Apart from those two values, the same arguments in the same order.
    expect(local.filter((a) => a !== 'client' && a !== LOCAL_MASTER)).toEqual(
      sparkArgs.filter((a) => a !== 'cluster' && a !== 'yarn'),
    )
    expect(local.slice(-3)).toEqual(['s3://b/app.jar', '--state', 's3://b/streams/clicks'])
  })

  it('maps the --opt=value and --conf forms, adds a master when the step has none', () => {
    expect(
      localSparkArgs([
        '--deploy-mode=cluster',
        '--conf',
        'spark.master=yarn',
        '--conf',
        'spark.submit.deployMode=cluster',
        '--verbose',
        'app.jar',
      ]),
    ).toEqual([
      '--master',
      LOCAL_MASTER,
      '--deploy-mode',
      'client',
      '--conf',
      `spark.master=${LOCAL_MASTER}`,
      '--conf',
      'spark.submit.deployMode=client',
      '--verbose',
      'app.jar',
    ])
  })

  it("never rewrites the application's arguments", () => {
    expect(
      localSparkArgs([
        '--master',
        'yarn',
        'app.jar',
        '--master',
        'yarn',
        '--deploy-mode',
        'cluster',
      ]),
    ).toEqual(['--master', LOCAL_MASTER, 'app.jar', '--master', 'yarn', '--deploy-mode', 'cluster'])
  })
})
