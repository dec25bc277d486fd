// Whether the operator watches the workload's namespace, by its --namespace-selector and
// --exclude-namespaces (docs/namespace-selection.md): pure, the Namespace as read in, the
// answer out. A workload in a namespace the operator does not watch is decided by nobody.
import { matchesLabelSelector, parseLabelSelector } from '../core/label-selector.ts';

/** The operator's --namespace-selector and --exclude-namespaces. */
export interface NamespaceScope {
  selector: string | undefined;
  exclude: readonly string[];
}

/** The `namespace` field of the explanation: `watched` null when it could not be told. */
export interface NamespaceWatch {
  watched: boolean | null;
  reason: string;
}

/** What explain read of the Namespace (only with a selector, and only when it is not excluded). */
export type NamespaceRead =
  | { state: 'found'; labels: Readonly<Record<string, string>> | undefined }
  | { state: 'absent' }
  | { state: 'unreadable'; error: string; missingPermission: string | undefined };

/** Whether explain must read the Namespace to tell. */
export function needsNamespace(scope: NamespaceScope, namespace: string): boolean {
  return scope.selector !== undefined && !scope.exclude.includes(namespace);
}

/** null: neither flag given, the operator is taken to watch every namespace (or its --namespace list). */
export function namespaceWatch(scope: NamespaceScope, namespace: string, read: NamespaceRead | undefined): NamespaceWatch | null {
  if (scope.exclude.includes(namespace)) return { watched: false, reason: `namespace ${namespace} is excluded by --exclude-namespaces` };
  if (scope.selector === undefined) return null;
  const selector = `--namespace-selector ${JSON.stringify(scope.selector)}`;
  if (read === undefined || read.state === 'unreadable') {
    const why = read === undefined ? 'it was not read' : read.missingPermission ? `you need ${read.missingPermission}` : read.error;
    return { watched: null, reason: `cannot tell whether namespace ${namespace} matches ${selector}: ${why}` };
  }
  if (read.state === 'absent') return { watched: false, reason: `namespace ${namespace} does not exist` };
  return matchesLabelSelector(parseLabelSelector(scope.selector), read.labels)
    ? { watched: true, reason: `the labels of namespace ${namespace} match ${selector}` }
    : { watched: false, reason: `the labels of namespace ${namespace} do not match ${selector}: the operator does not watch it` };
}
