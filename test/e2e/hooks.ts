// Root hooks for the e2e suite. The control plane is started once per mocha run by the global
// setup (test/e2e/global-setup.ts, re-exported here so that `--require test/e2e/hooks.ts` is all
// a run needs, one file or the tier); each test works in its own namespace. With --parallel the
// tests run in worker processes, which reach the cluster through what the setup published.
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeConfig as KubeConfigClass } from '@kubernetes/client-node';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ControlPlane } from '../../testbed/controlplane.ts';
import { ownControlPlane, type TestbedInfo } from './global-setup.ts';
import { stopAllOperators } from './operator-process.ts';

export { mochaGlobalSetup, mochaGlobalTeardown } from './global-setup.ts';

export interface Testbed {
  kubeconfigPath: string;
  kubeConfig(): KubeConfig;
  /** The apiserver's URL. */
  server: string;
  /** The kubectl binary to run (the testbed's, or the one on PATH for an existing cluster). */
  kubectl: string;
  /**
   * The control plane object, to stop, restart or fault it: present only in the serial group
   * (test/mocharc.e2e-serial.json) on the local control plane; a parallel worker never has it.
   */
  controlPlane: ControlPlane | undefined;
  /** The apiserver's audit log of every request on Secrets (local control plane only). */
  secretsAuditLog: string | undefined;
  /** The control plane's component logs (local control plane only). */
  logsDir: string | undefined;
}

let current: Testbed | undefined;

export function testbed(): Testbed {
  if (current) return current;
  const published = process.env.CRO_E2E_TESTBED;
  if (!published) throw new Error('e2e: no control plane (run with --require test/e2e/hooks.ts; see the global setup failure above)');
  const info = JSON.parse(published) as TestbedInfo;
  current = {
    ...info,
    kubeConfig: () => {
      const kc = new KubeConfigClass();
      kc.loadFromFile(info.kubeconfigPath);
      return kc;
    },
    controlPlane: ownControlPlane(),
  };
  return current;
}

/** The last lines of each control plane component's log. */
function logTails(dir: string, lines: number): string {
  return readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => {
    const tail = readFileSync(path.join(dir, f), 'utf8').trimEnd().split('\n').slice(-lines);
    return `--- ${f} (last ${tail.length} lines) ---\n${tail.join('\n')}`;
  }).join('\n');
}

export const mochaHooks = {
  // An operator a failed test left running would keep mocha's process (or a parallel worker,
  // which runs each file's root hooks) alive after the run: none outlives its file's run.
  async afterAll() {
    await stopAllOperators();
  },
  // A failed e2e test prints the control plane's recent logs: the apiserver or a controller
  // is often where the explanation is. (In parallel, other files' requests are in them too.)
  afterEach(this: Mocha.Context) {
    const dir = process.env.CRO_E2E_TESTBED ? testbed().logsDir : undefined;
    if (this.currentTest?.state === 'failed' && dir) {
      try {
        process.stderr.write(`${logTails(dir, 20)}\n`);
      } catch {
        // the control plane is gone (its directory removed)
      }
    }
  },
};
