// The three Lease calls leader election makes, as an interface: the elector is driven through
// it, so unit tests substitute an in-memory Lease and a virtual clock for the apiserver.
//
// Every call takes an AbortSignal rather than a timeout: the elector aborts a request at a
// deadline it measures on its own (monotonic, injectable) clock — a renewal that hangs must
// end no later than the moment the replica stops being leader.
import type { ResourceType } from '../kube/cluster-api.ts';
import type { HttpClusterApi } from '../kube/http-cluster-api.ts';
import type { Lease } from './lease-rules.ts';

const LEASES: ResourceType = { kind: 'Lease', apiPath: '/apis/coordination.k8s.io/v1', plural: 'leases' };

/**
 * One Lease, namespace and name bound. Failures reject with the API's error, whose status
 * `httpStatus()` (src/kube/api-error.ts) reads: 404 from read() when the Lease does not exist,
 * 409 from create() or replace() when another writer got there first. An aborted call rejects
 * with the signal's reason.
 */
export interface LeaseApi {
  read(signal: AbortSignal): Promise<Lease>;
  create(body: Lease, signal: AbortSignal): Promise<Lease>;
  /** Optimistic concurrency: rejected with 409 unless body.metadata.resourceVersion is current. */
  replace(body: Lease, signal: AbortSignal): Promise<Lease>;
}

/** The LeaseApi of a real cluster, through the operator's own HTTP layer. */
export function clusterLeaseApi(api: HttpClusterApi, namespace: string, name: string): LeaseApi {
  return {
    read: (signal) => api.get<Lease>(LEASES, namespace, name, signal),
    create: (body, signal) => api.create<Lease>(LEASES, namespace, body, signal),
    replace: (body, signal) => api.replace<Lease>(LEASES, namespace, name, body, signal),
  };
}
