// The three Lease calls leader election makes, as an interface: the elector is driven through
// it, so unit tests substitute an in-memory Lease and a virtual clock for the apiserver.
//
// Every call takes an AbortSignal rather than a timeout: the elector aborts a request at a
// deadline it measures on its own (monotonic, injectable) clock — a renewal that hangs must
// end no later than the moment the replica stops being leader.
import { CoordinationV1Api, type ConfigurationOptions, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { requestSignal } from '../kube/request-timeout.ts';

/**
 * One Lease, namespace and name bound. Failures reject with the API's error, whose status
 * `httpStatus()` (src/kube/api-error.ts) reads: 404 from read() when the Lease does not exist,
 * 409 from create() or replace() when another writer got there first. An aborted call rejects
 * with the signal's reason.
 */
export interface LeaseApi {
  read(signal: AbortSignal): Promise<V1Lease>;
  create(body: V1Lease, signal: AbortSignal): Promise<V1Lease>;
  /** Optimistic concurrency: rejected with 409 unless body.metadata.resourceVersion is current. */
  replace(body: V1Lease, signal: AbortSignal): Promise<V1Lease>;
}

/** The LeaseApi of a real cluster, through client-node. */
export function clusterLeaseApi(kc: KubeConfig, namespace: string, name: string): LeaseApi {
  const api = kc.makeApiClient(CoordinationV1Api);
  return {
    read: (signal) => api.readNamespacedLease({ namespace, name }, abortedBy(signal)),
    create: (body, signal) => api.createNamespacedLease({ namespace, body }, abortedBy(signal)),
    replace: (body, signal) => api.replaceNamespacedLease({ namespace, name, body }, abortedBy(signal)),
  };
}

/** Hands `signal` to the request's fetch (client-node 2.x has no signal parameter of its own). */
function abortedBy(signal: AbortSignal): ConfigurationOptions {
  return requestSignal(() => signal);
}
