// Names shared by the harness and the baseline watcher. No imports: the baseline watcher runs
// with Node's own type stripping, which loads this file as is.
export const NS = 'bench';
export const HASH = 'config-reload.dev/config-hash';
export const ENABLED = 'config-reload.dev/enabled';
/** The template annotation the baseline watcher patches (the operator's is HASH). */
export const BASELINE_KEY = 'bench.config-reload.dev/baseline';
export const DATA_KEY = 'config.yaml';
/**
 * The baseline's own pairs (not opted in to the operator): ConfigMap `bcfg-<x>` is consumed by
 * Deployment `bapp-<x>`, a naming convention that stands in for an index.
 */
export const BASELINE_CONFIGMAP_PREFIX = 'bcfg-';
export const BASELINE_DEPLOYMENT_PREFIX = 'bapp-';
