// One streaming application of the local stack: its name, marker prefix, stream and cluster,
// the action inputs that roll it, a way to start a driver of it without the action, and its
// data-safety verdict. The stack's default app is one; `Stack.addApp` makes more (a second app
// on the same cluster, or the same name under another marker prefix).
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { appIdentity, type AppIdentity } from '../../src/contract/identity.ts'
import { markerKeyOfReport } from '../../src/contract/reports.ts'
import { buildSparkStep } from '../../src/contract/step.ts'
import { availableOffset, parseS3Uri, type ActivityEvent, type SourceConfig } from './contract.ts'
import type { EmrEmulator } from './emr-server.ts'
import { computeInvariants, type Invariants } from './invariants.ts'
import { listAllKeys, readOutputs, readText } from './s3-read.ts'

export interface StartAppOptions {
  readonly deploymentId?: string
  /** The stream the driver processes; default the app's. */
  readonly state?: string
  /** Extra marker body fields, e.g. `{ mode: 'standby' }`. */
  readonly markerBody?: Readonly<Record<string, unknown>>
  /** Required on a cluster with runtime roles. */
  readonly executionRoleArn?: string
  readonly sparkSubmitArgs?: readonly string[]
}

export interface StartedApp {
  readonly stepId: string
  readonly deploymentId: string
  readonly markerUri: string
  readonly markerKey: string
}

export interface StackApp {
  readonly appName: string
  /** s3://bucket/<prefix>: the action's marker-prefix for this app. */
  readonly markerPrefix: string
  /** The identity the action gives the app (its tags and step names come from it). */
  readonly identity: AppIdentity
  /** s3://bucket/streams/<stream>: the app's stream. */
  readonly statePrefix: string
  readonly clusterId: string
  /** Working action inputs for this app; add `jar` and timeouts. */
  inputs(overrides?: Readonly<Record<string, string>>): Record<string, string>
  /** Submits a driver directly (marker + step), as an earlier deploy not made by the action. */
  startApp(jarUri: string, options?: StartAppOptions): Promise<StartedApp>
  /** Marker keys of the app (the driver's reports excluded). */
  markers(): Promise<string[]>
  checkInvariants(options?: { state?: string }): Promise<Invariants>
}

export interface AppContext {
  readonly s3: S3Client
  readonly bucket: string
  readonly emr: EmrEmulator
  readonly mainClass: string
  readonly sources: ReadonlyMap<string, SourceConfig>
  readActivity(state?: string): Promise<ActivityEvent[]>
}

let deploySeq = 0

export function stackApp(
  ctx: AppContext,
  app: {
    appName: string
    markerPrefixKey: string
    statePrefix: string
    clusterId: string
  },
): StackApp {
  const { s3, bucket, emr } = ctx
  const markerPrefix = `s3://${bucket}/${app.markerPrefixKey}`
  const identity = appIdentity({ bucket, key: app.markerPrefixKey }, app.appName)
  const markersKey = `${app.markerPrefixKey}/${app.appName}/markers/`
  const self: StackApp = {
    appName: app.appName,
    markerPrefix,
    identity,
    statePrefix: app.statePrefix,
    clusterId: app.clusterId,

    inputs(overrides = {}) {
      return {
        'app-name': app.appName,
        'cluster-id': app.clusterId,
        'main-class': ctx.mainClass,
        'app-args': `--state\n${app.statePrefix}`,
        'marker-prefix': markerPrefix,
        ...overrides,
      }
    },

    async startApp(jarUri, options = {}) {
      deploySeq += 1
      const deploymentId = options.deploymentId ?? `seed-${Date.now().toString(36)}-${deploySeq}`
      const markerKey = `${markersKey}${deploymentId}`
      const markerUri = `s3://${bucket}/${markerKey}`
      const body = {
        version: 1,
        app: app.appName,
        deploymentId,
        clusterId: app.clusterId,
        jar: jarUri,
        createdAt: new Date().toISOString(),
        ...options.markerBody,
      }
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: markerKey, Body: JSON.stringify(body) }),
      )
      const spec = buildSparkStep({
        app: identity,
        deploymentId,
        mainClass: ctx.mainClass,
        sparkSubmitArgs: options.sparkSubmitArgs ?? [],
        appArgs: ['--state', options.state ?? app.statePrefix],
        jarUri,
        markerUri,
      })
      const step = emr.state.addStep(app.clusterId, {
        name: spec.name,
        jar: spec.jar,
        args: spec.args,
        actionOnFailure: spec.actionOnFailure,
        properties: {},
        ...(options.executionRoleArn ? { executionRoleArn: options.executionRoleArn } : {}),
      })
      return { stepId: step.id, deploymentId, markerUri, markerKey }
    },

    async markers() {
      const keys = await listAllKeys(s3, bucket, markersKey)
      return keys.filter((k) => markerKeyOfReport(k) === undefined)
    },

    async checkInvariants(options = {}) {
      const state = options.state ?? app.statePrefix
      const stateKey = parseS3Uri(state).key
      const source = ctx.sources.get(state)
      if (!source) throw new Error(`unknown stream ${state}: create it with newStream`)
      const checkpoint = await readText(s3, bucket, `${stateKey}/checkpoint.json`)
      const outputKeys = await listAllKeys(s3, bucket, `${stateKey}/output/`)
      return computeInvariants({
        events: await ctx.readActivity(state),
        outputs: await readOutputs(s3, bucket, outputKeys),
        committedOffset: checkpoint ? (JSON.parse(checkpoint) as { offset: number }).offset : 0,
        sourceOffset: availableOffset(source, Date.now()),
        liveApps: emr.liveApps().filter((a) => a.state === state),
        markers: (await self.markers()).map((key) => `s3://${bucket}/${key}`),
        now: Date.now(),
      })
    },
  }
  return self
}
