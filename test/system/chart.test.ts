// The Helm chart renders the objects of manifests/ (the two must not drift; the chart given the
// image of manifests/, as it has none of its own), and each value does what docs/helm.md's values
// table says. No cluster: `helm template` and `kubectl kustomize` only, with the helm and kubectl
// that testbed/build.sh builds (missing ones fail the suite). Versions and the missing image:
// test/system/release.test.ts.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  chartTools, DASHBOARD, deploymentSpec, find, type K8sObject, MANIFESTS, mustFind, operatorContainer, type PolicyRule,
  renderChart, renderKustomize, rulesOf,
} from '../support/chart.ts';
import { mountedSecretFile, readableBy } from '../support/kubelet-files.ts';

const NAME = 'config-reload-operator';
const NS = 'config-reload-system';

/** Order-insensitive form of RBAC rules: verbs, resources and groups are sets. */
function canonicalRules(rules: PolicyRule[]): string[] {
  return rules.map((r) => JSON.stringify({
    apiGroups: [...(r.apiGroups ?? [])].sort(),
    resources: [...(r.resources ?? [])].sort(),
    resourceNames: [...(r.resourceNames ?? [])].sort(),
    verbs: [...r.verbs].sort(),
  })).sort();
}

function grantsSecrets(rules: PolicyRule[]): boolean {
  return rules.some((r) => (r.apiGroups ?? []).includes('') && (r.resources ?? []).some((x) => x === 'secrets' || x === '*'));
}

const id = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function argsOf(objects: K8sObject[]): string[] {
  return operatorContainer(mustFind(objects, 'Deployment')).args ?? [];
}

function expectSubset(small: Record<string, string> | undefined, big: Record<string, string> | undefined, what: string): void {
  for (const [k, v] of Object.entries(small ?? {})) expect(big?.[k], `${what}: ${k}`).to.equal(v);
}

/** Everything of the operator Deployment that decides how it runs, compared field by field. */
function compareDeployments(chart: K8sObject, manifest: K8sObject, toleratedArgs: string[]): void {
  const c = deploymentSpec(chart);
  const m = deploymentSpec(manifest);
  expect(c.replicas, 'replicas').to.equal(m.replicas);
  expect(c.revisionHistoryLimit, 'revisionHistoryLimit').to.equal(m.revisionHistoryLimit);
  expect(c.strategy, 'strategy').to.deep.equal(m.strategy);
  // The chart selects on name and instance (two releases may live side by side); it must still
  // select the pods it makes, and carry every label manifests/ put on them.
  expectSubset(m.selector.matchLabels, c.selector.matchLabels, 'selector');
  expectSubset(c.selector.matchLabels, c.template.metadata.labels, 'selector vs pod labels');
  expectSubset(m.template.metadata.labels, c.template.metadata.labels, 'pod labels');
  expectSubset(manifest.metadata.labels, chart.metadata.labels, 'Deployment labels');
  expect(c.template.metadata.annotations, 'pod annotations').to.deep.equal(m.template.metadata.annotations);

  const cp = c.template.spec;
  const mp = m.template.spec;
  expect(cp.serviceAccountName, 'serviceAccountName').to.equal(mp.serviceAccountName);
  expect(cp.terminationGracePeriodSeconds, 'terminationGracePeriodSeconds').to.equal(mp.terminationGracePeriodSeconds);
  expect(cp.securityContext, 'pod securityContext').to.deep.equal(mp.securityContext);
  for (const field of ['nodeSelector', 'tolerations', 'affinity', 'priorityClassName'] as const) {
    expect(cp[field], field).to.deep.equal(mp[field]);
  }
  const spread = (s: typeof cp) => (s.topologySpreadConstraints ?? []).map(({ labelSelector, ...rest }) => ({ ...rest, selects: Object.keys(labelSelector?.matchLabels ?? {}).length > 0 }));
  expect(spread(cp), 'topologySpreadConstraints').to.deep.equal(spread(mp));
  for (const t of cp.topologySpreadConstraints ?? []) expectSubset(t.labelSelector?.matchLabels, c.template.metadata.labels, 'spread selector');
  expect(cp.containers.map((x) => x.name), 'containers').to.deep.equal(mp.containers.map((x) => x.name));

  const cc = operatorContainer(chart);
  const mc = operatorContainer(manifest);
  expect(cc.image, 'image').to.equal(mc.image);
  expect(cc.imagePullPolicy, 'imagePullPolicy').to.equal(mc.imagePullPolicy);
  expect((cc.args ?? []).filter((a) => !toleratedArgs.includes(a)), 'args').to.deep.equal(mc.args);
  expect(cc.env, 'env').to.deep.equal(mc.env);
  expect(cc.ports, 'ports').to.deep.equal(mc.ports);
  expect(cc.livenessProbe, 'livenessProbe').to.deep.equal(mc.livenessProbe);
  expect(cc.readinessProbe, 'readinessProbe').to.deep.equal(mc.readinessProbe);
  expect(cc.resources, 'resources').to.deep.equal(mc.resources);
  expect(cc.securityContext, 'container securityContext').to.deep.equal(mc.securityContext);
}

/**
 * The values that correspond to a rendering of manifests/: ClusterRole rules that grant nothing
 * on Secrets are the ConfigMaps-only install, the chart's secrets.enabled=false. The
 * comparison is exact (no argument tolerated).
 */
function valuesFor(manifests: K8sObject[]): { values: Record<string, unknown>; toleratedArgs: string[] } {
  const secrets = grantsSecrets(rulesOf(mustFind(manifests, 'ClusterRole', NAME)));
  return { values: { secrets: { enabled: secrets } }, toleratedArgs: [] };
}

/** Kinds that live outside any namespace: a tenant install (watchNamespaces) renders none. */
const CLUSTER_SCOPED = new Set([
  'ClusterRole', 'ClusterRoleBinding', 'Namespace', 'CustomResourceDefinition', 'PriorityClass', 'StorageClass',
  'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration',
]);

/** Objects the chart has and manifests/ do not, each with its reason. */
const CHART_ONLY = new Map([
  // helm uninstall removes the Lease; with manifests/, deleting the namespace does.
  [`Lease/${NS}/${NAME}`, 'the leader-election Lease, owned by the release'],
]);
/** Objects manifests/ have and the chart does not, each with its reason. */
const MANIFESTS_ONLY = new Map([
  // A chart does not own the namespace it is installed into (helm install -n NS
  // --create-namespace); the README says how to label it for the restricted Pod Security Standard.
  [`Namespace//${NS}`, 'the namespace, with its pod-security labels'],
]);

describe('chart: renders the objects of manifests/', () => {
  let manifests: K8sObject[];
  let chart: K8sObject[];
  let tolerated: string[];

  before(async function () {
    // The first run builds helm with the control plane (testbed/build.sh); then it is cached.
    this.timeout(75 * 60_000);
    await chartTools();
    manifests = await renderKustomize();
    const v = valuesFor(manifests);
    tolerated = v.toleratedArgs;
    chart = await renderChart({ release: NAME, namespace: NS, values: v.values });
  });

  it('the same objects, by kind, name and namespace (with the two named exceptions)', () => {
    const m = new Set(manifests.map(id));
    const c = new Set(chart.map(id));
    expect([...m].filter((x) => !c.has(x)), 'in manifests/ only').to.deep.equal([...MANIFESTS_ONLY.keys()]);
    expect([...c].filter((x) => !m.has(x)), 'in the chart only').to.deep.equal([...CHART_ONLY.keys()]);
    const namespace = mustFind(manifests, 'Namespace', NS);
    expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).to.equal('restricted');
  });

  it('the same RBAC: ClusterRole and Role rules, bindings, subjects', () => {
    for (const kind of ['ClusterRole', 'Role']) {
      for (const m of manifests.filter((o) => o.kind === kind)) {
        const c = mustFind(chart, kind, m.metadata.name);
        expect(canonicalRules(rulesOf(c)), `${kind} ${m.metadata.name}`).to.deep.equal(canonicalRules(rulesOf(m)));
      }
    }
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      for (const m of manifests.filter((o) => o.kind === kind)) {
        const c = mustFind(chart, kind, m.metadata.name);
        expect(c.roleRef, `${kind} ${m.metadata.name} roleRef`).to.deep.equal(m.roleRef);
        expect(c.subjects, `${kind} ${m.metadata.name} subjects`).to.deep.equal(m.subjects);
      }
    }
  });

  it('the same Deployment: args, env, probes, pod and container security, resources, image, strategy, spread', () => {
    compareDeployments(mustFind(chart, 'Deployment', NAME), mustFind(manifests, 'Deployment', NAME), tolerated);
  });

  it('the same ValidatingAdmissionPolicy and binding (the chart\'s template, rendered into manifests/)', () => {
    for (const kind of ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']) {
      const c = mustFind(chart, kind, NAME);
      const m = mustFind(manifests, kind, NAME);
      expect(c.spec, kind).to.deep.equal(m.spec);
      expect(m.metadata.namespace, `${kind} is cluster-scoped`).to.equal(undefined);
    }
  });

  it('the same PodDisruptionBudget', () => {
    const c = mustFind(chart, 'PodDisruptionBudget', NAME);
    const m = mustFind(manifests, 'PodDisruptionBudget', NAME);
    const spec = (o: K8sObject) => o.spec as { minAvailable?: number; selector: { matchLabels: Record<string, string> } };
    expect(spec(c).minAvailable).to.equal(spec(m).minAvailable);
    expectSubset(spec(m).selector.matchLabels, spec(c).selector.matchLabels, 'PDB selector');
    expectSubset(spec(c).selector.matchLabels, deploymentSpec(mustFind(chart, 'Deployment')).template.metadata.labels, 'PDB selector vs pods');
  });

  it('dryRun=true renders the Deployment of manifests/overlays/dry-run', async () => {
    const overlay = await renderKustomize(path.join(MANIFESTS, 'overlays', 'dry-run'));
    const v = valuesFor(overlay);
    const dry = await renderChart({ release: NAME, namespace: NS, values: { ...v.values, dryRun: true } });
    expect(argsOf(overlay)).to.include('--dry-run');
    compareDeployments(mustFind(dry, 'Deployment', NAME), mustFind(overlay, 'Deployment', NAME), v.toleratedArgs);
  });

  it('secrets.enabled=false renders manifests/overlays/configmaps-only: RBAC, args, the mounted key', async () => {
    const overlay = await renderKustomize(path.join(MANIFESTS, 'overlays', 'configmaps-only'));
    const v = valuesFor(overlay);
    expect(v.values).to.deep.equal({ secrets: { enabled: false } });
    const cmOnly = await renderChart({ release: NAME, namespace: NS, values: v.values });
    const ids = (objects: K8sObject[]) => objects.filter((o) => o.kind.includes('Role')).map(id).sort();
    expect(ids(cmOnly)).to.deep.equal(ids(overlay));
    for (const m of overlay.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
      expect(canonicalRules(rulesOf(mustFind(cmOnly, m.kind, m.metadata.name))), id(m)).to.deep.equal(canonicalRules(rulesOf(m)));
    }
    compareDeployments(mustFind(cmOnly, 'Deployment', NAME), mustFind(overlay, 'Deployment', NAME), []);
    const podSpec = (o: K8sObject) => (deploymentSpec(o).template as unknown as { spec: { volumes?: unknown; containers: Array<{ volumeMounts?: unknown }> } }).spec;
    expect(podSpec(mustFind(cmOnly, 'Deployment', NAME)).volumes).to.deep.equal(podSpec(mustFind(overlay, 'Deployment', NAME)).volumes);
    expect(podSpec(mustFind(cmOnly, 'Deployment', NAME)).containers[0]?.volumeMounts)
      .to.deep.equal(podSpec(mustFind(overlay, 'Deployment', NAME)).containers[0]?.volumeMounts);
  });

  it('namespaceSelector renders manifests/overlays/namespace-selector: list/watch on Namespaces, --namespace-selector', async () => {
    const overlay = await renderKustomize(path.join(MANIFESTS, 'overlays', 'namespace-selector'));
    const selected = await renderChart({ release: NAME, namespace: NS, values: { ...valuesFor(overlay).values, namespaceSelector: 'config-reload.dev/watch=true' } });
    expect(rulesOf(mustFind(overlay, 'ClusterRole', NAME))).to.deep.include({ apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] });
    for (const m of overlay.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
      expect(canonicalRules(rulesOf(mustFind(selected, m.kind, m.metadata.name))), id(m)).to.deep.equal(canonicalRules(rulesOf(m)));
    }
    compareDeployments(mustFind(selected, 'Deployment', NAME), mustFind(overlay, 'Deployment', NAME), []);
    // Without it, nothing on Namespaces anywhere.
    for (const objects of [manifests, chart]) {
      for (const o of objects.filter((x) => x.kind === 'ClusterRole' || x.kind === 'Role')) {
        expect(rulesOf(o).some((r) => r.resources?.includes('namespaces')), id(o)).to.equal(false);
      }
    }
  });

  it('workloadKinds with rollouts.argoproj.io renders manifests/overlays/argo-rollouts: RBAC, --workload-kinds, the admission policy', async () => {
    const overlay = await renderKustomize(path.join(MANIFESTS, 'overlays', 'argo-rollouts'));
    const kinds = ['deployments', 'statefulsets', 'daemonsets', 'rollouts.argoproj.io'];
    const rendered = await renderChart({ release: NAME, namespace: NS, values: { ...valuesFor(overlay).values, workloadKinds: kinds } });
    expect(rulesOf(mustFind(overlay, 'ClusterRole', NAME))).to.deep.include({ apiGroups: ['argoproj.io'], resources: ['rollouts'], verbs: ['list', 'watch', 'patch'] });
    for (const m of overlay.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
      expect(canonicalRules(rulesOf(mustFind(rendered, m.kind, m.metadata.name))), id(m)).to.deep.equal(canonicalRules(rulesOf(m)));
    }
    compareDeployments(mustFind(rendered, 'Deployment', NAME), mustFind(overlay, 'Deployment', NAME), []);
    expect(mustFind(rendered, 'ValidatingAdmissionPolicy', NAME).spec).to.deep.equal(mustFind(overlay, 'ValidatingAdmissionPolicy', NAME).spec);
    // Without it, nothing on argoproj.io anywhere.
    for (const objects of [manifests, chart]) {
      for (const o of objects.filter((x) => x.kind === 'ClusterRole' || x.kind === 'Role')) {
        expect(rulesOf(o).some((r) => r.apiGroups?.includes('argoproj.io')), id(o)).to.equal(false);
      }
    }
  });

  it('the ConfigMaps-only install: the mounted key is readable by the non-root user, as the kubelet writes it, and by no other', async () => {
    const overlay = await renderKustomize(path.join(MANIFESTS, 'overlays', 'configmaps-only'));
    const cmOnly = await renderChart({ release: NAME, namespace: NS, values: { secrets: { enabled: false } } });
    for (const [what, objects] of [['manifests/', overlay], ['chart', cmOnly]] as const) {
      const d = mustFind(objects, 'Deployment', NAME);
      const file = mountedSecretFile(d, 'operator', 'key');
      expect(argsOf(objects), what).to.include(`--digest-key-file=${file.path}`);
      expect(readableBy(d, 'operator', file), `${what}: ${JSON.stringify({ ...file, mode: file.mode.toString(8) })}`).to.equal(true);
      expect(file.mode & 0o007, `${what}: others`).to.equal(0);
    }
    // The rule the check applies: without the fsGroup, the same mount is root's alone (the crash loop
    // of a 0400 mount read by uid 65532).
    const noFsGroup = await renderChart({ release: NAME, namespace: NS, values: { secrets: { enabled: false }, podSecurityContext: { fsGroup: null } } });
    const d = mustFind(noFsGroup, 'Deployment', NAME);
    expect(readableBy(d, 'operator', mountedSecretFile(d, 'operator', 'key'))).to.equal(false);
  });
});

describe('chart: values', () => {
  before(async function () {
    this.timeout(75 * 60_000);
    await chartTools();
  });

  const render = (values: Record<string, unknown>, release = NAME) => renderChart({ release, namespace: NS, values });

  it('defaults: Secrets watched (list/watch on Secrets), nothing for monitoring, no optional flag', async () => {
    const objects = await render({});
    const secretRules = rulesOf(mustFind(objects, 'ClusterRole')).filter((r) => r.resources?.includes('secrets'));
    expect(secretRules).to.deep.equal([{ apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] }]);
    expect(argsOf(objects)).to.deep.equal(['--http-addr=:8080', '--leader-elect', '--log-format=json']);
    for (const kind of ['ServiceMonitor', 'PrometheusRule', 'Service', 'ConfigMap']) expect(find(objects, kind), kind).to.equal(undefined);
  });

  it('secrets.enabled=false: nothing on Secrets in any rule, and --config-sources=configmaps', async () => {
    const objects = await render({ secrets: { enabled: false }, selectors: { secrets: 'team=a' } });
    for (const o of objects.filter((x) => x.kind === 'ClusterRole' || x.kind === 'Role')) expect(grantsSecrets(rulesOf(o)), id(o)).to.equal(false);
    expect(argsOf(objects)).to.include('--config-sources=configmaps');
    expect(argsOf(objects).some((a) => a.startsWith('--secret-selector')), 'no Secret selector without Secrets').to.equal(false);
  });

  it('watchNamespaces and selectors: --namespace=a,b, a Role and RoleBinding in each, no cluster-scoped object at all; selector flags', async () => {
    const objects = await render({ watchNamespaces: ['shop', 'blog'], selectors: { configMaps: 'reload in (yes)', secrets: 'team=a' } });
    expect(argsOf(objects)).to.include.members(['--namespace=shop,blog', '--configmap-selector=reload in (yes)', '--secret-selector=team=a']);
    // A tenant (a namespace admin) can install it: nothing here needs cluster-admin.
    expect(objects.filter((o) => CLUSTER_SCOPED.has(o.kind) || o.metadata.namespace === undefined).map(id)).to.deep.equal([]);
    const clusterWide = rulesOf(mustFind(await render({}), 'ClusterRole', NAME));
    const roles = objects.filter((o) => o.kind === 'Role' && o.metadata.name === NAME);
    expect(roles.map((r) => r.metadata.namespace).sort()).to.deep.equal(['blog', 'shop']);
    for (const r of roles) expect(canonicalRules(rulesOf(r)), id(r)).to.deep.equal(canonicalRules(clusterWide));
    const bindings = objects.filter((o) => o.kind === 'RoleBinding' && o.metadata.name === NAME);
    expect(bindings.map((b) => b.metadata.namespace).sort()).to.deep.equal(['blog', 'shop']);
    for (const b of bindings) {
      expect(b.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME });
      expect(b.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: NAME, namespace: NS }]);
    }
    // Unset, they render nothing.
    const plain = argsOf(await render({ watchNamespaces: [], selectors: { configMaps: '', secrets: '' } }));
    expect(plain.filter((a) => /^--(namespace|configmap-selector|secret-selector|exclude-namespaces)/.test(a))).to.deep.equal([]);
  });

  it('namespaceSelector and excludeNamespaces: their flags, list/watch on Namespaces only with the selector; never with watchNamespaces', async () => {
    const selected = await render({ namespaceSelector: 'team in (a,b)', excludeNamespaces: ['kube-system', 'legacy'] });
    expect(argsOf(selected)).to.include.members(['--namespace-selector=team in (a,b)', '--exclude-namespaces=kube-system,legacy']);
    expect(rulesOf(mustFind(selected, 'ClusterRole', NAME))).to.deep.include({ apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] });
    const excluded = await render({ excludeNamespaces: ['kube-system'] });
    expect(argsOf(excluded)).to.include('--exclude-namespaces=kube-system');
    expect(rulesOf(mustFind(excluded, 'ClusterRole', NAME)).some((r) => r.resources?.includes('namespaces'))).to.equal(false);
    const tenant = await render({ watchNamespaces: ['shop'], excludeNamespaces: ['legacy'] });
    expect(argsOf(tenant)).to.include.members(['--namespace=shop', '--exclude-namespaces=legacy']);
    let refused: unknown;
    await render({ watchNamespaces: ['shop'], namespaceSelector: 'team=a' }).catch((err: unknown) => (refused = err));
    expect(String((refused as Error | undefined)?.message)).to.match(/watchNamespaces and namespaceSelector exclude each other/);
  });

  it('notifications: urls go into a Secret of the chart, mounted for --notify-url-file and readable by the operator alone, never into the pod spec; existingSecret and key; not both', async () => {
    const urls = ['slack+https://hooks.slack.com/services/T0/B0/sEcReTpAtH', 'https://hooks.example.test/x?token=sEcReTqUeRy'];
    const objects = await render({ notifications: { urls } });
    const secret = mustFind(objects, 'Secret', `${NAME}-notifications`) as K8sObject & { stringData?: Record<string, string> };
    expect(secret.metadata.namespace).to.equal(NS);
    expect(secret.stringData).to.deep.equal({ urls: `${urls[0]}\n${urls[1]}` });
    const d = mustFind(objects, 'Deployment', NAME);
    const file = mountedSecretFile(d, 'operator', 'urls');
    expect(argsOf(objects)).to.include(`--notify-url-file=${file.path}`);
    expect(readableBy(d, 'operator', file)).to.equal(true);
    expect(file.mode & 0o007, 'others').to.equal(0);
    expect(JSON.stringify(d)).not.to.include('sEcReT');

    const theirs = await render({ notifications: { existingSecret: 'team-webhooks', key: 'slack' } });
    expect(find(theirs, 'Secret')).to.equal(undefined);
    const td = mustFind(theirs, 'Deployment', NAME);
    const theirFile = mountedSecretFile(td, 'operator', 'slack');
    expect(argsOf(theirs)).to.include(`--notify-url-file=${theirFile.path}`);
    const volumes = (deploymentSpec(td).template.spec as { volumes?: Array<{ name: string; secret?: { secretName: string } }> }).volumes;
    expect(volumes?.find((v) => v.name === 'notifications')?.secret?.secretName).to.equal('team-webhooks');
    // With the key file too (secrets.enabled=false), each mount reads its own Secret.
    const both = await render({ secrets: { enabled: false }, notifications: { urls } });
    const bspec = deploymentSpec(mustFind(both, 'Deployment', NAME)).template.spec as {
      volumes: Array<{ name: string; secret: { secretName: string; items?: unknown[] } }>; containers: Array<{ name: string; volumeMounts: Array<{ name: string; mountPath: string }> }>;
    };
    expect(bspec.volumes.map((v) => [v.name, v.secret.secretName, v.secret.items])).to.deep.equal([
      ['digest-key', 'config-reload-digest-key', undefined], ['notifications', `${NAME}-notifications`, [{ key: 'urls', path: 'urls' }]],
    ]);
    expect(bspec.containers.find((c) => c.name === 'operator')!.volumeMounts.map((m) => [m.name, m.mountPath])).to.deep.equal([
      ['digest-key', '/etc/config-reload/digest-key'], ['notifications', '/etc/config-reload/notifications'],
    ]);
    expect(argsOf(both)).to.include.members(['--digest-key-file=/etc/config-reload/digest-key/key', '--notify-url-file=/etc/config-reload/notifications/urls']);
    expect(argsOf(await render({}))).not.to.include.members([`--notify-url-file=${file.path}`]);

    let refused: unknown;
    await render({ notifications: { urls, existingSecret: 'team-webhooks' } }).catch((err: unknown) => (refused = err));
    expect(String(refused)).to.match(/notifications.urls and notifications.existingSecret exclude each other/);
    expect(String(refused)).not.to.include('sEcReT');
  });

  it('workloadKinds: one rule per API group, only the kinds listed; a tenant install\'s Roles too; a name the operator does not know is refused', async () => {
    const kinds = ['deployments', 'clonesets.apps.kruise.io', 'services.serving.knative.dev'];
    const objects = await render({ workloadKinds: kinds });
    const workloadRules = (rules: PolicyRule[]) => rules.filter((r) => r.verbs?.includes('patch') && !r.resources?.includes('events'));
    expect(canonicalRules(workloadRules(rulesOf(mustFind(objects, 'ClusterRole', NAME))))).to.deep.equal(canonicalRules([
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['list', 'watch', 'patch'] },
      { apiGroups: ['apps.kruise.io'], resources: ['clonesets'], verbs: ['list', 'watch', 'patch'] },
      { apiGroups: ['serving.knative.dev'], resources: ['services'], verbs: ['list', 'watch', 'patch'] },
    ]));
    expect(argsOf(objects)).to.include('--workload-kinds=deployments,clonesets.apps.kruise.io,services.serving.knative.dev');
    const policy = mustFind(objects, 'ValidatingAdmissionPolicy', NAME) as unknown as { spec: { matchConstraints: { resourceRules: Array<{ apiGroups: string[]; resources: string[] }> } } };
    expect(policy.spec.matchConstraints.resourceRules.map((r) => [r.apiGroups[0], r.resources])).to.deep.include.members([
      ['apps.kruise.io', ['clonesets', 'clonesets/*']], ['serving.knative.dev', ['services', 'services/*']],
    ]);
    const tenant = await render({ watchNamespaces: ['shop'], workloadKinds: ['rollouts.argoproj.io'] });
    const roles = tenant.filter((o) => o.kind === 'Role' && rulesOf(o).some((r) => r.resources?.includes('configmaps')));
    expect(roles).to.have.length(1);
    expect(workloadRules(rulesOf(roles[0]!))).to.deep.equal([{ apiGroups: ['argoproj.io'], resources: ['rollouts'], verbs: ['list', 'watch', 'patch'] }]);
    let refused: unknown;
    await render({ workloadKinds: ['rollouts'] }).catch((err: unknown) => (refused = err));
    expect(String(refused)).to.match(/workloadKinds/);
  });

  it('image, replicas, dry-run, log level, extra args and env, resources, security contexts, placement, priority class', async () => {
    const objects = await render({
      image: { repository: 'registry.example/cro', tag: '9.9.9', pullPolicy: 'Always' },
      replicaCount: 3,
      dryRun: true,
      logLevel: 'debug',
      leaderElection: { leaseDuration: '30s' },
      extraArgs: ['--debounce=2s', '--workers=8'],
      extraEnv: [{ name: 'TZ', value: 'UTC' }],
      // Maps merge with the defaults (helm's rule); null removes a default key.
      resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: null },
      podSecurityContext: { fsGroup: 65532, seccompProfile: null },
      securityContext: { runAsUser: 1000 },
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }],
      affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'infra', operator: 'Exists' }] } }] } },
      priorityClassName: 'system-cluster-critical',
      podAnnotations: { team: 'platform' },
      podLabels: { tier: 'ops' },
      spreadOverNodes: false,
    });
    const d = mustFind(objects, 'Deployment');
    const spec = deploymentSpec(d);
    const pod = spec.template.spec;
    const c = operatorContainer(d);
    expect(spec.replicas).to.equal(3);
    expect(c.image).to.equal('registry.example/cro:9.9.9');
    expect(c.imagePullPolicy).to.equal('Always');
    expect(c.args).to.deep.equal([
      '--http-addr=:8080', '--leader-elect', '--log-format=json', '--lease-duration=30s', '--log-level=debug', '--dry-run', '--debounce=2s', '--workers=8',
    ]);
    expect(c.env?.slice(2)).to.deep.equal([{ name: 'TZ', value: 'UTC' }]);
    expect(c.resources).to.deep.equal({ requests: { cpu: '50m', memory: '128Mi' } });
    expect(pod.securityContext).to.deep.equal({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 });
    expect(c.securityContext).to.include({ runAsUser: 1000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(pod.nodeSelector).to.deep.equal({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).to.have.length(1);
    expect(pod.affinity).to.have.property('nodeAffinity');
    expect(pod.priorityClassName).to.equal('system-cluster-critical');
    expect(pod.topologySpreadConstraints).to.equal(undefined);
    expect(spec.template.metadata.annotations?.team).to.equal('platform');
    expect(spec.template.metadata.labels?.tier).to.equal('ops');

    const digest = operatorContainer(mustFind(await render({ image: { digest: `sha256:${'a'.repeat(64)}` } }), 'Deployment'));
    expect(digest.image).to.equal(`ghcr.io/config-reload/config-reload-operator@sha256:${'a'.repeat(64)}`);
  });

  it('admissionPolicy: on by default, matching the release\'s ServiceAccount and key Secret; admissionPolicy.enabled=false leaves it out', async () => {
    type Policy = {
      matchConditions: Array<{ expression: string }>;
      validations: Array<{ expression: string; message: string }>;
      matchConstraints: { resourceRules: Array<{ resources: string[]; operations: string[] }> };
    };
    const objects = await render({ digestKey: { secretName: 'my-key' } }, 'edge');
    const policy = mustFind(objects, 'ValidatingAdmissionPolicy', 'edge-config-reload-operator').spec as Policy;
    expect(policy.matchConditions.map((c) => c.expression))
      .to.deep.equal([`request.userInfo.username == 'system:serviceaccount:${NS}:edge-config-reload-operator'`]);
    expect(policy.validations.map((v) => v.expression).join('\n')).to.contain(`object.metadata.name == 'my-key'`).and.to.contain(`request.namespace == '${NS}'`);
    expect(policy.matchConstraints.resourceRules.flatMap((r) => r.resources)).to.include.members(['deployments', 'statefulsets', 'daemonsets', 'secrets']);
    expect((mustFind(objects, 'ValidatingAdmissionPolicyBinding', 'edge-config-reload-operator').spec as { policyName: string; validationActions: string[] }))
      .to.deep.equal({ policyName: 'edge-config-reload-operator', validationActions: ['Deny'] });
    const off = await render({ admissionPolicy: { enabled: false } });
    for (const kind of ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']) expect(find(off, kind), kind).to.equal(undefined);
    const offManifests = await renderKustomize(path.join(MANIFESTS, 'overlays', 'without-admission-policy'));
    for (const kind of ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']) expect(find(offManifests, kind), kind).to.equal(undefined);
    expect(find(offManifests, 'Deployment', NAME), 'the rest of the install').to.not.equal(undefined);
  });

  it('another release name: its own Lease, the one its Role names and --leader-election-id passes', async () => {
    const objects = await render({}, 'edge');
    const fullname = 'edge-config-reload-operator';
    mustFind(objects, 'Lease', fullname);
    const role = mustFind(objects, 'Role', `${fullname}-leader-election`);
    expect(rulesOf(role).find((r) => r.resourceNames)?.resourceNames).to.deep.equal([fullname]);
    expect(argsOf(objects)).to.include(`--leader-election-id=${fullname}`);
    expect(mustFind(objects, 'ClusterRoleBinding', fullname).subjects).to.deep.equal([{ kind: 'ServiceAccount', name: fullname, namespace: NS }]);
  });

  it('leaderElection.enabled=false and one replica: no Lease, leader-election Role or PodDisruptionBudget, no --leader-elect', async () => {
    const objects = await render({ leaderElection: { enabled: false }, replicaCount: 1 });
    for (const kind of ['Lease', 'PodDisruptionBudget']) expect(find(objects, kind), kind).to.equal(undefined);
    // Only the digest key's Role and binding remain.
    expect(objects.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding').map(id).sort())
      .to.deep.equal([`Role/${NS}/${NAME}-digest-key`, `RoleBinding/${NS}/${NAME}-digest-key`]);
    expect(argsOf(objects)).to.not.include('--leader-elect');
  });

  it('ServiceMonitor, PrometheusRule and the dashboard are rendered only when asked for, the dashboard as shipped', async () => {
    const objects = await render({
      serviceMonitor: { enabled: true, labels: { release: 'prom' } },
      prometheusRule: { enabled: true, labels: { release: 'prom' } },
      grafanaDashboard: { enabled: true },
    });
    const sm = mustFind(objects, 'ServiceMonitor');
    const svc = mustFind(objects, 'Service', `${NAME}-metrics`);
    expect(sm.metadata.labels?.release).to.equal('prom');
    const smSpec = sm.spec as { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; honorLabels: boolean }> };
    expectSubset(smSpec.selector.matchLabels, svc.metadata.labels, 'ServiceMonitor selects the Service');
    expect(smSpec.endpoints[0]).to.include({ port: 'http', honorLabels: true });
    const svcSpec = svc.spec as { selector: Record<string, string> };
    expectSubset(svcSpec.selector, deploymentSpec(mustFind(objects, 'Deployment')).template.metadata.labels, 'Service selects the pods');

    const rule = mustFind(objects, 'PrometheusRule');
    const alerts = (rule.spec as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).to.include.members([
      'ConfigReloadOperatorDown', 'ConfigReloadOperatorNotReady', 'ConfigReloadPatchesFailing', 'ConfigReloadReconcileBacklogGrowing',
      'ConfigReloadWatchRestartsClimbing', 'ConfigReloadWorkloadHeldByMissingConfig', 'ConfigReloadWaveHeld', 'ConfigReloadWatchUnavailable',
    ]);
    // Every rule selects the ServiceMonitor's job: the Service's name.
    for (const a of alerts) expect(a.expr, a.alert).to.contain(`job="${NAME}-metrics"`);

    const cm = mustFind(objects, 'ConfigMap', `${NAME}-dashboard`);
    expect(cm.metadata.labels?.grafana_dashboard).to.equal('1');
    const data = cm.data as Record<string, string>;
    expect(JSON.parse(data['config-reload-operator.json']!)).to.deep.equal(JSON.parse(readFileSync(DASHBOARD, 'utf8')));
  });
});
