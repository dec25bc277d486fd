// `npm run cluster`: the test control plane for a person or a script. Prints
// KUBECONFIG=<path> on its own line once ready, runs until SIGINT/SIGTERM, then cleans up.
import { ControlPlane } from './controlplane.ts';

const nodes = Number(process.env.CRO_TESTBED_NODES ?? '1');
const cp = await ControlPlane.start({ nodes });
process.stdout.write(`KUBECONFIG=${cp.kubeconfigPath}\n`);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`[testbed] ${signal}: stopping the control plane\n`);
  await cp.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// Under `npm run cluster` a signal sent to npm alone does not reach us; if our parent goes
// away (we are re-parented), stop as if signalled rather than run on unowned.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void shutdown('parent exited');
}, 1000);
