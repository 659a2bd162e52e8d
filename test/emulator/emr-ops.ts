// The EMR operations the action uses, request body in, response body out (awsJson1_1).
import type { StepState } from '../../src/aws/emr-port.ts'
import { LIST_STEPS_MAX_IDS, LIST_STEPS_PAGE_SIZE, listStepsOrder } from './emr-rules.ts'
import {
  ApiError,
  clusterShape,
  clusterSummaryShape,
  optionalStrings,
  page,
  requireString,
  stepShape,
  stepSummaryShape,
} from './emr-shapes.ts'
import type { EmrState } from './emr-state.ts'

type Body = Record<string, unknown>

const STEP_STATES: readonly StepState[] = [
  'PENDING',
  'CANCEL_PENDING',
  'RUNNING',
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'INTERRUPTED',
]

const ACTIONS_ON_FAILURE = new Set([
  'TERMINATE_JOB_FLOW',
  'TERMINATE_CLUSTER',
  'CANCEL_AND_WAIT',
  'CONTINUE',
])

export async function dispatch(state: EmrState, op: string, body: Body): Promise<Body> {
  switch (op) {
    case 'DescribeCluster':
      return { Cluster: clusterShape(state.cluster(requireString(body, 'ClusterId'))) }
    case 'ListClusters':
      return listClusters(state, body)
    case 'ListSteps':
      return listSteps(state, body)
    case 'DescribeStep': {
      const clusterId = requireString(body, 'ClusterId')
      state.cluster(clusterId)
      return { Step: stepShape(state.step(clusterId, requireString(body, 'StepId'))) }
    }
    case 'AddJobFlowSteps':
      return addJobFlowSteps(state, body)
    case 'CancelSteps': {
      const clusterId = requireString(body, 'ClusterId')
      state.cluster(clusterId)
      const ids = optionalStrings(body, 'StepIds') ?? []
      const option = body.StepCancellationOption ?? 'SEND_INTERRUPT'
      if (option !== 'SEND_INTERRUPT' && option !== 'TERMINATE_PROCESS') {
        throw new ApiError(
          'ValidationException',
          `Invalid StepCancellationOption: ${String(option)}`,
        )
      }
      const infos = await Promise.all(ids.map((id) => state.cancel(clusterId, id)))
      return { CancelStepsInfoList: ids.map((id, i) => ({ StepId: id, ...infos[i] })) }
    }
    case 'ModifyCluster': {
      const clusterId = requireString(body, 'ClusterId')
      const cluster = state.cluster(clusterId)
      const level = body.StepConcurrencyLevel
      if (level === undefined) return { StepConcurrencyLevel: cluster.stepConcurrencyLevel }
      return { StepConcurrencyLevel: state.setConcurrency(clusterId, Number(level)) }
    }
    default:
      throw new ApiError('UnknownOperationException', `The EMR emulator does not implement ${op}`)
  }
}

function listClusters(state: EmrState, body: Body): Body {
  const states = optionalStrings(body, 'ClusterStates')
  const clusters = [...state.clusters.values()]
    .filter((c) => !states || states.includes(c.state))
    .sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id))
  const { items, marker } = page(clusters, body.Marker)
  return { Clusters: items.map(clusterSummaryShape), ...(marker ? { Marker: marker } : {}) }
}

function listSteps(state: EmrState, body: Body): Body {
  const clusterId = requireString(body, 'ClusterId')
  state.cluster(clusterId)
  const states = optionalStrings(body, 'StepStates')
  for (const s of states ?? []) {
    if (!(STEP_STATES as readonly string[]).includes(s)) {
      throw new ApiError('ValidationException', `Invalid StepState: ${s}`)
    }
  }
  const ids = optionalStrings(body, 'StepIds')
  if (ids && ids.length > LIST_STEPS_MAX_IDS) {
    throw new ApiError(
      'ValidationException',
      `StepIds may name at most ${LIST_STEPS_MAX_IDS} steps`,
    )
  }
  const matching = state
    .stepsOf(clusterId)
    .filter((s) => !states || states.includes(s.state as StepState))
    .filter((s) => !ids || ids.includes(s.id))
  // Newest first without a filter; oldest first with StepStates or StepIds.
  const steps = listStepsOrder(matching, states !== undefined || ids !== undefined)
  const { items, marker } = page(steps, body.Marker, LIST_STEPS_PAGE_SIZE)
  return { Steps: items.map(stepSummaryShape), ...(marker ? { Marker: marker } : {}) }
}

function addJobFlowSteps(state: EmrState, body: Body): Body {
  const clusterId = requireString(body, 'JobFlowId')
  const steps = body.Steps
  if (!Array.isArray(steps) || steps.length === 0 || steps.length > 256) {
    throw new ApiError('ValidationException', 'Steps must hold between 1 and 256 steps')
  }
  const executionRoleArn =
    typeof body.ExecutionRoleArn === 'string' ? body.ExecutionRoleArn : undefined
  // Validate every step before adding any: EMR adds all or nothing.
  const specs = steps.map((raw: unknown) => {
    const step = (raw ?? {}) as Body
    const name = requireString(step, 'Name')
    const hadoop = (step.HadoopJarStep ?? {}) as Body
    const jar = requireString(hadoop, 'Jar')
    const args = optionalStrings(hadoop, 'Args') ?? []
    // The API's fallback is the harshest one; the action must always say CONTINUE.
    const actionOnFailure = (step.ActionOnFailure as string | undefined) ?? 'TERMINATE_CLUSTER'
    if (!ACTIONS_ON_FAILURE.has(actionOnFailure)) {
      throw new ApiError('ValidationException', `Invalid ActionOnFailure: ${actionOnFailure}`)
    }
    const properties: Record<string, string> = {}
    for (const kv of (hadoop.Properties ?? []) as Array<{ Key?: string; Value?: string }>) {
      if (kv.Key) properties[kv.Key] = kv.Value ?? ''
    }
    const mainClass = typeof hadoop.MainClass === 'string' ? hadoop.MainClass : undefined
    return { name, jar, args, actionOnFailure, properties, mainClass, executionRoleArn }
  })
  state.validateStep(clusterId, executionRoleArn)
  return { StepIds: specs.map((spec) => state.addStep(clusterId, spec).id) }
}
