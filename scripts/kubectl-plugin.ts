// The kubectl plugin as users install it: the entry of the single bundled file
// dist/kubectl-config_reload (scripts/build-plugin.sh), which carries `explain` and every
// dependency it needs, so that it runs on any Node >= 22.19 without this repository or an
// `npm ci`. Its commands are those of bin/kubectl-config_reload, the launcher for a checkout:
// `explain KIND/NAME [flags]`, `--help`, and `--version` (the operator's own line, with the
// revision the file was built from). Exit codes: explain's (0, 1 workload not read, 2 bad
// usage); 2 for an unknown command.
import { REVISION, VERSION } from '../src/core/version.ts';
import { explainMain } from '../src/explain/main.ts';

export const PLUGIN_USAGE = `Usage: kubectl config-reload explain KIND/NAME [flags]
       kubectl config-reload --version

Why did (or didn't) config-reload-operator roll a workload? \`kubectl config-reload explain --help\`
lists the flags.`;

export interface PluginIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Runs the plugin; resolves with the exit code. */
export async function pluginMain(argv: string[], env: Record<string, string | undefined>, io: PluginIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'explain':
      return explainMain(rest, env, io);
    case '--version':
    case 'version':
      io.stdout(`config-reload-operator ${VERSION}${REVISION === 'unknown' ? '' : ` (revision ${REVISION})`}\n`);
      return 0;
    case '-h':
    case '--help':
    case 'help':
      io.stdout(`${PLUGIN_USAGE}\n`);
      return 0;
    case undefined:
      io.stderr(`${PLUGIN_USAGE}\n`);
      return 2;
    default:
      // The command as typed is the caller's own input, not object data or a credential.
      io.stderr(`kubectl config-reload: unknown command ${JSON.stringify(command)}\n${PLUGIN_USAGE}\n`);
      return 2;
  }
}

// No top-level await: the bundle is CommonJS (scripts/build-plugin.sh says why).
pluginMain(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`kubectl config-reload: error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
