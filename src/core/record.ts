// The operator's record on a workload: what it last established its pods run. It is written in
// the same merge patch as the config-hash annotation, so that every replica, after any restart,
// relist or failover, reads from the object alone what no event history is needed for
// (docs/architecture.md, "What the pods run"):
//
//   config-reload.dev/record: "template=<fingerprint>;at=<resourceVersion>;ConfigMap/app=<part>;Secret/db=<part>"
//
// - template: the fingerprint of the pod template as the patch left it. While the template
//   still has it, nobody rolled the workload since: its pods run what the parts say.
// - at: the resourceVersion the patch was made on (its precondition). A template write by
//   someone else came after it; a config object not written since ran unchanged through it.
// - one part per consumed object: a keyed digest of the keys the pods read (src/core/digest.ts,
//   sourcePart), so that one object can be told apart from the others (an ignored one, a newly
//   named one) without revealing anything of a Secret's value.
import { ANNOTATION_PREFIX } from './annotations.ts';
import type { SourceKind } from './types.ts';

export const RECORD_ANNOTATION = `${ANNOTATION_PREFIX}record`;

export interface WorkloadRecord {
  /** Fingerprint of the pod template the record describes (src/state/template.ts). */
  readonly template: string;
  /** The resourceVersion the record was written on; undefined when it is not an integer. */
  readonly at: bigint | undefined;
  /** "Kind/name" → part, for every object consumed when it was written. */
  readonly parts: ReadonlyMap<string, string>;
}

const FINGERPRINT = /^[0-9a-f]{32}$/;
const PART = /^[0-9a-f]{16}$/;
const RESOURCE_VERSION = /^[1-9][0-9]{0,30}$/;
const NAME = /^(ConfigMap|Secret)\/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** A part no content has (but with odds of 2⁻⁶⁴): what the pods run of that object is not known. */
export const UNKNOWN_PART = '0000000000000000';

/** "Kind/name": how a part is named in the record. */
export function partName(kind: SourceKind, name: string): string {
  return `${kind}/${name}`;
}

export function formatRecord(record: WorkloadRecord): string {
  const parts = [...record.parts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, part]) => `${name}=${part}`);
  return [`template=${record.template}`, ...(record.at !== undefined ? [`at=${record.at}`] : []), ...parts].join(';');
}

/**
 * The record, or undefined when the annotation is absent or malformed (hand-edited, cut, from
 * another version): such a record is not trusted at all, and the workload is treated as one
 * whose record predates it (src/core/decide.ts).
 */
export function parseRecord(value: string | undefined): WorkloadRecord | undefined {
  if (value === undefined || value.length > 256 * 1024) return undefined;
  let template: string | undefined;
  let at: bigint | undefined;
  const parts = new Map<string, string>();
  for (const field of value.split(';')) {
    const eq = field.indexOf('=');
    if (eq < 0) return undefined;
    const name = field.slice(0, eq);
    const v = field.slice(eq + 1);
    if (name === 'template') {
      if (!FINGERPRINT.test(v)) return undefined;
      template = v;
    } else if (name === 'at') {
      if (!RESOURCE_VERSION.test(v)) return undefined;
      at = BigInt(v);
    } else if (NAME.test(name) && PART.test(v)) {
      parts.set(name, v);
    } else {
      return undefined;
    }
  }
  return template === undefined ? undefined : Object.freeze({ template, at, parts });
}
