import { expect } from 'chai';
import { REVISION, VERSION } from '../../src/core/version.ts';
import { metricsObserver } from '../../src/observability/controller-metrics.ts';
import { OperatorMetrics } from '../../src/observability/metrics.ts';

describe('metrics: OperatorMetrics', () => {
  it('exposes every operator metric under the config_reload_ prefix', async () => {
    const metrics = new OperatorMetrics();
    const text = await metrics.registry.metrics();
    // Unlabelled metrics appear at once; labelled ones once a label set has been used.
    metrics.rolls.inc({ namespace: 'ns', dry_run: 'false' });
    metrics.adoptions.inc({ namespace: 'ns', dry_run: 'false' });
    metrics.decisions.inc({ action: 'none', reason: 'up_to_date' });
    metrics.reconcileDuration.observe({ result: 'success' }, 0.02);
    metrics.watchRestarts.inc({ resource: 'configmaps', reason: 'timeout' });
    metrics.relists.inc({ resource: 'configmaps', reason: 'initial' });
    metrics.lastSync.set({ resource: 'configmaps' }, 1_767_225_600);
    metrics.watchedObjects.set({ resource: 'deployments' }, 3);
    metrics.apiErrors.inc({ verb: 'patch', code: '409' });
    const after = await metrics.registry.metrics();
    for (const name of [
      'config_reload_reconcile_errors_total',
      'config_reload_queue_depth',
      'config_reload_queue_waiting',
      'config_reload_queue_wait_seconds_bucket',
      'config_reload_leader',
    ]) {
      expect(text, name).to.match(new RegExp(`^${name}[ {]`, 'm'));
    }
    for (const line of [
      'config_reload_rolls_total{namespace="ns",dry_run="false"} 1',
      'config_reload_adoptions_total{namespace="ns",dry_run="false"} 1',
      'config_reload_decisions_total{action="none",reason="up_to_date"} 1',
      'config_reload_reconcile_duration_seconds_count{result="success"} 1',
      'config_reload_watch_restarts_total{resource="configmaps",reason="timeout"} 1',
      'config_reload_relists_total{resource="configmaps",reason="initial"} 1',
      'config_reload_last_sync_timestamp_seconds{resource="configmaps"} 1767225600',
      'config_reload_watched_objects{resource="deployments"} 3',
      'config_reload_api_errors_total{verb="patch",code="409"} 1',
    ]) {
      expect(after.split('\n'), line).to.include(line);
    }
  });

  it('counts would-be rolls in dry-run apart from real rolls', async () => {
    const metrics = new OperatorMetrics();
    metrics.rolls.inc({ namespace: 'a', dry_run: 'true' });
    metrics.rolls.inc({ namespace: 'a', dry_run: 'true' });
    metrics.rolls.inc({ namespace: 'a', dry_run: 'false' });
    const lines = (await metrics.registry.metrics()).split('\n');
    expect(lines).to.include('config_reload_rolls_total{namespace="a",dry_run="true"} 2');
    expect(lines).to.include('config_reload_rolls_total{namespace="a",dry_run="false"} 1');
  });

  it('reports leadership as 0 until told otherwise', async () => {
    const metrics = new OperatorMetrics();
    expect((await metrics.registry.metrics()).split('\n')).to.include('config_reload_leader 0');
    metrics.isLeader.set(1);
    expect((await metrics.registry.metrics()).split('\n')).to.include('config_reload_leader 1');
  });

  it('says which build runs: config_reload_build_info{version,revision} 1, version from package.json', async () => {
    const lines = (await new OperatorMetrics().registry.metrics()).split('\n');
    expect(VERSION).to.match(/^\d+\.\d+\.\d+/);
    // Run from source (tsx), no revision was built in.
    expect(REVISION).to.equal('unknown');
    expect(lines).to.include(`config_reload_build_info{version="${VERSION}",revision="unknown"} 1`);
  });

  it('includes the standard process metrics under prom-client\'s names, with current values', async () => {
    const metrics = new OperatorMetrics();
    const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const before = await metrics.registry.metrics();
    // What the chart's dashboard, the alerts and bench/ read, and the rest of the set.
    for (const name of [
      'process_cpu_user_seconds_total', 'process_cpu_system_seconds_total', 'process_cpu_seconds_total',
      'process_start_time_seconds', 'process_resident_memory_bytes', 'process_open_fds', 'process_max_fds',
      'nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_external_memory_bytes',
      'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p50_seconds', 'nodejs_eventloop_lag_p90_seconds', 'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(before, name).to.match(new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'));
      expect(value(before, name), name).to.be.a('number').and.not.NaN;
    }
    // Per V8 heap space, as prom-client names them (bench/memory.ts reads the totals).
    for (const space of ['new', 'old', 'code']) expect(before, space).to.match(new RegExp(`^nodejs_heap_space_size_total_bytes\\{space="${space}"\\} \\d+$`, 'm'));
    expect(before).to.match(/^nodejs_heap_space_size_used_bytes\{space="old"\} \d+$/m);
    expect(before).to.match(/^nodejs_version_info\{version="v\d+\.\d+\.\d+",major="\d+",minor="\d+",patch="\d+"\} 1$/m);
    // Read when scraped: the figures are this process's own.
    expect(value(before, 'process_resident_memory_bytes')).to.be.within(process.memoryUsage.rss() / 2, process.memoryUsage.rss() * 2);
    expect(value(before, 'process_start_time_seconds')).to.be.within(Date.now() / 1000 - process.uptime() - 2, Date.now() / 1000);
    // CPU time is a counter of the process's own use: it never goes back between scrapes.
    const cpu = value(before, 'process_cpu_seconds_total');
    for (let i = 0, x = 0; i < 2e6; i++) x += i; // some CPU between the scrapes
    const after = await metrics.registry.metrics();
    expect(value(after, 'process_cpu_seconds_total')).to.be.at.least(cpu);
    expect(value(after, 'process_cpu_seconds_total')).to.be.closeTo(value(after, 'process_cpu_user_seconds_total') + value(after, 'process_cpu_system_seconds_total'), 1e-6);
    // The text format Prometheus asks for by default (0.0.4).
    expect(metrics.registry.contentType).to.equal('text/plain; version=0.0.4; charset=utf-8');
  });

  it('the event-loop delay figures are set before they are read: each scrape shows its own interval, not the previous one', async () => {
    // The registry collects in registration order, and nodejs_eventloop_lag_seconds's collect
    // sets the seven figures: registered after them, every scrape printed the previous one's.
    const metrics = new OperatorMetrics();
    const order = metrics.registry.getMetricsAsArray().map((m) => m.name).filter((n) => n.startsWith('nodejs_eventloop_lag_'));
    expect(order).to.have.length(8);
    expect(order[0]).to.equal('nodejs_eventloop_lag_seconds');
  });

  it('a read that fails (EMFILE near the descriptor limit) keeps its last value; the scrape still answers', async () => {
    const metrics = new OperatorMetrics();
    const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const first = value(await metrics.registry.metrics(), 'process_resident_memory_bytes');
    const rss = process.memoryUsage.rss;
    process.memoryUsage.rss = () => {
      throw Object.assign(new Error('EMFILE: too many open files, uv_resident_set_memory'), { code: 'EMFILE' });
    };
    try {
      expect(value(await metrics.registry.metrics(), 'process_resident_memory_bytes')).to.equal(first);
    } finally {
      process.memoryUsage.rss = rss;
    }
  });

  it('keeps each instance in its own registry (two can coexist)', async () => {
    const a = new OperatorMetrics();
    const b = new OperatorMetrics();
    a.reconcileErrors.inc();
    expect((await a.registry.metrics()).split('\n')).to.include('config_reload_reconcile_errors_total 1');
    expect((await b.registry.metrics()).split('\n')).to.include('config_reload_reconcile_errors_total 0');
  });

  it('wave_held names a held ConfigMap but no Secret: Secrets are summed per namespace, name empty', async () => {
    const metrics = new OperatorMetrics();
    const observer = metricsObserver(metrics);
    const series = async () => (await metrics.registry.metrics()).split('\n').filter((l) => l.startsWith('config_reload_wave_held{'));
    observer.waveHeld!({ kind: 'ConfigMap', namespace: 'shop', name: 'shared-config' }, 4);
    observer.waveHeld!({ kind: 'Secret', namespace: 'shop', name: 'payment-gateway-api-key' }, 3);
    observer.waveHeld!({ kind: 'Secret', namespace: 'shop', name: 'db-root-password' }, 2);
    observer.waveHeld!({ kind: 'Secret', namespace: 'ops', name: 'pager-token' }, 1);
    expect(await series()).to.deep.equal([
      'config_reload_wave_held{namespace="shop",kind="ConfigMap",name="shared-config"} 4',
      'config_reload_wave_held{namespace="shop",kind="Secret",name=""} 5',
      'config_reload_wave_held{namespace="ops",kind="Secret",name=""} 1',
    ]);
    const text = await metrics.registry.metrics();
    for (const name of ['payment-gateway-api-key', 'db-root-password', 'pager-token']) expect(text).not.to.contain(name);
    // Released one by one: the namespace's series goes with its last held Secret.
    observer.waveHeld!({ kind: 'Secret', namespace: 'shop', name: 'payment-gateway-api-key' }, 0);
    expect(await series()).to.include('config_reload_wave_held{namespace="shop",kind="Secret",name=""} 2');
    observer.waveHeld!({ kind: 'Secret', namespace: 'shop', name: 'db-root-password' }, 0);
    observer.waveHeld!({ kind: 'ConfigMap', namespace: 'shop', name: 'shared-config' }, 0);
    expect(await series()).to.deep.equal(['config_reload_wave_held{namespace="ops",kind="Secret",name=""} 1']);
  });
});
