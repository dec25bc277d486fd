// Temporary directories for tests (kubeconfigs, HOME for child processes, manifests), removed
// when the test process exits, so that a run leaves nothing in /tmp whatever its outcome.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const created: string[] = [];

process.once('exit', () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `cro-${prefix}-`));
  created.push(dir);
  return dir;
}
