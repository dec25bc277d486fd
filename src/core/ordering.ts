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

/**
 * How the stores date what they observe, for the histories that say what the pods run
 * (docs/architecture.md, "What the pods run"). Ordered: by resourceVersion, which compares across
 * kinds in one etcd. Unordered (`--template-order off`): by the order in which this process saw
 * things, one counter for every watch — the only order it has there.
 */
export interface Dater {
  /** A watch event, or a bookmark, carrying this resourceVersion. */
  event(resourceVersion: string | undefined): bigint | undefined;
  /** A list made at this resourceVersion (its items are dated by their own: item()). */
  list(resourceVersion: string | undefined): bigint | undefined;
  /** An item of a list dated `listedAt`, as of its own last write. */
  item(resourceVersion: string | undefined, listedAt: bigint | undefined): bigint | undefined;
  /** An answer to our own write. */
  answer(resourceVersion: string | undefined): bigint | undefined;
}

export const BY_RESOURCE_VERSION: Dater = Object.freeze({
  event: parseResourceVersion,
  list: parseResourceVersion,
  item: (rv: string | undefined) => parseResourceVersion(rv),
  answer: parseResourceVersion,
});

export function byArrival(): Dater {
  let seq = 0n;
  const next = () => ++seq;
  return { event: next, list: next, item: (_rv, listedAt) => listedAt, answer: next };
}
