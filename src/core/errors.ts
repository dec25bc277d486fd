// Errors every layer may throw: kept below config, kube and explain, so that none of them imports
// another's module for its error type.

/**
 * Bad start-up configuration or usage: a flag, a variable, the kubeconfig, the digest key file.
 * main() prints its message as one line and exits 2. The message names what is wrong and never
 * quotes a secret value (a key, a token): flags take none, and key material is read from files.
 */
export class ConfigError extends Error {}
