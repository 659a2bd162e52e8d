// A realistic spark-submit step input and the exact arguments it must produce, shared by the
// contract's tests.
import { appIdentity } from '../../../src/contract/identity.ts'
import type { SparkStepInput } from '../../../src/contract/step.ts'

/** The app's identity: sha256 of its marker prefix and name, fixed so upgrades keep finding it. */
export const APP = appIdentity({ bucket: 'acme-rollover', key: 'streaming' }, 'Click-Stream')
export const APP_ID = 'd8b8e80d06'
export const DEPLOYMENT = '20250102t030405z-a1b2c3'
export const MARKER = `s3://acme-rollover/streaming/Click-Stream/markers/${DEPLOYMENT}`
export const JAR = 's3://acme-artifacts/jars/Click-Stream/5f2b.jar'

export const INPUT: SparkStepInput = {
  app: APP,
  deploymentId: DEPLOYMENT,
  mainClass: 'com.acme.clickstream.Main',
  sparkSubmitArgs: [
    '--conf',
    'spark.executor.memory=4g',
    '--conf=spark.sql.shuffle.partitions=64',
    '--conf',
    'spark.driver.extraJavaOptions=-Dconfig.file=prod.conf -Xss4m',
    '--num-executors',
    '12',
    '--verbose',
  ],
  appArgs: ['--topic', 'click events', '--since', '2024-01-01', 'a "quoted" $HOME'],
  jarUri: JAR,
  markerUri: MARKER,
}

export const EXPECTED_ARGS = [
  'spark-submit',
  '--deploy-mode',
  'cluster',
  '--master',
  'yarn',
  '--class',
  'com.acme.clickstream.Main',
  '--conf',
  'spark.executor.memory=4g',
  '--conf=spark.sql.shuffle.partitions=64',
  '--conf',
  'spark.driver.extraJavaOptions=-Dconfig.file=prod.conf -Xss4m',
  '--num-executors',
  '12',
  '--verbose',
  '--conf',
  'spark.yarn.submit.waitAppCompletion=true',
  '--conf',
  `spark.rollover.marker=${MARKER}`,
  '--conf',
  `spark.yarn.appMasterEnv.ROLLOVER_MARKER=${MARKER}`,
  '--conf',
  `spark.yarn.tags=rollover-${APP_ID},rollover-${APP_ID}-${DEPLOYMENT}`,
  JAR,
  '--topic',
  'click events',
  '--since',
  '2024-01-01',
  'a "quoted" $HOME',
]
