// The operator process stays up while everything it waits for is a retry: found by the soak
// (seed 7, `npm run soak -- --seed 7`), where replicas run with `--http-addr off` and the fault
// proxy reset every connection — three replicas exited 0 at once, silently. The operator's
// timers are unref'd (src/time/clock.ts), so with no server and every watch in backoff nothing
// kept Node's event loop alive. Here: an apiserver that refuses connections, no HTTP server.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';
import { OperatorProcess } from './operator-process.ts';

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 9));
    });
  });
}

describe('operator process: keeps running on retries alone', () => {
  it('with --http-addr off and an unreachable apiserver, it retries (no exit) and stops on SIGTERM with 0', async () => {
    const dir = scratchDir('keeps-running');
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:${await closedPort()}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`);
    const keyFile = path.join(dir, 'key');
    writeFileSync(keyFile, Buffer.alloc(32, 7).toString('base64'));
    const op = await OperatorProcess.start({
      args: ['--kubeconfig', kubeconfig, '--http-addr', 'off', '--digest-key-file', keyFile, '--config-sources', 'configmaps', '--workload-kinds', 'deployments'],
      waitFor: 'spawned',
    });
    let exited: number | null | undefined;
    void op.exitCode.then((code) => (exited = code));
    // Three failed attempts of the ConfigMap watch: each waited out a backoff with nothing else alive.
    await op.waitForLog('a third retry', () => op.logs.filter((l) => l.message === 'list/watch failed: retrying' && l.resource === 'configmaps').length >= 3, 60_000);
    expect(exited).to.equal(undefined);
    expect(await op.stop('SIGTERM')).to.equal(0);
  });
});
