// Root hooks for the e2e suite: one control plane for the whole run (each test works in its
// own namespace), stopped at the end whatever happened. With USE_EXISTING_CLUSTER=true (the
// envtest convention) the tests run against the cluster KUBECONFIG names instead.
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeConfig as KubeConfigClass } from '@kubernetes/client-node';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ControlPlane } from '../../testbed/controlplane.ts';
import { scratchDir } from '../scratch-dir.ts';
import { installE2eDigestKey } from './digest-key.ts';

export interface Testbed {
  kubeconfigPath: string;
  kubeConfig(): KubeConfig;
  /** Present only for the local control plane; fault tests need it. */
  controlPlane: ControlPlane | undefined;
  /** The apiserver's audit log of every request on Secrets (local control plane only). */
  secretsAuditLog: string | undefined;
}

// What the operator asks of Secrets is part of its contract (helm release Secrets are never
// listed or watched): the local apiserver records every request on them.
const SECRETS_AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    resources: [{group: "", resources: ["secrets"]}]
  - level: None
`;

let current: Testbed | undefined;

export function testbed(): Testbed {
  if (!current) throw new Error('e2e: the control plane did not start (see the root hook failure above)');
  return current;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    // A cold build of the control plane runs here when nothing is cached (tens of minutes).
    this.timeout(75 * 60_000);
    if (process.env.USE_EXISTING_CLUSTER === 'true') {
      const kubeconfigPath = process.env.KUBECONFIG;
      if (!kubeconfigPath) throw new Error('e2e: USE_EXISTING_CLUSTER=true needs KUBECONFIG to name the cluster');
      current = {
        kubeconfigPath,
        kubeConfig: () => {
          const kc = new KubeConfigClass();
          kc.loadFromFile(kubeconfigPath);
          return kc;
        },
        controlPlane: undefined,
        secretsAuditLog: undefined,
      };
      await installE2eDigestKey(current.kubeConfig());
      return;
    }
    const auditDir = scratchDir('audit');
    const policy = path.join(auditDir, 'policy.yaml');
    const secretsAuditLog = path.join(auditDir, 'secrets.log');
    writeFileSync(policy, SECRETS_AUDIT_POLICY);
    const cp = await ControlPlane.start({
      nodes: 2,
      apiServerFlags: [`--audit-policy-file=${policy}`, `--audit-log-path=${secretsAuditLog}`, '--audit-log-maxsize=0'],
    });
    current = { kubeconfigPath: cp.kubeconfigPath, kubeConfig: () => cp.kubeConfig(), controlPlane: cp, secretsAuditLog };
    await installE2eDigestKey(cp.kubeConfig());
  },
  // A failed e2e test prints the control plane's recent logs: the apiserver or a controller
  // is often where the explanation is.
  afterEach(this: Mocha.Context) {
    if (this.currentTest?.state === 'failed' && current?.controlPlane) {
      process.stderr.write(`${current.controlPlane.logTails(20)}\n`);
    }
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await current?.controlPlane?.stop();
    current = undefined;
  },
};
