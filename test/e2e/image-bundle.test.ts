// The operator as the image runs it: the esbuild bundle of `npm run build` (scripts/build.sh),
// started with the image's Node flags and environment, from a directory holding nothing but the
// bundle and package.json (the image has no node_modules). The rest of the e2e suite runs the
// run's bundle from the checkout (test/e2e/global-setup.ts); this one proves the bundle needs
// nothing beside it: it adopts, rolls once per change, serves its metrics and reads its kubeconfig.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IMAGE_ENV, IMAGE_NODE_FLAGS } from '../support/image.ts';
import { OperatorProcess } from './operator-process.ts';
import {
  configMapContent, createConfigMap, createDeployment, createNamespace, deleteNamespace, deployment, ENABLED, HASH, httpGet,
  metricValue, podSpecWithVolume, recordedHash, replicaSetsOf, rewriteConfigMap, sentinelRoll, waitForReplicaSets, workloadDigest,
} from './support.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

describe('image: the bundled operator (scripts/build.sh), started as the image starts it', function () {
  this.timeout(180_000);
  let dir: string;
  let ns: string;
  let op: OperatorProcess;

  before(async function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cro-image-'));
    execFileSync('bash', [path.join(root, 'scripts/build.sh'), path.join(dir, 'dist')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
    expect(existsSync(path.join(dir, 'node_modules')), 'nothing to resolve modules from').to.equal(false);
    ns = await createNamespace('image');
    op = await OperatorProcess.start({
      entry: [...IMAGE_NODE_FLAGS, path.join(dir, 'dist/main.js')], env: { ...IMAGE_ENV, NODE_ENV: 'production' }, args: ['--namespace', ns],
    });
  });
  after(async () => {
    await op?.stop();
    if (ns) await deleteNamespace(ns);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('adopts without rolling, rolls once per change, and counts the roll in /metrics', async () => {
    await createConfigMap(ns, 'app-cm', { level: 'info' });
    await createDeployment(ns, deployment('app', { annotations: ENABLED, podSpec: podSpecWithVolume('app-cm') }));
    await recordedHash(ns, 'app');
    await waitForReplicaSets(ns, 'app', 1);

    await rewriteConfigMap(ns, 'app-cm', { level: 'debug' });
    const rolled = await waitForReplicaSets(ns, 'app', 2);
    const expected = workloadDigest([{ name: 'app-cm', optional: false, keys: null }], () => configMapContent({ data: { level: 'debug' } }));
    expect(rolled.spec?.template?.metadata?.annotations?.[HASH]).to.equal(expected);
    await sentinelRoll(ns);
    expect(await replicaSetsOf(ns, 'app'), 'one roll, not two').to.have.length(2);

    const metrics = await httpGet(await op.httpPort(), '/metrics');
    expect(metrics.status).to.equal(200);
    expect(metricValue(metrics.body, 'config_reload_rolls_total', { namespace: ns, dry_run: 'false' })).to.be.at.least(1);
  });
});
