// The flag table (src/config/flags.ts) and what is derived from it: the variables, --help, and
// explain's subset, which must take exactly what the operator takes. docs/flags.md's tables are
// checked against it in test/system/flag-docs.test.ts (that test reads a file).
import { expect } from 'chai';
import { ConfigError, parseConfig, USAGE } from '../../src/config.ts';
import { FLAGS, INSTALL_NAMESPACE } from '../../src/config/flags.ts';
import { flagMarkdown, flagUsage } from '../../src/config/help.ts';
import { readFlags, value } from '../../src/config/spec.ts';
import { httpAddr, objectName, text } from '../../src/config/values.ts';
import { EXPLAIN_FLAGS, EXPLAIN_USAGE, parseExplainArgs } from '../../src/explain/args.ts';

const errorOf = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as Error).message;
  }
  return 'no error';
};

describe('flags: one table', () => {
  it('every flag has its own variable, CONFIG_RELOAD_<FLAG> (--kubeconfig: KUBECONFIG)', () => {
    for (const [name, flag] of Object.entries(FLAGS)) {
      expect(flag.env, name).to.equal(name === 'kubeconfig' ? 'KUBECONFIG' : `CONFIG_RELOAD_${name.toUpperCase().replaceAll('-', '_')}`);
    }
  });

  it('--help lists every flag with its default; explain --help every flag of its own', () => {
    for (const [name, flag] of Object.entries(FLAGS)) {
      expect(USAGE, name).to.contain(`--${name}`);
      if (flag.kind === 'value' && typeof flag.default === 'string') expect(USAGE, name).to.contain(`(default ${flag.default})`);
    }
    for (const name of Object.keys(EXPLAIN_FLAGS)) expect(EXPLAIN_USAGE, name).to.contain(`--${name}`);
    expect(USAGE).to.contain('(default $POD_NAMESPACE, else config-reload-system)').and.not.contain('`');
    expect(USAGE).to.contain('config-reload-operator --version');
    expect(EXPLAIN_USAGE).to.contain('-n, --namespace NS').and.contain('-o, --output FORMAT').and.contain('(default $POD_NAMESPACE, else config-reload-system)');
  });

  it('a flag wins over its variable; an empty variable is unset, unless the flag keeps it ("" = none)', () => {
    const c = (argv: string[], env: Record<string, string>) => {
      const r = parseConfig(argv, env);
      if (r.help) throw new Error('help');
      return r.config;
    };
    expect(c(['--workers', '2'], { CONFIG_RELOAD_WORKERS: '3' }).workers).to.equal(2);
    expect(c([], { CONFIG_RELOAD_WORKERS: '' }).workers).to.equal(4);
    expect(c([], { CONFIG_RELOAD_EXCLUDE_SECRET_TYPES: '' }).secretFieldSelector).to.equal(undefined);
    expect(c([], {}).secretFieldSelector).to.equal('type!=helm.sh/release.v1');
    expect(c([], { POD_NAMESPACE: 'ops' })).to.deep.include({ digestKeyNamespace: 'ops', leaderElectionNamespace: 'ops' });
    expect(c([], { POD_NAMESPACE: 'ops', CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: 'keys' }).digestKeyNamespace).to.equal('keys');
  });

  it('one default for the digest key\'s namespace: the operator and explain, given the same environment, look in the same place', () => {
    const operator = (env: Record<string, string>) => {
      const r = parseConfig([], env);
      if (r.help) throw new Error('help');
      return r.config.digestKeyNamespace;
    };
    const explain = (env: Record<string, string>) => {
      const r = parseExplainArgs(['deploy/web'], env);
      if (r.help) throw new Error('help');
      return r.args.digestKeyNamespace;
    };
    // Outside a cluster: where manifests/ and the README's Helm install put the operator.
    for (const [env, expected] of [
      [{}, INSTALL_NAMESPACE], [{ POD_NAMESPACE: '' }, INSTALL_NAMESPACE], [{ POD_NAMESPACE: 'ops' }, 'ops'],
      [{ POD_NAMESPACE: 'ops', CONFIG_RELOAD_DIGEST_KEY_NAMESPACE: 'keys' }, 'keys'],
    ] as const) {
      expect(operator(env), JSON.stringify(env)).to.equal(expected);
      expect(explain(env), JSON.stringify(env)).to.equal(expected);
    }
    expect(INSTALL_NAMESPACE).to.equal('config-reload-system');
  });

  it('explain takes the operator\'s flags it shares with the operator\'s variables and validation', () => {
    const shared = Object.keys(EXPLAIN_FLAGS).filter((name) => name in FLAGS && name !== 'namespace');
    expect(shared).to.deep.equal(['kubeconfig', 'digest-key-secret', 'digest-key-namespace', 'config-sources', 'configmap-selector', 'secret-selector', 'exclude-secret-types', 'namespace-selector', 'exclude-namespaces', 'accept-annotations', 'max-keys-per-object']);
    const bad: Record<string, string[]> = {
      'digest-key-secret': ['Bad_Name', ''],
      'digest-key-namespace': ['-x'],
      'config-sources': ['pods', '', 'configmaps,pods'],
      'configmap-selector': ['a=b,', 'app==web,,x', 'a in (b', 'a;b'],
      'secret-selector': ['a=b,', ',a'],
      'exclude-secret-types': ['a b', 'x=y'],
      'accept-annotations': ['kyverno', 'reloader,flux'],
      'max-keys-per-object': ['0', '-1', 'many', '2.5'],
    };
    for (const [name, values] of Object.entries(bad)) {
      for (const raw of values) {
        const operator = errorOf(() => parseConfig([`--${name}`, raw], {}));
        expect(operator, `${name} ${raw}`).to.not.equal('no error');
        expect(errorOf(() => parseExplainArgs(['deploy/web', `--${name}`, raw], {})), `${name} ${raw}`).to.equal(operator);
        // The same through the variable ("" there is unset: the default).
        const env = { [FLAGS[name as keyof typeof FLAGS].env!]: raw || 'Bad_Name' };
        const fromEnv = errorOf(() => parseConfig([], env));
        expect(fromEnv, JSON.stringify(env)).to.not.equal('no error');
        expect(errorOf(() => parseExplainArgs(['deploy/web'], env)), JSON.stringify(env)).to.equal(fromEnv);
      }
    }
    // The kubeconfig's variable is read by the kubeconfig loader, as kubectl reads it (a list of files too).
    const r = parseExplainArgs(['deploy/web'], { KUBECONFIG: '/a:/b' });
    expect(!r.help && r.args.kubeconfig).to.equal(undefined);
  });

  it('a selector the apiserver would refuse is refused at start by the one parser, alike by the operator and explain', () => {
    const expected = '--secret-selector "a in (b": not a label selector: unbalanced "(" in "a in (b" (e.g. app=web,tier!=cache or env in (prod,staging))';
    expect(errorOf(() => parseConfig(['--secret-selector', 'a in (b'], {}))).to.equal(expected);
    expect(errorOf(() => parseExplainArgs(['deploy/web', '--secret-selector', 'a in (b'], {}))).to.equal(expected);
    // Characters a selector may hold, in an order the apiserver refuses (each passed the old check).
    for (const bad of ['a=b c', '=x', 'a in b', 'Tier=web!', 'a>b', 'x/y/z=1']) {
      expect(errorOf(() => parseConfig(['--configmap-selector', bad], {})), bad).to.match(/^--configmap-selector .*: not a label selector: /);
      expect(errorOf(() => parseConfig([], { CONFIG_RELOAD_CONFIGMAP_SELECTOR: bad })), bad).to.match(/^--configmap-selector .*: not a label selector: /);
    }
    for (const good of ['app=web,tier!=cache', 'env in (prod, staging)', '!canary', 'example.com/team notin (a,b)', 'n>3']) {
      expect(errorOf(() => parseConfig(['--configmap-selector', good], {})), good).to.equal('no error');
    }
  });

  it('--http-addr: no host is every interface of both stacks (\'\'), an IPv6 host in brackets, anything else refused', () => {
    expect(httpAddr(':8080', '--http-addr')).to.deep.equal({ host: '', port: 8080 });
    expect(httpAddr('0.0.0.0:8080', '--http-addr')).to.deep.equal({ host: '0.0.0.0', port: 8080 });
    expect(httpAddr('[::1]:9090', '--http-addr')).to.deep.equal({ host: '::1', port: 9090 });
    expect(httpAddr('[::]:9090', '--http-addr')).to.deep.equal({ host: '::', port: 9090 });
    expect(httpAddr('off', '--http-addr').port).to.equal(-1);
    for (const bad of ['::1:8080', '8080', ':99999', '[::1]', 'a:b:80']) {
      expect(errorOf(() => httpAddr(bad, '--http-addr')), bad).to.match(/^--http-addr .*: expected \[HOST\]:PORT/);
    }
  });

  it('renders any table: --help aligned and wrapped, Markdown with pipes escaped, a computed default shown as written', () => {
    const table = {
      name: value({ short: 'x', env: 'X', arg: 'A|B', default: 'a', parse: text, help: 'one of `a` or `b`', details: 'more' }),
      where: value({ arg: 'NS', default: (env) => env.HOME ?? 'none', defaultText: '`$HOME`', parse: objectName, help: 'w' }),
    };
    expect(flagUsage(table)).to.equal([
      '  -x, --name A|B  one of a or b (default a)',
      '      --where NS  w (default $HOME)',
      '  -h, --help      this text',
    ].join('\n'));
    expect(flagMarkdown(table, { env: true }).split('\n')).to.deep.equal([
      '| flag | environment | default | meaning |',
      '|---|---|---|---|',
      '| `-x, --name A\\|B` | `X` | `a` | one of `a` or `b` more |',
      '| `--where NS` | — | `$HOME` | w |',
    ]);
    const read = readFlags(table, ['-x', 'b'], { HOME: 'home' });
    expect(read).to.deep.equal({ help: false, values: { name: 'b', where: 'home' }, positionals: [] });
    expect(errorOf(() => readFlags(table, [], { HOME: 'Home' }))).to.equal('--where "Home": not a valid Kubernetes object name');
  });
});
