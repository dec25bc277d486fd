// Label selectors as the apiserver reads them (k8s.io/apimachinery labels.Parse), the one parser
// of both commands: the operator checks its --configmap-selector / --secret-selector with it at
// start (a selector the apiserver refuses would fail every list, forever) and then passes them to
// the apiserver as given; explain also evaluates them, since an object outside them is absent to
// the operator.
//
// Grammar: requirements separated by commas — `k`, `!k`, `k=v`, `k==v`, `k!=v`,
// `k in (a,b)`, `k notin (a,b)`, `k>n`, `k<n`. `!=` and `notin` match objects without the key.

type Requirement =
  | { key: string; op: 'exists' | 'absent' }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'gt' | 'lt'; value: number };

export type LabelSelector = readonly Requirement[];

// A label key: an optional DNS-subdomain prefix and '/', then a name; a value: empty or a name.
const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** The requirements of `text`; throws an Error saying which part is not a selector. */
export function parseLabelSelector(text: string): LabelSelector {
  const requirements: Requirement[] = [];
  for (const part of splitTopLevel(text)) {
    const item = part.trim();
    if (item === '') throw new Error('an empty requirement');
    requirements.push(requirement(item));
  }
  return requirements;
}

export function matchesLabelSelector(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  const has = (k: string) => labels !== undefined && Object.hasOwn(labels, k);
  return selector.every((r) => {
    switch (r.op) {
      case 'exists': return has(r.key);
      case 'absent': return !has(r.key);
      case 'in': return has(r.key) && r.values.includes(labels![r.key]!);
      case 'notin': return !has(r.key) || !r.values.includes(labels![r.key]!);
      case 'gt':
      case 'lt': {
        if (!has(r.key) || !/^-?\d+$/.test(labels![r.key]!)) return false;
        const n = Number(labels![r.key]);
        return r.op === 'gt' ? n > r.value : n < r.value;
      }
    }
  });
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth < 0) throw new Error(`unbalanced ")" in ${JSON.stringify(text)}`);
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (depth !== 0) throw new Error(`unbalanced "(" in ${JSON.stringify(text)}`);
  parts.push(current);
  return parts;
}

function requirement(item: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(item);
  if (set) {
    const values = set[3]!.split(',').map((v) => v.trim());
    return { key: key(set[1]!, item), op: set[2] as 'in' | 'notin', values: values.map((v) => value(v, item)) };
  }
  if (item.startsWith('!')) return { key: key(item.slice(1).trim(), item), op: 'absent' };
  const compare = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(\S*)$/.exec(item);
  if (compare) {
    const [, k, op, v] = compare as unknown as [string, string, string, string];
    if (op === '>' || op === '<') {
      if (!/^-?\d+$/.test(v)) throw new Error(`${JSON.stringify(item)}: ${op} needs an integer`);
      return { key: key(k, item), op: op === '>' ? 'gt' : 'lt', value: Number(v) };
    }
    return { key: key(k, item), op: op === '!=' ? 'notin' : 'in', values: [value(v, item)] };
  }
  // Neither a set, a negation nor a comparison: a bare key, unless it holds what a key cannot.
  if (/[\s=!<>()]/.test(item)) {
    throw new Error(`${JSON.stringify(item)}: a requirement is KEY, !KEY, KEY=VALUE, KEY!=VALUE, KEY in (V,…), KEY notin (V,…), KEY>N or KEY<N`);
  }
  return { key: key(item, item), op: 'exists' };
}

function key(k: string, item: string): string {
  if (k.length > 316 || !KEY.test(k)) throw new Error(`${JSON.stringify(item)}: ${JSON.stringify(k)} is not a label key`);
  return k;
}

function value(v: string, item: string): string {
  if (v.length > 63 || !VALUE.test(v)) throw new Error(`${JSON.stringify(item)}: ${JSON.stringify(v)} is not a label value`);
  return v;
}
