// What the operator measures is shown and alerted on, and documented: every config_reload_*
// metric the operator registers is in docs/operating.md's metrics table (and nothing else is), is
// queried by a panel of the chart's dashboard (but the named exceptions), and held waves,
// unavailable watches and workloads held by a missing ConfigMap or Secret each have an alert.
// That the names, labels and label values used exist on a running operator's /metrics is
// test/e2e/monitoring.test.ts's part.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { metricsObserver } from '../../src/observability/controller-metrics.ts';
import { OperatorMetrics } from '../../src/observability/metrics.ts';
import { chartTools, DASHBOARD, mustFind, renderChart, ROOT } from '../support/chart.ts';

/** Metrics no dashboard panel needs to show, each with its reason. */
const NOT_ON_THE_DASHBOARD = new Map([
  ['config_reload_build_info', 'which build runs: a label lookup, not a signal over time'],
]);

const operatorMetrics = new OperatorMetrics().registry.getMetricsAsArray().map((m) => m.name).filter((n) => n.startsWith('config_reload_')).sort();

/** A series name as used in a query, mapped to its family: a histogram's _bucket, _sum, _count. */
function family(name: string): string {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return operatorMetrics.includes(base) ? base : name;
}

const namesIn = (text: string): string[] => [...text.matchAll(/\bconfig_reload_[a-z_]+/g)].map((m) => family(m[0]));

interface Dashboard { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> }

describe('monitoring coverage: documented, on the dashboard, alerted on', function () {
  this.timeout(75 * 60_000); // a cold testbed build includes helm

  it('the operator registers its metrics (the list this test works from)', () => {
    expect(operatorMetrics).to.include.members(['config_reload_rolls_total', 'config_reload_wave_held', 'config_reload_watch_available', 'config_reload_build_info']);
  });

  it('docs/operating.md\'s metrics table lists exactly the metrics the operator registers', () => {
    const documented = new Set<string>();
    for (const line of readFileSync(path.join(ROOT, 'docs', 'operating.md'), 'utf8').split('\n')) {
      // A row of a metrics table: its first cell names one or more metrics.
      const first = /^\| (`config_reload_[^|]*)\|/.exec(line)?.[1];
      if (first) for (const name of namesIn(first)) documented.add(name);
    }
    expect([...documented].sort()).to.deep.equal(operatorMetrics);
  });

  it('every metric is queried by a dashboard panel, but the named exceptions', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
    const shown = new Set(dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => namesIn(t.expr))));
    expect(operatorMetrics.filter((m) => !shown.has(m) && !NOT_ON_THE_DASHBOARD.has(m)), 'on no panel').to.deep.equal([]);
    for (const m of NOT_ON_THE_DASHBOARD.keys()) expect(operatorMetrics, `${m}: an exception for a metric that is not there`).to.include(m);
    // The held workloads, by cause: both kinds of missing object.
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.some((e) => e.includes('config_reload_decisions_total') && e.includes('configmap_missing') && e.includes('secret_missing')),
      'a panel of workloads held by a missing ConfigMap or Secret').to.equal(true);
  });

  it('an alert each for held waves, unavailable watches, and workloads held by a missing ConfigMap or Secret', async () => {
    await chartTools();
    const rule = mustFind(await renderChart({ values: { prometheusRule: { enabled: true } } }), 'PrometheusRule');
    const alerts = (rule.spec as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules);
    const alerting = (what: string, test: (expr: string) => boolean) =>
      expect(alerts.filter((a) => test(a.expr)).map((a) => a.alert), what).to.have.length.greaterThan(0);
    alerting('held waves', (e) => e.includes('config_reload_wave_held'));
    // A held Secret's series has name="" (no label carries a Secret's name): the alert's text
    // must read without it, and point at the Event that names the Secret.
    const held = alerts.find((a) => a.expr.includes('config_reload_wave_held')) as unknown as { annotations: { summary: string; description: string } };
    expect(held.annotations.summary).to.contain('{{ if $labels.name }}').and.contain('in namespace {{ $labels.namespace }}');
    expect(held.annotations.description).to.contain('reason=WaveHeld');
    alerting('unavailable watches', (e) => e.includes('config_reload_watch_available'));
    for (const reason of ['configmap_missing', 'secret_missing']) {
      alerting(reason, (e) => e.includes('config_reload_decisions_total') && e.includes(reason));
    }
  });

  it('no metric label carries a Secret\'s name (issue 21): a held Secret is counted per namespace', async () => {
    const metrics = new OperatorMetrics();
    const observer = metricsObserver(metrics);
    observer.waveHeld!({ kind: 'Secret', namespace: 'shop', name: 'stripe-live-key' }, 3);
    observer.waveHeld!({ kind: 'ConfigMap', namespace: 'shop', name: 'shared' }, 2);
    const text = await metrics.registry.metrics();
    expect(text).not.to.contain('stripe-live-key');
    expect(text.split('\n')).to.include('config_reload_wave_held{namespace="shop",kind="Secret",name=""} 3');
    expect(text.split('\n')).to.include('config_reload_wave_held{namespace="shop",kind="ConfigMap",name="shared"} 2');
  });
});

