// The deploy lock as a fence (DESIGN.md): the ports the phases see under the lock check, before
// every mutation, that the lock is still held. A lost lock stops the run before its next change
// (marker delete or write, ledger and current.json writes, AddJobFlowSteps, CancelSteps, kill
// step), with no grace.
import type { EmrPort } from '../aws/emr-port.ts'
import type { ObjectStore } from '../aws/object-store.ts'
import type { S3Location } from '../aws/s3-location.ts'

export function fencedEmr(emr: EmrPort, fence: () => void): EmrPort {
  return {
    resolveCluster: (ref) => emr.resolveCluster(ref),
    listActiveSteps: (clusterId) => emr.listActiveSteps(clusterId),
    listRecentSteps: (clusterId) => emr.listRecentSteps(clusterId),
    describeStep: (clusterId, stepId) => emr.describeStep(clusterId, stepId),
    listStepsById: (clusterId, stepIds) => emr.listStepsById(clusterId, stepIds),
    addStep: async (clusterId, step, role) => {
      fence()
      return emr.addStep(clusterId, step, role)
    },
    cancelStep: async (clusterId, stepId) => {
      fence()
      return emr.cancelStep(clusterId, stepId)
    },
  }
}

/** `guarded` says which writes are shared state (markers, ledger, current.json). */
export function fencedStore(
  store: ObjectStore,
  fence: () => void,
  guarded: (location: S3Location) => boolean,
): ObjectStore {
  return {
    head: (location) => store.head(location),
    getText: (location, options) => store.getText(location, options),
    list: (prefix) => store.list(prefix),
    putText: async (location, body, condition, options) => {
      if (guarded(location)) fence()
      return store.putText(location, body, condition, options)
    },
    delete: async (location, condition) => {
      if (guarded(location)) fence()
      return store.delete(location, condition)
    },
    uploadFile: (location, path, onProgress) => store.uploadFile(location, path, onProgress),
    ...(store.getBytes ? { getBytes: store.getBytes.bind(store) } : {}),
  }
}
