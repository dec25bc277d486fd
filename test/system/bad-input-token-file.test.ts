// Bad credentials (docs/troubleshooting.md, the bad-input table): a kubeconfig whose user
// reads its token from a file that is rotated (files in a temporary directory; an apiserver
// answering 401 is test/unit/bad-input-credentials.test.ts). The end-to-end proof against a
// real apiserver is in test/e2e/bad-input-start.test.ts.
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { expect } from 'chai';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config.ts';
import { loadKubeConfig } from '../../src/kube/kubeconfig.ts';

function kubeconfigWith(dir: string, user: string): string {
  const file = path.join(dir, 'kubeconfig');
  writeFileSync(file, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: ${user}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`);
  return file;
}

async function authorization(kc: ReturnType<typeof loadKubeConfig>): Promise<string | undefined> {
  const ctx = new RequestContext('https://127.0.0.1:1/api', HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return ctx.getHeaders()['Authorization'];
}

describe('bad input: a kubeconfig tokenFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cro-token-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is used (relative to the kubeconfig), and a rotated token is used from the next request on', async () => {
    writeFileSync(path.join(dir, 'token'), 'first-token\n');
    const kc = loadKubeConfig(kubeconfigWith(dir, '{tokenFile: token}'), {});
    expect(await authorization(kc)).to.equal('Bearer first-token');
    // Rotated as the kubelet does: a new file swapped in.
    writeFileSync(path.join(dir, 'token.new'), 'second-token');
    renameSync(path.join(dir, 'token.new'), path.join(dir, 'token'));
    expect(await authorization(kc)).to.equal('Bearer second-token');
  });

  it('wins over a token beside it (client-go\'s rule)', async () => {
    writeFileSync(path.join(dir, 'token'), 'from-file');
    const kc = loadKubeConfig(kubeconfigWith(dir, '{token: inline, tokenFile: token}'), {});
    expect(await authorization(kc)).to.equal('Bearer from-file');
  });

  it('keeps the last token while the file is briefly missing (mid-rotation)', async () => {
    writeFileSync(path.join(dir, 'token'), 'kept');
    const kc = loadKubeConfig(kubeconfigWith(dir, '{tokenFile: token}'), {});
    rmSync(path.join(dir, 'token'));
    expect(await authorization(kc)).to.equal('Bearer kept');
  });

  it('missing or empty at start: bad start-up configuration (exit 2)', () => {
    expect(() => loadKubeConfig(kubeconfigWith(dir, '{tokenFile: nowhere}'), {})).to.throw(ConfigError, /nowhere/);
    writeFileSync(path.join(dir, 'empty'), '\n');
    expect(() => loadKubeConfig(kubeconfigWith(dir, '{tokenFile: empty}'), {})).to.throw(ConfigError, /empty/);
  });
});
