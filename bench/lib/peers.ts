// Peer operators run side by side with this one (`--peer NAME=PATH`): how each is opted into,
// started, and how its roll is seen. NAME selects the profile (reloader | wave); PATH is the
// binary (the ones of ../shared/peers, or a user's own build). One system runs at a time, on
// the same control plane and objects, with its own ServiceAccount (cluster.ts), measured the
// same way: the harness's own Deployment watch and /proc.
import { createConnection } from 'node:net';
import path from 'node:path';
import { type BenchCluster, peerUser } from './cluster.ts';
import { BenchProcess } from './procs.ts';

export type PeerName = 'reloader' | 'wave';

export interface PeerProfile {
  name: PeerName;
  /** What a user adds to a workload's metadata.annotations to opt in. */
  optIn: Record<string, string>;
  /** The pod-template annotation the peer writes when it rolls a workload. */
  templateKey: string;
  /** Whether it reloads on Secret changes with the flags below. */
  secrets: boolean;
  /** Rolls every opted-in workload the first time it sees it (Wave): its "adoption" is a roll. */
  rollsAtStart: boolean;
  /** Command line and environment, as the peer's documentation runs it (../shared/peers/README.md). */
  args(kubeconfig: string): string[];
  env(kubeconfig: string): Record<string, string>;
  unsetEnv: string[];
  /** Loopback ports it binds (hard-coded): two instances cannot run at once. */
  ports: number[];
  /**
   * The log line that says its caches are synced and its workers run, where it has one;
   * otherwise readiness is the first sentinel change it reacts to.
   */
  readyLine?: (l: Record<string, unknown>) => boolean;
  /** What it cannot do here, said in the results. */
  notes: string[];
}

export const PEER_PROFILES: Record<PeerName, PeerProfile> = {
  reloader: {
    name: 'reloader',
    optIn: { 'reloader.stakater.com/auto': 'true' },
    templateKey: 'reloader.stakater.com/last-reloaded-from',
    secrets: false,
    rollsAtStart: false,
    args: () => ['--reload-strategy=annotations', '--resources-to-ignore=secrets', '--log-level=info'],
    env: (kubeconfig) => ({ KUBECONFIG: kubeconfig }),
    unsetEnv: ['KUBERNETES_NAMESPACE', 'RELOADER_NAMESPACE'],
    ports: [9090],
    notes: ['Secrets ignored (--resources-to-ignore=secrets, its documented flags): Secret changes are not measured'],
  },
  wave: {
    name: 'wave',
    optIn: { 'wave.pusher.com/update-on-config-change': 'true' },
    templateKey: 'wave.pusher.com/config-hash',
    secrets: true,
    rollsAtStart: true,
    args: (kubeconfig) => [`--kubeconfig=${kubeconfig}`, '--zap-devel=false'],
    env: () => ({}),
    unsetEnv: [],
    ports: [8080],
    // controller-runtime logs "Starting workers" once its caches have synced.
    readyLine: (l) => l.message === 'Starting workers' && String(l.controller ?? '').toLowerCase().includes('deployment'),
    notes: ['default flags: update rate limit 1/s after a burst of 100 (--update-rate, --update-burst); rolls every workload once at start-up'],
  },
};

export interface PeerSpec {
  profile: PeerProfile;
  binary: string;
}

/** Parses `--peer NAME=PATH` values. */
export function parsePeers(values: readonly string[]): PeerSpec[] {
  return values.map((v) => {
    const eq = v.indexOf('=');
    const name = (eq < 0 ? v : v.slice(0, eq)).trim();
    if (name !== 'reloader' && name !== 'wave') throw new Error(`--peer ${v}: NAME must be reloader or wave (the profile: opt-in annotation, flags, how its roll is seen)`);
    const binary = eq < 0 ? path.join('/work/shared/peers', name) : path.resolve(v.slice(eq + 1));
    return { profile: PEER_PROFILES[name], binary };
  });
}

/** All the opt-in annotations of these peers: every Deployment carries them, so the objects are the same for every system. */
export function peerOptIns(peers: readonly PeerSpec[]): Record<string, string> {
  return Object.assign({}, ...peers.map((p) => p.profile.optIn)) as Record<string, string>;
}

async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts the peer as its own process, with its own identity; fails at once if its port is taken. */
export async function spawnPeer(peer: PeerSpec, cl: BenchCluster, logDir: string, label: string): Promise<{ proc: BenchProcess; argv: string[]; user: string }> {
  for (const port of peer.profile.ports) {
    if (await portInUse(port)) throw new Error(`${peer.profile.name}: 127.0.0.1:${port} is in use (another ${peer.profile.name} on this machine?); it binds that port unconditionally`);
  }
  const kubeconfig = cl.peerKubeconfigs[peer.profile.name];
  if (!kubeconfig) throw new Error(`${peer.profile.name}: no kubeconfig (the cluster was started without this peer)`);
  const argv = peer.profile.args(kubeconfig);
  const proc = new BenchProcess(`${peer.profile.name} ${label}`, logDir, argv, path.join(logDir, `${peer.profile.name}-${label}.log`),
    peer.profile.env(kubeconfig), peer.binary, peer.profile.unsetEnv);
  return { proc, argv, user: peerUser(peer.profile.name) };
}

/** The command line for the results, with the kubeconfig path left out. */
export function peerCommand(peer: PeerSpec): string {
  const env = Object.keys(peer.profile.env('K')).map((k) => `${k}=… `).join('');
  const unset = peer.profile.unsetEnv.map((k) => `-u ${k} `).join('');
  return `${unset ? `env ${unset}` : ''}${env}${path.basename(peer.binary)} ${peer.profile.args('…').join(' ')}`;
}
