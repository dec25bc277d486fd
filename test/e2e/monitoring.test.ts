// The chart's Grafana dashboard and alert rules name only metrics and labels a running operator
// exposes. The operator is driven through every path those name (adoption, roll, a missing
// ConfigMap and a missing Secret, a refused patch, a watch cut by an apiserver restart), /metrics
// is fetched, and every expression is parsed by Prometheus' own parser (testbed/chart-check):
// each metric must be exposed, each label matched, grouped or printed must be one of its labels
// (or a label Prometheus adds to every target), and each label value matched exactly must have
// been seen. A family exposed without a series (config_reload_wave_held has one only while a
// wave is held) is checked against the labels it is declared with (src/observability/metrics.ts).
// The rule file passes Prometheus' own rule validation (that of `promtool check rules`).
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';
import { testbed } from './hooks.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, httpGet, kubectl,
  podSpecWithVolume, recordedHash, rewriteConfigMap, waitFor, waitForReplicaSets,
} from './support.ts';
import { chartTools, DASHBOARD, mustFind, renderChart, run } from '../support/chart.ts';
import { OperatorMetrics } from '../../src/observability/metrics.ts';

/** Labels Prometheus attaches to every scraped series, whatever the discovery. */
const TARGET_LABELS = new Set(['job', 'instance']);
/** Series Prometheus makes itself for every target. */
const SYNTHETIC: Record<string, Set<string>> = { up: new Set() };

interface Matcher { label: string; op: string; value: string }
interface Analysis {
  id: string;
  expr: string;
  error?: string;
  selectors: Array<{ metric: string; matchers: Matcher[] }>;
  groupings: Array<{ clause: string; labels: string[]; metrics: string[] }>;
}

/** What /metrics exposes: each series name with its label names and the values seen per label. */
class Exposition {
  readonly families = new Map<string, string>();
  readonly series = new Map<string, Map<string, Set<string>>>();

  constructor(text: string) {
    for (const line of text.split('\n')) {
      const type = /^# TYPE (\S+) (\S+)/.exec(line);
      if (type) {
        this.families.set(type[1]!, type[2]!);
        continue;
      }
      if (line.startsWith('#') || line.trim() === '') continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
      if (!m) continue;
      const labels = this.series.get(m[1]!) ?? new Map<string, Set<string>>();
      this.series.set(m[1]!, labels);
      for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        const values = labels.get(k!) ?? new Set<string>();
        values.add(v!);
        labels.set(k!, values);
      }
    }
  }

  /** A series name is exposed: a family, or a histogram's _bucket/_sum/_count. */
  has(metric: string): boolean {
    return this.series.has(metric) || this.families.has(metric);
  }

  labelsOf(metric: string): Map<string, Set<string>> | undefined {
    return this.series.get(metric);
  }

  /** The label names of a family exposed with no series yet, as the operator declares it. */
  declaredLabels(metric: string): Set<string> | undefined {
    if (!this.families.has(metric) || this.series.has(metric)) return undefined;
    const declared = new OperatorMetrics().registry.getSingleMetric(metric) as unknown as { labelNames?: readonly string[] } | undefined;
    return declared?.labelNames ? new Set(declared.labelNames) : undefined;
  }
}

function substituteGrafana(expr: string): string {
  // Grafana's interval variables become durations; template variables only appear inside
  // label-matcher strings, which any text may fill.
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{(\w+)\}/g, '$$$1');
}

describe('monitoring: the dashboard and alert rules name only what /metrics exposes', () => {
  let ns: string;
  let op: OperatorProcess | undefined;
  let exposition: Exposition;
  const policy = `cro-deny-hash-${Math.random().toString(16).slice(2, 8)}`;

  before(async function () {
    this.timeout(75 * 60_000); // a cold testbed build includes chart-check
    await chartTools();
    ns = await createNamespace('mon');
  });

  after(async () => {
    await op?.stop();
    try {
      kubectl('delete', 'validatingadmissionpolicybinding', policy, 'validatingadmissionpolicy', policy, '--ignore-not-found');
    } catch {
      // not created
    }
    await deleteNamespace(ns);
  });

  it('1. the operator, driven through adoption, a roll, a missing ConfigMap and Secret, a refused patch and a watch restart, exposes its metrics', async () => {
    const cp = testbed().controlPlane;
    if (!cp) throw new Error('this test restarts the kube-apiserver (watch restarts): it needs the local control plane');
    // A policy that refuses the operator's write of config-hash on one Deployment: a patch error.
    applyPolicy(policy, ns);

    await createConfigMap(ns, 'mon-cm', { v: '1' });
    await createDeployment(ns, deployment('web', { annotations: ENABLED, podSpec: podSpecWithVolume('mon-cm') }));
    await createDeployment(ns, deployment('held', { annotations: ENABLED, podSpec: podSpecWithVolume('absent-cm') }));
    await createDeployment(ns, deployment('held-secret', {
      annotations: ENABLED, podSpec: { containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ secretRef: { name: 'absent-secret' } }] }] },
    }));
    await createDeployment(ns, deployment('denied', { annotations: ENABLED, podSpec: podSpecWithVolume('mon-cm') }));
    // A policy takes effect once the apiserver has loaded it: probe with a server-side dry run.
    await waitFor('the policy enforced', async () => {
      try {
        kubectl('annotate', '-n', ns, 'deployment/denied', 'config-reload.dev/config-hash=probe', '--dry-run=server');
        return undefined;
      } catch (err) {
        return /denied request|test policy/.test(String((err as { stderr?: string }).stderr)) ? true : undefined;
      }
    });
    op = await OperatorProcess.start({ args: ['--namespace', ns] });
    const port = await op.httpPort();
    await recordedHash(ns, 'web');
    await rewriteConfigMap(ns, 'mon-cm', { v: '2' });
    await waitForReplicaSets(ns, 'web', 2);
    await op.waitForLog('the refused patch', (l) => l.message === 'patch refused by the API server' && l.workload === `Deployment/${ns}/denied`);
    await op.waitForLog('the missing ConfigMap', (l) => l.message === 'required ConfigMap missing' && l.workload === `Deployment/${ns}/held`);
    await op.waitForLog('the missing Secret', (l) => l.message === 'required Secret missing' && l.workload === `Deployment/${ns}/held-secret`);

    await cp.stopApiServer();
    try {
      await op.waitForLog('a failed watch', (l) => l.message === 'list/watch failed: retrying');
    } finally {
      await cp.startApiServer();
    }
    const text = await waitFor('watch restarts and API errors in /metrics', async () => {
      const body = (await httpGet(port, '/metrics')).body;
      return /^config_reload_watch_restarts_total\{/m.test(body) && /^config_reload_api_errors_total\{/m.test(body) ? body : undefined;
    }, 120_000);
    exposition = new Exposition(text);
    expect(exposition.families.size).to.be.greaterThan(20);
  });

  it('2. every dashboard query and every alert rule: valid PromQL, exposed metrics, existing labels, seen label values', async () => {
    const { chartCheck } = await chartTools();
    const rendered = await renderChart({ values: { prometheusRule: { enabled: true } } });
    const rule = mustFind(rendered, 'PrometheusRule');
    const ruleSpec = rule.spec as { groups: Array<{ name: string; rules: Array<{ alert?: string; expr: string; annotations?: Record<string, string> }> }> };

    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string; legendFormat?: string }> }>;
      templating: { list: Array<{ name: string; query?: unknown; definition?: string }> };
    };
    const expressions: Array<{ id: string; expr: string }> = [];
    /** Label names printed by a legend or an annotation, per expression id. */
    const printed = new Map<string, string[]>();
    for (const p of dashboard.panels) {
      for (const [i, t] of (p.targets ?? []).entries()) {
        const id = `dashboard "${p.title}" #${i}`;
        expressions.push({ id, expr: substituteGrafana(t.expr) });
        printed.set(id, [...(t.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!));
      }
    }
    for (const g of ruleSpec.groups) {
      for (const r of g.rules) {
        printed.set(`rule ${g.name}/${r.alert}`, Object.values(r.annotations ?? {}).flatMap((a) => [...a.matchAll(/\$labels\.(\w+)/g)].map((m) => m[1]!)));
      }
    }
    expect(expressions.length, 'dashboard queries').to.be.greaterThan(15);

    const out = JSON.parse(run(chartCheck, ['monitoring'], { input: JSON.stringify({ rules: JSON.stringify(ruleSpec), expressions }) })) as {
      ruleErrors: string[]; expressions: Analysis[];
    };
    expect(out.ruleErrors, 'the rule file, as `promtool check rules` validates it').to.deep.equal([]);
    expect(out.expressions.filter((e) => e.id.startsWith('rule ')).length, 'rules analysed').to.equal(ruleSpec.groups.flatMap((g) => g.rules).length);

    const problems: string[] = [];
    for (const e of out.expressions) problems.push(...check(e, exposition, printed.get(e.id) ?? []));

    // Grafana's template variables query label values of a metric.
    for (const v of dashboard.templating.list) {
      const lv = /label_values\((\w+),\s*(\w+)\)/.exec(v.definition ?? '');
      if (!lv) continue;
      const [, metric, label] = lv;
      if (!exposition.has(metric!)) problems.push(`variable $${v.name}: metric ${metric} is not exposed`);
      else if (!TARGET_LABELS.has(label!) && !exposition.labelsOf(metric!)?.has(label!)) problems.push(`variable $${v.name}: ${metric} has no label ${label}`);
    }
    expect(problems, 'names that do not exist').to.deep.equal([]);
  });
});

/** Every name an expression uses, against the exposition. */
function check(e: Analysis, exposition: Exposition, printedLabels: string[]): string[] {
  const problems: string[] = [];
  const where = `${e.id}: ${e.expr}`;
  if (e.error) return [`${where}: ${e.error}`];
  const labelsOf = (metric: string): Set<string> | undefined => {
    if (SYNTHETIC[metric]) return SYNTHETIC[metric];
    const labels = exposition.labelsOf(metric);
    return labels ? new Set(labels.keys()) : exposition.declaredLabels(metric);
  };
  for (const s of e.selectors) {
    if (!s.metric) {
      problems.push(`${where}: a selector without a metric name`);
      continue;
    }
    if (!SYNTHETIC[s.metric] && !exposition.has(s.metric)) {
      problems.push(`${where}: metric ${s.metric} is not exposed`);
      continue;
    }
    const labels = labelsOf(s.metric);
    if (!labels) {
      problems.push(`${where}: ${s.metric} has no sample, so its labels cannot be checked — the test must make the operator produce one`);
      continue;
    }
    for (const m of s.matchers) {
      if (TARGET_LABELS.has(m.label)) continue;
      if (!labels.has(m.label)) {
        problems.push(`${where}: ${s.metric} has no label ${m.label}`);
      } else if (m.op === '=' && !exposition.labelsOf(s.metric)?.get(m.label)?.has(m.value)) {
        problems.push(`${where}: ${s.metric}{${m.label}="${m.value}"} was never exposed (values seen: ${[...exposition.labelsOf(s.metric)?.get(m.label) ?? []].join(', ') || 'none'})`);
      }
    }
  }
  const all = new Set<string>();
  for (const s of e.selectors) for (const l of labelsOf(s.metric) ?? []) all.add(l);
  for (const g of e.groupings) {
    const available = new Set<string>();
    for (const metric of g.metrics) for (const l of labelsOf(metric) ?? []) available.add(l);
    for (const l of g.labels) {
      if (!TARGET_LABELS.has(l) && !available.has(l)) problems.push(`${where}: ${g.clause} (${l}): no metric of ${g.metrics.join(', ')} has that label`);
    }
  }
  for (const l of printedLabels) {
    if (!TARGET_LABELS.has(l) && !all.has(l)) problems.push(`${where}: prints {{${l}}}, a label none of its metrics has`);
  }
  return problems;
}

/** A ValidatingAdmissionPolicy refusing the operator's config-hash on the Deployment "denied" of `namespace`. */
function applyPolicy(name: string, namespace: string): void {
  const manifest = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['deployments'] }] },
          matchConditions: [{
            name: 'config-hash-on-denied',
            expression: "object.metadata.name == 'denied' && has(object.metadata.annotations) && 'config-reload.dev/config-hash' in object.metadata.annotations",
          }],
          validations: [{ expression: 'false', message: 'test policy: config-hash writes to this Deployment are refused' }],
        },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name },
        spec: {
          policyName: name,
          validationActions: ['Deny'],
          matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } },
        },
      },
    ],
  };
  const file = path.join(scratchDir('policy'), 'policy.json');
  writeFileSync(file, JSON.stringify(manifest));
  kubectl('apply', '-f', file);
}
