import { expect } from 'chai';
import { ConfigError, parseConfig, parseDuration } from '../../src/config.ts';

function config(argv: string[], env: Record<string, string> = {}) {
  const r = parseConfig(argv, env);
  if (r.help) throw new Error('unexpected help');
  return r.config;
}

describe('config: flags and environment', () => {
  it('defaults', () => {
    const c = config([]);
    expect(c.dryRun).to.equal(false);
    expect(c.debounceMs).to.equal(1000);
    expect(c.workers).to.equal(4);
    expect(c.resyncPeriodMs).to.equal(10 * 60_000);
    expect(c.watchIdleTimeoutMs).to.equal(150_000);
    expect(c.logFormat).to.equal('json');
    expect(c.httpPort).to.equal(8080);
    expect(c.namespaces).to.deep.equal([]);
    expect(c.leaderElect).to.equal(false);
  });

  it('reads every flag', () => {
    const c = config(['--dry-run', '--debounce', '250ms', '--workers', '7', '--resync-period', '0', '--log-level', 'debug',
      '--log-format', 'text', '--http-addr', '127.0.0.1:9090', '--namespace', 'team-a', '--kubeconfig', '/k']);
    expect(c).to.deep.include({ dryRun: true, debounceMs: 250, workers: 7, resyncPeriodMs: 0, logLevel: 'debug', logFormat: 'text',
      httpHost: '127.0.0.1', httpPort: 9090, namespaces: ['team-a'], kubeconfig: '/k' });
  });

  it('--watch-idle-timeout (CONFIG_RELOAD_WATCH_IDLE_TIMEOUT): the watchdog, at least 1s', () => {
    expect(config(['--watch-idle-timeout', '3s']).watchIdleTimeoutMs).to.equal(3000);
    expect(config([], { CONFIG_RELOAD_WATCH_IDLE_TIMEOUT: '90s' }).watchIdleTimeoutMs).to.equal(90_000);
    expect(() => config(['--watch-idle-timeout', '500ms'])).to.throw(ConfigError, /--watch-idle-timeout/);
    expect(() => config(['--watch-idle-timeout', '0'])).to.throw(ConfigError, /at least 1s/);
  });

  it('takes environment variables, and a flag wins over its variable', () => {
    const env = { CONFIG_RELOAD_DRY_RUN: 'true', CONFIG_RELOAD_DEBOUNCE: '2s', CONFIG_RELOAD_WORKERS: '3' };
    expect(config([], env)).to.include({ dryRun: true, debounceMs: 2000, workers: 3 });
    expect(config(['--debounce', '100ms'], env).debounceMs).to.equal(100);
  });

  it('rejects unknown flags, bad values and bad durations with a message naming the flag', () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--bogus'], {}, /bogus/],
      [['--workers', '0'], {}, /--workers/],
      [['--workers', 'many'], {}, /--workers/],
      [['--debounce', '5 minutes'], {}, /--debounce/],
      [['--log-format', 'xml'], {}, /--log-format.*json, text/],
      [['--http-addr', 'nope'], {}, /--http-addr/],
      [[], { CONFIG_RELOAD_DRY_RUN: 'maybe' }, /CONFIG_RELOAD_DRY_RUN/],
      [['--leader-elect'], {}, /leader-election-namespace/],
      [['positional'], {}, /positional/],
      [['--lease-duration', '1500ms'], {}, /whole seconds/],
    ];
    for (const [argv, env, message] of cases) {
      expect(() => parseConfig(argv, env), argv.join(' ')).to.throw(ConfigError, message);
    }
  });

  it('--namespace takes a list (one watch each); selectors are passed to the apiserver, what cannot be one refused', () => {
    expect(config(['--namespace', 'shop, blog,shop']).namespaces).to.deep.equal(['blog', 'shop']);
    expect(() => config(['--namespace', 'Shop'])).to.throw(ConfigError, /--namespace: "Shop" is not a namespace name/);
    const c = config(['--configmap-selector', 'app=web,tier!=cache', '--secret-selector', 'env in (prod,staging)']);
    expect(c.configMapSelector).to.equal('app=web,tier!=cache');
    expect(c.secretSelector).to.equal('env in (prod,staging)');
    expect(() => config(['--configmap-selector', 'app=web,,x'])).to.throw(ConfigError, /--configmap-selector/);
  });

  it('--wave-threshold, --canary-size, --waves, --wave-timeout: defaults, flags, variables, bounds', () => {
    expect(config([])).to.deep.include({ waveThreshold: 5, canarySize: 1, waves: 1, waveTimeoutMs: 600_000 });
    expect(config(['--wave-threshold', '0', '--canary-size', '3', '--waves', '4', '--wave-timeout', '90s']))
      .to.deep.include({ waveThreshold: 0, canarySize: 3, waves: 4, waveTimeoutMs: 90_000 });
    expect(config([], { CONFIG_RELOAD_WAVE_THRESHOLD: '20', CONFIG_RELOAD_CANARY_SIZE: '2', CONFIG_RELOAD_WAVES: '2', CONFIG_RELOAD_WAVE_TIMEOUT: '1m' }))
      .to.deep.include({ waveThreshold: 20, canarySize: 2, waves: 2, waveTimeoutMs: 60_000 });
    expect(() => config(['--waves', '0'])).to.throw(ConfigError, /--waves 0: must be between 1 and 1000/);
    expect(() => config(['--canary-size', '0'])).to.throw(ConfigError, /--canary-size 0/);
    expect(() => config(['--wave-timeout', '0'])).to.throw(ConfigError, /--wave-timeout "0": must be more than 0/);
    expect(() => config(['--wave-threshold', 'many'])).to.throw(ConfigError, /--wave-threshold "many": expected a whole number/);
  });

  it('--template-order: resource-version by default, off to always roll, anything else refused', () => {
    expect(config([]).templateOrder).to.equal('resource-version');
    expect(config(['--template-order', 'off']).templateOrder).to.equal('off');
    expect(config([], { CONFIG_RELOAD_TEMPLATE_ORDER: 'off' }).templateOrder).to.equal('off');
    expect(() => config(['--template-order', 'wall-clock'])).to.throw(ConfigError, /--template-order "wall-clock": expected one of resource-version, off/);
  });

  it('parses durations', () => {
    expect(parseDuration('--x', '1.5s')).to.equal(1500);
    expect(parseDuration('--x', '2m')).to.equal(120_000);
    expect(parseDuration('--x', '0')).to.equal(0);
    expect(() => parseDuration('--x', '-1s')).to.throw(ConfigError);
  });

  it('refuses every duration past the longest timer Node.js arms (2^31-1 ms), by flag or variable, naming the flag and the maximum', () => {
    // A longer timer fires after 1 ms: --watch-idle-timeout=1000h re-opened its watch 640 times in 2 s.
    expect(parseDuration('--x', '596h')).to.equal(596 * 3_600_000);
    expect(parseDuration('--x', '2147483647ms')).to.equal(2 ** 31 - 1);
    expect(() => parseDuration('--x', '2147483648ms')).to.throw(ConfigError);
    expect(() => parseDuration('--x', '9'.repeat(400) + 'h')).to.throw(ConfigError); // Infinity
    const durations = { debounce: 'DEBOUNCE', 'resync-period': 'RESYNC_PERIOD', 'watch-idle-timeout': 'WATCH_IDLE_TIMEOUT', 'wave-timeout': 'WAVE_TIMEOUT', 'lease-duration': 'LEASE_DURATION' };
    for (const [flag, variable] of Object.entries(durations)) {
      const message = `--${flag} "1000h": too long: at most 596h (2147483647 ms, the longest timer Node.js can arm)`;
      expect(() => config([`--${flag}`, '1000h']), flag).to.throw(ConfigError).with.property('message', message);
      expect(() => config([], { [`CONFIG_RELOAD_${variable}`]: '1000h' }), variable).to.throw(ConfigError).with.property('message', message);
      expect(() => config([`--${flag}`, '597h']), flag).to.throw(ConfigError, /too long/);
    }
    expect(config(['--watch-idle-timeout', '596h']).watchIdleTimeoutMs).to.equal(596 * 3_600_000);
  });

  it('--help asks for the usage text', () => {
    expect(parseConfig(['--help'], {})).to.deep.equal({ help: true });
  });

  describe('namespace selection', () => {
    it('a selector, exclusions, and each with the fixed list: a list minus its exclusions', () => {
      expect(config(['--namespace-selector', 'team in (a,b),!legacy'])).to.deep.include({ namespaceSelector: 'team in (a,b),!legacy', namespaces: [], excludeNamespaces: [] });
      expect(config([], { CONFIG_RELOAD_NAMESPACE_SELECTOR: 'reload=on', CONFIG_RELOAD_EXCLUDE_NAMESPACES: 'kube-system,b' }))
        .to.deep.include({ namespaceSelector: 'reload=on', excludeNamespaces: ['b', 'kube-system'] });
      expect(config(['--namespace', 'a,b,c', '--exclude-namespaces', 'b'])).to.deep.include({ namespaces: ['a', 'c'], excludeNamespaces: ['b'] });
      expect(config(['--exclude-namespaces', 'kube-system'])).to.deep.include({ namespaces: [], namespaceSelector: undefined, excludeNamespaces: ['kube-system'] });
    });

    it('refuses a list with a selector, a list emptied by its exclusions, a bad selector or name, each naming the flags', () => {
      expect(() => config(['--namespace', 'a', '--namespace-selector', 'x=y'])).to.throw(ConfigError, /--namespace and --namespace-selector exclude each other/);
      expect(() => config(['--namespace', 'a'], { CONFIG_RELOAD_NAMESPACE_SELECTOR: 'x=y' })).to.throw(ConfigError, /exclude each other/);
      expect(() => config(['--namespace', 'a,b', '--exclude-namespaces', 'b,a'])).to.throw(ConfigError, /--exclude-namespaces excludes every namespace of --namespace/);
      expect(() => config(['--namespace-selector', 'a in (b'])).to.throw(ConfigError, /--namespace-selector .*not a label selector/);
      expect(() => config(['--exclude-namespaces', 'Not_A_Name'])).to.throw(ConfigError, /--exclude-namespaces: "Not_A_Name" is not a namespace name/);
    });
  });
});
