// The EMR port over @aws-sdk/client-emr. No polling here: that is poll.ts's job, pacing and read
// retries PacedEmr's, so every call the rollover makes stays visible to the run's rate budget
// (DESIGN.md) and to `calls`. The one retry loop here is addStep's, which must look before it
// resubmits.
import {
  requestHandlerOptions,
  resolveEndpoint,
  resolveRegion,
  USER_AGENT,
  type SocketTimeouts,
} from './endpoints.ts'
import {
  AddJobFlowStepsCommand,
  CancelStepsCommand,
  DescribeClusterCommand,
  DescribeStepCommand,
  EMRClient,
  ListClustersCommand,
  ListStepsCommand,
  type ClusterState,
  type Step,
  type StepSummary,
} from '@aws-sdk/client-emr'
import {
  CancelStepFailed,
  ClusterGone,
  ACTIVE_STEP_STATES,
  STEP_STATES,
  type ClusterInfo,
  type ClusterRef,
  type EmrPort,
  type StepInfo,
  type StepSpec,
  type StepState,
} from './emr-port.ts'
import { UserError } from '../errors.ts'
import type { Log } from '../log.ts'

const ACTIVE_CLUSTER_STATES: ClusterState[] = ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING']
const GONE_CLUSTER_STATES = new Set(['TERMINATING', 'TERMINATED', 'TERMINATED_WITH_ERRORS'])
const ACCESS_DENIED_NAMES = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnauthorizedOperation',
])

/**
 * One attempt per call unless `maxAttempts` says otherwise: the SDK's own retries would spend the
 * account's shared EMR quota where neither the run's RateBudget nor its call counts see them, and
 * give up after a fixed number of attempts instead of at the phase's deadline. PacedEmr retries
 * reads, AwsEmr.addStep its submission. `standard` mode: `adaptive` would add the SDK's own
 * client-side rate limiter, sleeping on the real clock after a throttle, on top of the budget.
 */
export function createEmrClient(
  options: {
    region?: string
    env?: NodeJS.ProcessEnv
    maxAttempts?: number
    timeouts?: SocketTimeouts
  } = {},
): EMRClient {
  const env = options.env ?? process.env
  const region = resolveRegion(options.region, env)
  const endpoint = configuredEndpoint(env)
  return new EMRClient({
    region,
    retryMode: 'standard',
    maxAttempts: options.maxAttempts ?? 1,
    customUserAgent: USER_AGENT,
    requestHandler: requestHandlerOptions(options.timeouts),
    ...(endpoint === undefined ? {} : { endpoint }),
  })
}

/** The EMR endpoint from the environment (kept for callers that inspect it). */
export function configuredEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  return resolveEndpoint('EMR', env)
}

export interface AwsEmrOptions {
  readonly log?: Pick<Log, 'info'>
}

export { CancelStepFailed } from './emr-port.ts'

export class AwsEmr implements EmrPort {
  /**
   * HTTP requests sent to EMR, by operation. Counts the SDK's own retries too (from
   * `$metadata.attempts`), because those are what EMR's rate limits see.
   */
  readonly calls = new Map<string, number>()

  private readonly client: EMRClient
  private readonly options: AwsEmrOptions

  constructor(client: EMRClient, options: AwsEmrOptions = {}) {
    this.client = client
    this.options = options
  }

  get totalCalls(): number {
    let total = 0
    for (const n of this.calls.values()) total += n
    return total
  }

  async resolveCluster(ref: ClusterRef): Promise<ClusterInfo> {
    const id = ref.kind === 'id' ? ref.id : await this.findClusterByName(ref.name)
    const input = ref.kind === 'id' ? `cluster-id '${ref.id}'` : `cluster-name '${ref.name}'`
    let out
    try {
      out = await this.call('DescribeCluster', `cluster ${id}`, () =>
        this.client.send(new DescribeClusterCommand({ ClusterId: id })),
      )
    } catch (error) {
      if (isClusterNotFound(error)) {
        throw new ClusterGone(
          `${input}: EMR knows no cluster ${id} in this account and region (${errorMessage(error)}). ` +
            'Check the id in the EMR console, and the aws-region the workflow uses.',
        )
      }
      throw error
    }
    const cluster = out.Cluster
    const state = cluster?.Status?.State ?? 'UNKNOWN'
    if (GONE_CLUSTER_STATES.has(state)) {
      throw new ClusterGone(
        `${input}: cluster ${id} is ${state} and cannot take steps. ` +
          'Point `cluster-id` at a running cluster.',
      )
    }
    if (state === 'STARTING' || state === 'BOOTSTRAPPING') {
      this.options.log?.info(
        `Cluster ${id} is ${state}: new steps queue until it is ready, which counts against start-timeout.`,
      )
    }
    return {
      id,
      name: cluster?.Name ?? (ref.kind === 'name' ? ref.name : id),
      state,
      stepConcurrencyLevel: cluster?.StepConcurrencyLevel ?? 1,
      releaseLabel: cluster?.ReleaseLabel,
      ...(cluster?.LogUri ? { logUri: cluster.LogUri } : {}),
    }
  }

  async listActiveSteps(clusterId: string): Promise<StepInfo[]> {
    const steps: StepInfo[] = []
    let marker: string | undefined
    do {
      const out = await this.call('ListSteps', `cluster ${clusterId}`, () =>
        this.client.send(
          new ListStepsCommand({
            ClusterId: clusterId,
            StepStates: [...ACTIVE_STEP_STATES],
            ...(marker === undefined ? {} : { Marker: marker }),
          }),
        ),
      )
      for (const step of out.Steps ?? []) steps.push(toStepInfo(step))
      marker = out.Marker
    } while (marker)
    // With a StepStates filter EMR documents no order: newest first, by creation time.
    return steps.sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0))
  }

  async listRecentSteps(clusterId: string): Promise<StepInfo[]> {
    const out = await this.call('ListSteps', `cluster ${clusterId}`, () =>
      this.client.send(new ListStepsCommand({ ClusterId: clusterId })),
    )
    return (out.Steps ?? []).map(toStepInfo)
  }

  async describeStep(clusterId: string, stepId: string): Promise<StepInfo> {
    const out = await this.call('DescribeStep', `cluster ${clusterId}`, () =>
      this.client.send(new DescribeStepCommand({ ClusterId: clusterId, StepId: stepId })),
    )
    if (!out.Step) throw new Error(`DescribeStep returned no step for ${stepId} on ${clusterId}`)
    return toStepInfo(out.Step)
  }

  async listStepsById(clusterId: string, stepIds: readonly string[]): Promise<StepInfo[]> {
    const out = await this.call('ListSteps', `cluster ${clusterId}`, () =>
      this.client.send(new ListStepsCommand({ ClusterId: clusterId, StepIds: [...stepIds] })),
    )
    return (out.Steps ?? []).map(toStepInfo)
  }

  /**
   * One AddJobFlowSteps request. It is not idempotent: the run's PacedEmr retries it, looking
   * the step up by its unique name before it resubmits after anything but a throttle.
   */
  addStep(clusterId: string, step: StepSpec, executionRoleArn?: string): Promise<string> {
    return this.sendAddStep(this.client, clusterId, step, executionRoleArn)
  }

  private async sendAddStep(
    client: EMRClient,
    clusterId: string,
    step: StepSpec,
    executionRoleArn: string | undefined,
  ): Promise<string> {
    const out = await this.call('AddJobFlowSteps', `cluster ${clusterId}`, () =>
      client.send(
        new AddJobFlowStepsCommand({
          JobFlowId: clusterId,
          Steps: [
            {
              Name: step.name,
              ActionOnFailure: step.actionOnFailure,
              HadoopJarStep: { Jar: step.jar, Args: [...step.args] },
            },
          ],
          ...(executionRoleArn === undefined ? {} : { ExecutionRoleArn: executionRoleArn }),
        }),
      ),
    )
    const id = out.StepIds?.[0]
    if (!id) throw new Error(`AddJobFlowSteps on ${clusterId} returned no step id`)
    return id
  }

  async cancelStep(clusterId: string, stepId: string): Promise<void> {
    const out = await this.call('CancelSteps', `cluster ${clusterId}`, () =>
      this.client.send(
        new CancelStepsCommand({
          ClusterId: clusterId,
          StepIds: [stepId],
          StepCancellationOption: 'SEND_INTERRUPT',
        }),
      ),
    )
    const info = out.CancelStepsInfoList?.find((i) => i.StepId === stepId)
    if (info?.Status === 'FAILED') throw new CancelStepFailed(stepId, info.Reason)
  }

  private async findClusterByName(name: string): Promise<string> {
    const active: { id: string; name: string }[] = []
    let marker: string | undefined
    do {
      const out = await this.call('ListClusters', `cluster-name '${name}'`, () =>
        this.client.send(
          new ListClustersCommand({
            ClusterStates: ACTIVE_CLUSTER_STATES,
            ...(marker === undefined ? {} : { Marker: marker }),
          }),
        ),
      )
      for (const c of out.Clusters ?? []) {
        if (c.Id) active.push({ id: c.Id, name: c.Name ?? '' })
      }
      marker = out.Marker
    } while (marker)
    const matches = active.filter((c) => c.name === name)
    const [only] = matches
    if (only && matches.length === 1) return only.id
    if (matches.length > 1) {
      throw new UserError(
        `cluster-name '${name}': ${matches.length} active clusters have this name ` +
          `(${matches.map((c) => c.id).join(', ')}). Use \`cluster-id\` to pick one.`,
      )
    }
    const names = active.slice(0, 10).map((c) => `'${c.name}' (${c.id})`)
    const more = active.length > 10 ? ` and ${active.length - 10} more` : ''
    throw new UserError(
      `cluster-name '${name}': no active cluster (${ACTIVE_CLUSTER_STATES.join(', ')}) has this exact name. ` +
        (active.length === 0
          ? 'There is no active cluster in this account and region.'
          : `Active clusters: ${names.join(', ')}${more}.`),
    )
  }

  /** Counts the call and turns a denied permission into a message naming the IAM action. */
  private async call<T extends { $metadata?: { attempts?: number } }>(
    operation: string,
    target: string,
    send: () => Promise<T>,
  ): Promise<T> {
    let out: T
    try {
      out = await send()
    } catch (error) {
      const attempts = metadataAttempts(error)
      this.count(operation, attempts)
      if (isAccessDenied(error)) throw accessDenied(operation, target, error)
      if (error instanceof Error && !error.message.startsWith('EMR ')) {
        // Only the message: the name and $metadata still tell isTransient what this is.
        const after = attempts && attempts > 1 ? ` after ${attempts} attempts` : ''
        error.message = `EMR ${operation} (${target}) failed${after}: ${error.message}`
      }
      throw error
    }
    this.count(operation, out.$metadata?.attempts)
    return out
  }

  private count(operation: string, attempts: number | undefined): void {
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + (attempts ?? 1))
  }
}

function toStepInfo(step: Step | StepSummary): StepInfo {
  const state = step.Status?.State
  if (!STEP_STATES.includes(state as StepState)) {
    throw new Error(`step ${step.Id ?? '?'} has an unknown state: ${String(state)}`)
  }
  const timeline = step.Status?.Timeline
  const failure = step.Status?.FailureDetails
  return {
    id: step.Id ?? '',
    name: step.Name ?? '',
    jar: step.Config?.Jar ?? '',
    args: step.Config?.Args ?? [],
    // TERMINATE_JOB_FLOW is the old spelling of TERMINATE_CLUSTER.
    actionOnFailure:
      step.ActionOnFailure === 'TERMINATE_JOB_FLOW'
        ? 'TERMINATE_CLUSTER'
        : (step.ActionOnFailure ?? 'CONTINUE'),
    state: state as StepState,
    ...('ExecutionRoleArn' in step && step.ExecutionRoleArn
      ? { executionRoleArn: step.ExecutionRoleArn }
      : {}),
    createdAt: timeline?.CreationDateTime,
    startedAt: timeline?.StartDateTime,
    endedAt: timeline?.EndDateTime,
    failure: failure && {
      reason: failure.Reason,
      message: failure.Message,
      logFile: failure.LogFile,
    },
  }
}

function accessDenied(operation: string, target: string, error: unknown): UserError {
  const message = errorMessage(error)
  // The denied action may not be the operation's own, e.g. iam:PassRole for an execution role.
  const action =
    /not authorized to perform:?\s+([\w-]+:[\w*]+)/i.exec(message)?.[1] ??
    `elasticmapreduce:${operation}`
  const denied = new UserError(
    `Access denied: the workflow's AWS credentials may not call ${action} on ${target}. ` +
      `Allow ${action} in the IAM policy of the role the workflow assumes. AWS said: ${message}`,
  )
  denied.cause = error
  return denied
}

function isAccessDenied(error: unknown): boolean {
  return error instanceof Error && ACCESS_DENIED_NAMES.has(error.name)
}

function isClusterNotFound(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (error.name === 'ClusterNotFound' || error.name === 'ResourceNotFoundException') return true
  return (
    error.name === 'InvalidRequestException' &&
    /not valid|does not exist|not found/i.test(error.message)
  )
}

function metadataAttempts(error: unknown): number | undefined {
  return (error as { $metadata?: { attempts?: number } } | null)?.$metadata?.attempts
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
