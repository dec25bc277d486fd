// Which came first: a change to a workload's pod template, or a change to the configuration it
// consumes? The pods run the configuration of their template's last write (docs/architecture.md,
// "What the pods run"), and the order comes from resourceVersions. Kubernetes 1.35 made them officially comparable
// (KEP-5504): they are etcd revisions, one counter for every object in one etcd, so a
// ConfigMap's and a Deployment's compare too — as long as both types live in the same etcd,
// the default (not under --etcd-servers-overrides). Anything that is not a canonical decimal
// integer cannot be ordered, and an order that cannot be established means: roll.

/** The integer a resourceVersion stands for, or undefined when it is not one. */
export function parseResourceVersion(rv: string | undefined): bigint | undefined {
  if (rv === undefined || !/^[1-9][0-9]{0,30}$/.test(rv)) return undefined;
  return BigInt(rv);
}

/** a ≥ b as resourceVersions; undefined when either cannot be ordered. */
export function atOrAfter(a: string | undefined, b: string | undefined): boolean | undefined {
  const x = parseResourceVersion(a);
  const y = parseResourceVersion(b);
  return x === undefined || y === undefined ? undefined : x >= y;
}

/**
 * Whether resourceVersions of workloads and of config objects may be compared: 'off' for
 * clusters that keep them in different etcd servers (--etcd-servers-overrides).
 */
export type TemplateOrder = 'resource-version' | 'off';
