// What this operator is: its version (package.json's, bundled in at build time) and the git
// revision it was built from. scripts/build.sh (`npm run build`, the image's build) replaces
// CONFIG_RELOAD_REVISION with the checkout's commit, or the REVISION build argument of the
// Dockerfile (the image's build context holds no .git); run from source (tsx), it is `unknown`.
// Shown by --version, in the start-up log line and as config_reload_build_info.
import pkg from '../../package.json' with { type: 'json' };

declare const CONFIG_RELOAD_REVISION: string | undefined;

export const VERSION: string = pkg.version;

export const REVISION: string =
  typeof CONFIG_RELOAD_REVISION === 'string' && CONFIG_RELOAD_REVISION !== '' ? CONFIG_RELOAD_REVISION : 'unknown';
