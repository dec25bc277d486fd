// Whether a container can read a file of a Secret volume, by the kubelet's rules (pkg/volume:
// the secret plugin's atomic writer, then SetVolumeOwnership): the file belongs to root and, when
// the pod sets fsGroup, to that group, which also gets read permission (mode | 0440, a Secret
// volume being read-only); its mode is the item's mode, else the volume's defaultMode, else 0644.
// The container runs as runAsUser/runAsGroup (its own, else the pod's), with the pod's
// supplementalGroups and fsGroup as supplementary groups.
import type { K8sObject } from './chart.ts';

interface SecurityContext { runAsUser?: number; runAsGroup?: number; fsGroup?: number; supplementalGroups?: number[] }
interface PodSpec {
  securityContext?: SecurityContext;
  volumes?: Array<{ name: string; secret?: { defaultMode?: number; items?: Array<{ key: string; path: string; mode?: number }> } }>;
  containers: Array<{ name: string; securityContext?: SecurityContext; volumeMounts?: Array<{ name: string; mountPath: string }> }>;
}

export interface MountedFile { path: string; uid: number; gid: number; mode: number }

/** The file `key` of the Secret volume mounted in `container`, as the kubelet would write it. */
export function mountedSecretFile(deployment: K8sObject, container: string, key: string): MountedFile {
  const pod = (deployment.spec as { template: { spec: PodSpec } }).template.spec;
  const c = pod.containers.find((x) => x.name === container);
  if (!c) throw new Error(`no container ${container}`);
  for (const mount of c.volumeMounts ?? []) {
    const secret = pod.volumes?.find((v) => v.name === mount.name)?.secret;
    if (!secret) continue;
    const item = secret.items?.find((i) => i.key === key);
    if (secret.items && !item) continue;
    const fsGroup = pod.securityContext?.fsGroup;
    const mode = (item?.mode ?? secret.defaultMode ?? 0o644) | (fsGroup === undefined ? 0 : 0o440);
    return { path: `${mount.mountPath}/${item?.path ?? key}`, uid: 0, gid: fsGroup ?? 0, mode };
  }
  throw new Error(`container ${container} mounts no Secret volume with item ${key}`);
}

/** Whether the container's user can read the file (root reads anything). */
export function readableBy(deployment: K8sObject, container: string, file: MountedFile): boolean {
  const pod = (deployment.spec as { template: { spec: PodSpec } }).template.spec;
  const c = pod.containers.find((x) => x.name === container);
  const uid = c?.securityContext?.runAsUser ?? pod.securityContext?.runAsUser ?? 0;
  const gids = [c?.securityContext?.runAsGroup ?? pod.securityContext?.runAsGroup ?? 0, ...(pod.securityContext?.supplementalGroups ?? [])];
  if (pod.securityContext?.fsGroup !== undefined) gids.push(pod.securityContext.fsGroup);
  if (uid === 0) return true;
  if (uid === file.uid) return (file.mode & 0o400) !== 0;
  if (gids.includes(file.gid)) return (file.mode & 0o040) !== 0;
  return (file.mode & 0o004) !== 0;
}
