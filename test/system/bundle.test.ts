// The bundle of scripts/build.sh (what the image runs) is split so that the operator in a cluster
// never parses @kubernetes/client-node: main.js and what it imports statically hold none of it;
// the kubeconfig path and `explain` are chunks it imports dynamically, only when used
// (src/kube/connect.ts, src/main.ts; docs/figures.md, "Memory floor").
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scratchDir } from '../scratch-dir.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The relative files a module imports: statically (import … from, export … from) or with import(). */
function importsOf(text: string): { static: string[]; dynamic: string[] } {
  const specs = (re: RegExp) => [...text.matchAll(re)].map((m) => m[1] as string).filter((s) => s.startsWith('./') || s.startsWith('../'));
  return {
    static: specs(/(?:^|[;}\s])(?:import|export)\s*(?:[\w*{}\s,$]+from\s*)?"([^"]+)"/g),
    dynamic: specs(/import\("([^"]+)"\)/g),
  };
}

/** Markers of client-node's code: its KubeConfig class and its in-cluster loader. */
const CLIENT_NODE = /class KubeConfig\b|loadFromCluster\(/;
/** A marker of undici's code (its error codes): client-node's dependency, no longer the operator's HTTP client. */
const UNDICI = /UND_ERR_/;
/** Markers of prom-client's index and what only it loads: the Pushgateway, the cluster aggregator, Summary's t-digest, the default metrics. */
const PROM_CLIENT_INDEX = /Pushgateway|AggregatorRegistry|TDigest|collectDefaultMetrics|@opentelemetry/;

describe('bundle: the in-cluster start-up loads no client-node and no undici', function () {
  this.timeout(120_000);
  let dist: string;

  before(() => {
    dist = path.join(scratchDir('bundle'), 'dist');
    execFileSync('bash', [path.join(root, 'scripts/build.sh'), dist], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  });

  it('main.js and every chunk it imports statically hold no client-node; a chunk imported dynamically does', () => {
    const statically = new Set<string>();
    const dynamically = new Set<string>();
    const visit = (file: string) => {
      if (statically.has(file)) return;
      statically.add(file);
      const found = importsOf(readFileSync(file, 'utf8'));
      for (const s of found.static) visit(path.resolve(path.dirname(file), s));
      for (const d of found.dynamic) dynamically.add(path.resolve(path.dirname(file), d));
    };
    visit(path.join(dist, 'main.js'));
    const chunks = readdirSync(path.join(dist, 'chunks')).filter((f) => f.endsWith('.js')).map((f) => path.join(dist, 'chunks', f));
    // The walk sees the shared chunks (the HTTP layer's at least): it is not passing by reading nothing.
    expect(statically.size).to.be.greaterThan(1);
    const holding = chunks.filter((f) => CLIENT_NODE.test(readFileSync(f, 'utf8')));
    expect(holding, 'client-node is in the bundle somewhere (the kubeconfig path)').to.have.length.greaterThan(0);
    expect([...statically].filter((f) => CLIENT_NODE.test(readFileSync(f, 'utf8'))).map((f) => path.relative(dist, f))).to.deep.equal([]);
    // Nor undici: the operator's requests go out on node:https (src/kube/http-transport.ts); only
    // client-node's chunk (the kubeconfig path) brings it.
    expect(chunks.filter((f) => UNDICI.test(readFileSync(f, 'utf8'))), 'undici is in client-node\'s chunk').to.have.length.greaterThan(0);
    expect([...statically].filter((f) => UNDICI.test(readFileSync(f, 'utf8'))).map((f) => path.relative(dist, f))).to.deep.equal([]);
    // …and is reached through import(): the kubeconfig connection's chunk.
    expect([...dynamically].some((f) => path.basename(f).startsWith('kubeconfig-connection-'))).to.equal(true);
  });

  it('holds prom-client\'s registry and metric classes but not its index (src/observability/prom-client-core.ts)', () => {
    const files = [path.join(dist, 'main.js'), ...readdirSync(path.join(dist, 'chunks')).filter((f) => f.endsWith('.js')).map((f) => path.join(dist, 'chunks', f))];
    const text = files.map((f) => readFileSync(f, 'utf8')).join('\n');
    // The classes are there (the exposition format's content type is the registry's)…
    expect(text).to.contain('text/plain; version=0.0.4');
    // …and nothing the index alone brings, anywhere in the bundle.
    expect(files.filter((f) => PROM_CLIENT_INDEX.test(readFileSync(f, 'utf8'))).map((f) => path.relative(dist, f))).to.deep.equal([]);
  });
});
