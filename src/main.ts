// Entry point: parse the start-up configuration (exit 2 on anything wrong with it), then run
// the operator until SIGTERM/SIGINT. Everything after start-up is retried, never fatal.
// A first argument `explain` runs the explain command instead (src/explain/), with flags of
// its own: the operator's parser is strict and takes no positional argument. `--version`
// prints the version (and the git revision built, when known) and exits 0, whatever else is given.
// explain and the kubeconfig path are imported when used: in a cluster, the operator never loads
// @kubernetes/client-node (src/kube/connect.ts; docs/figures.md, "Memory floor").
import { ConfigError, parseConfig, USAGE } from './config.ts';
import { REVISION, VERSION } from './core/version.ts';
import { connect } from './kube/connect.ts';
import { createLogger } from './log.ts';
import { runOperator } from './operator.ts';

async function main(): Promise<void> {
  let parsed;
  let connection;
  try {
    parsed = parseConfig(process.argv.slice(2), process.env);
    if (parsed.help) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    connection = await connect(parsed.config.kubeconfig, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`config-reload-operator: error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const config = parsed.config;
  const log = createLogger(config.logLevel, config.logFormat);
  let operator;
  try {
    operator = await runOperator(config, connection, log);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`config-reload-operator: error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  // The operator's timers are unref'd (src/time/clock.ts) and its connections come and go: with
  // no HTTP server (--http-addr off) and every watch waiting out a backoff, nothing else would
  // keep the event loop alive and Node would exit 0, silently. The process runs until a signal.
  const keepAlive = setInterval(() => undefined, 2 ** 30);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(keepAlive);
    log.info('shutting down', { signal });
    operator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (process.argv[2] === 'explain') {
  const { explainMain } = await import('./explain/main.ts');
  process.exitCode = await explainMain(process.argv.slice(3), process.env);
} else if (process.argv.slice(2).includes('--version')) {
  process.stdout.write(`config-reload-operator ${VERSION}${REVISION === 'unknown' ? '' : ` (revision ${REVISION})`}\n`);
} else {
  await main();
}
