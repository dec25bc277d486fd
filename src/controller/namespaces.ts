// The namespaces chosen by label (--namespace-selector): one watch of Namespaces, filtered by the
// apiserver (the label selector, and a field selector for --exclude-namespaces), opens the
// per-namespace watches of a namespace — the same reflectors as `--namespace a,b` — when it
// starts matching, and closes them when it stops matching or is deleted.
// - Opening watches the namespace's config objects and workloads at once, but holds what the
//   workload watches show until the config objects are listed: by the time a workload is
//   decided, what it reads is known (a ConfigMap not listed yet would look absent, and its
//   arrival would look like a change), and one created meanwhile is a creation, dated. Its
//   workloads are a first list: adopted, never rolled for being seen (docs/namespace-selection.md).
// - Closing stops its reflectors and drops its state through `closed` (stores, index, queue,
//   waves, metrics); nothing is written. Opened again, it starts from scratch.
// Level-based: a relist of Namespaces opens and closes whatever differs from what is open.
import type { WorkloadKind } from '../core/keys.ts';
import { type KubeObject, NAMESPACES } from '../kube/cluster-api.ts';
import { Reflector } from '../watch/reflector.ts';
import { type Informer, type InformersOptions, scopeInformers } from './informers.ts';
import { SinkGate } from './sinks.ts';

export interface NamespaceScopesOptions {
  informers: InformersOptions;
  /** The label selector on Namespaces (--namespace-selector). */
  selector: string;
  /** Never opened (--exclude-namespaces): the apiserver leaves them out of the Namespace watch. */
  exclude: readonly string[];
  /** The namespace's watches are closed: drop everything of it, write nothing. */
  closed(namespace: string): void;
  /**
   * Versions of workloads and config objects compare (not `--template-order off`): a namespace's
   * workloads are watched from the moment it opens, their events held until its config objects
   * are listed. Unordered, events are dated by arrival, so its workloads are listed after.
   */
  ordered?: boolean | undefined;
}

interface Scope {
  readonly namespace: string;
  open: boolean;
  readonly informers: Informer[];
  /** Resolves once its reflectors synced (or were refused), or it closed. */
  settled: Promise<void>;
  readonly close: () => void;
}

export class NamespaceScopes {
  readonly #opts: NamespaceScopesOptions;
  readonly #scopes = new Map<string, Scope>();
  readonly #reflector: Reflector<KubeObject>;
  readonly #listed: Promise<void>;
  readonly #problems: string[] = [];
  #stopped = false;

  constructor(opts: NamespaceScopesOptions) {
    this.#opts = opts;
    const { api, clock, log, availability, observer } = opts.informers;
    let listed!: () => void;
    this.#listed = new Promise<void>((resolve) => (listed = resolve));
    const fieldSelector = opts.exclude.map((ns) => `metadata.name!=${ns}`).join(',') || undefined;
    this.#reflector = new Reflector<KubeObject>({
      api, clock, log, type: NAMESPACES, namespace: undefined, pageSize: 500,
      labelSelector: opts.selector, ...(fieldSelector ? { fieldSelector } : {}),
      ...(opts.informers.watchdogMs ? { watchdogMs: opts.informers.watchdogMs } : {}),
      hooks: {
        onRelist: (reason) => observer?.relist?.(NAMESPACES.plural, reason),
        onWatchRestart: (reason) => observer?.watchRestart?.(NAMESPACES.plural, reason),
        onSynced: () => {
          listed();
          availability.set(NAMESPACES.plural, '', true);
        },
        // Without it no namespace is known: nothing is watched until it is granted.
        onForbidden: (error) => {
          listed();
          availability.set(NAMESPACES.plural, '', false, error, '--namespace-selector');
        },
      },
    }, {
      beginList: () => {
        const names = new Set<string>();
        return {
          add: (ns) => void names.add(ns.metadata?.name ?? ''),
          commit: () => this.#want(names),
        };
      },
      // ADDED: it started matching (or was created matching); MODIFIED: it still matches.
      upsert: (ns) => this.#open(ns.metadata?.name ?? ''),
      // Deleted, or no longer matching (the apiserver sends a label change out of the selector as DELETED).
      remove: (ns) => this.#close(ns.metadata?.name ?? ''),
    });
  }

  /** The namespaces watched now, sorted. */
  get namespaces(): string[] {
    return [...this.#scopes.keys()].sort();
  }

  /** Reflector loops that crashed (a bug): the controller's liveness reports them. */
  get problems(): readonly string[] {
    return this.#problems;
  }

  /** Runs the Namespace watch; resolves once it listed and every namespace of that list synced. */
  async start(): Promise<void> {
    this.#watch('Namespace reflector', this.#reflector.run(), () => !this.#stopped);
    await this.#listed;
    await Promise.all([...this.#scopes.values()].map((s) => s.settled));
  }

  /**
   * A custom workload kind turned on while namespaces are open (src/controller/workload-kinds.ts):
   * its watches open in each; namespaces opened later take it from the informers' options.
   */
  addWorkloadKind(kind: WorkloadKind): void {
    for (const scope of this.#scopes.values()) {
      const { workloads } = scopeInformers({ ...this.#opts.informers, sources: new Map(), workloadKinds: [kind] }, scope.namespace, () => scope.open);
      scope.informers.push(...workloads);
      for (const { name, reflector } of workloads) this.#watch(name, reflector.run(), () => scope.open && !this.#stopped);
    }
  }

  /** Stops every reflector; the state stays (the process is stopping). */
  stop(): void {
    this.#stopped = true;
    this.#reflector.stop();
    for (const scope of this.#scopes.values()) for (const { reflector } of scope.informers) reflector.stop();
  }

  #want(names: ReadonlySet<string>): void {
    for (const namespace of [...this.#scopes.keys()]) if (!names.has(namespace)) this.#close(namespace);
    for (const namespace of names) this.#open(namespace);
  }

  #open(namespace: string): void {
    if (namespace === '' || this.#stopped || this.#scopes.has(namespace) || this.#opts.exclude.includes(namespace)) return;
    let close!: () => void;
    const closed = new Promise<void>((resolve) => (close = resolve));
    const scope: Scope = { namespace, open: true, informers: [], settled: closed, close };
    // Its workloads are watched from now on, as its config objects are: one created while those
    // are listed is an event (its creation, dated), not an item of a later list that could only
    // be taken to have existed when they were listed (an adoption rolled for a change it read).
    const gate = this.#opts.ordered === false ? undefined : new SinkGate();
    const { sources, workloads } = scopeInformers(this.#opts.informers, namespace, () => scope.open, gate);
    scope.informers.push(...sources, ...workloads);
    const start = (list: Informer[]) => {
      for (const { name, reflector } of list) this.#watch(name, reflector.run(), () => scope.open && !this.#stopped);
    };
    const settled = (list: Informer[]) => Promise.race([Promise.all(list.map((i) => i.settled)), closed]);
    start(sources);
    if (gate) start(workloads);
    scope.settled = (async () => {
      await settled(sources);
      gate?.release();
      if (!gate && scope.open) start(workloads);
      if (scope.open) await settled(workloads);
    })();
    this.#scopes.set(namespace, scope);
    this.#opts.informers.log.info('namespace selected: watching it', { namespace });
  }

  #close(namespace: string): void {
    const scope = this.#scopes.get(namespace);
    if (!scope) return;
    scope.open = false;
    this.#scopes.delete(namespace);
    for (const { reflector } of scope.informers) reflector.stop();
    scope.close();
    this.#opts.closed(namespace);
    this.#opts.informers.log.info('namespace no longer selected (or deleted): its watches closed, its state dropped, nothing written', { namespace });
  }

  /** A reflector loop: one that ends while it should run, or throws, is a bug said once. */
  #watch(name: string, loop: Promise<void>, running: () => boolean): void {
    const { log } = this.#opts.informers;
    loop.then(
      () => {
        if (!running()) return;
        this.#problems.push(`${name} stopped`);
        log.error('loop ended unexpectedly', { loop: name });
      },
      (err: unknown) => {
        this.#problems.push(`${name} stopped`);
        log.error('loop crashed', { loop: name, error: err instanceof Error ? err.stack ?? err.message : String(err) });
      },
    );
  }
}
