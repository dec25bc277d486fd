// A detached watcher that outlives the test process: when that process dies in a way no
// handler sees (SIGKILL, OOM), it kills the control-plane processes listed in the pid file
// and removes the temporary directory. It exits by itself once the owner is gone.
import { spawn } from 'node:child_process';

export function startReaper(ownerPid: number, pidFile: string, dir: string): void {
  const script = `
    while kill -0 ${ownerPid} 2>/dev/null; do sleep 1; done
    if [ -f '${pidFile}' ]; then xargs -r kill -9 < '${pidFile}' 2>/dev/null; fi
    sleep 0.5; rm -rf '${dir}'`;
  spawn('bash', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}
