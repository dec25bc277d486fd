// A ServiceAccount directory as the kubelet mounts it (token, ca.crt, namespace), for the
// in-cluster credential tests. `token` undefined or `ca` null: that file is left out.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../scratch-dir.ts';

export function serviceAccount(token: string | undefined, ca: Buffer | string | null = 'not checked here'): string {
  const dir = scratchDir('sa');
  if (token !== undefined) writeFileSync(path.join(dir, 'token'), token);
  if (ca !== null) writeFileSync(path.join(dir, 'ca.crt'), ca);
  writeFileSync(path.join(dir, 'namespace'), 'config-reload');
  return dir;
}
