// Which came first: a change to a workload's pod template, or a change to the configuration it
// consumes? A rollout started by a template change written after the configuration changed
// already runs the new configuration, so the operator records the digest without a second
// roll (docs/architecture.md, "Ordering").
//
// The order comes from resourceVersions. Kubernetes 1.35 made them officially comparable
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
 * True only when the current pod template is known to have been written after every consumed
 * configuration change: `templateAtLeast` is the earliest resourceVersion the template write can
 * have (exact when the watch delivered it, a lower bound after a relist), `configAtMost` the
 * latest the last consumed configuration change can have. Unknown on either side: false.
 */
export function templateCarriesConfig(templateAtLeast: bigint | undefined, configAtMost: bigint | undefined): boolean {
  return templateAtLeast !== undefined && configAtMost !== undefined && templateAtLeast > configAtMost;
}

export function maxVersion(versions: Iterable<bigint | undefined>): bigint | undefined {
  let max = 0n;
  for (const v of versions) {
    if (v === undefined) return undefined;
    if (v > max) max = v;
  }
  return max;
}
