// An in-memory stand-in for the three API calls the controller makes (list page, watch, merge
// patch), with the apiserver semantics the controller relies on: one resourceVersion counter
// for every type (one etcd), watch resumption from a resourceVersion (410 Gone below the
// compaction floor), no-op writes that change nothing and send no event, merge patches that
// honour metadata.uid and metadata.resourceVersion as preconditions (409 otherwise), and a
// generation that moves on spec changes only. A test controls delivery: watch events wait in
// a per-watch queue until deliver(), and patch answers can be held after the write applied.
// Faults a test can inject: a 410 relist (compact() + closeWatches()), a kind whose list and
// watch are refused (forbid(): RBAC not effective yet, or revoked), patches that fail (500),
// are held, or are refused by an admission policy (422), for all workloads or for one.
// Label and field selectors are applied as the apiserver applies them, a watch included: an
// object whose change makes it start matching arrives as ADDED, one that stops as DELETED.
import { type LabelSelector, matchesLabelSelector, parseLabelSelector } from '../../src/core/label-selector.ts';
import { ApiError } from '../../src/kube/api-error.ts';
import {
  type ClusterApi, type DiscoveryApi, type KubeObject, type ListPage, type ListRequest, type MergePatchRequest, type ResourceType,
  type WatchEvent, type WatchRequest, type WatchStream,
} from '../../src/kube/cluster-api.ts';

type Obj = KubeObject & Record<string, unknown> & { metadata: NonNullable<KubeObject['metadata']> };

interface LoggedEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
  /** For MODIFIED: the object before (a watch with a selector tells entering and leaving by it). */
  previous?: Obj | undefined;
}

/** A list's or watch's selectors, parsed: what the apiserver would filter with. */
interface Filter {
  labels: LabelSelector | undefined;
  /** `path=value` (equal) or `path!=value` (not equal), every one must hold. */
  fields: Array<{ path: string; value: string; equal: boolean }>;
}

interface Subscription {
  plural: string;
  namespace: string | undefined;
  filter: Filter;
  queue: Array<WatchEvent<Obj>>;
  onEvent: (event: WatchEvent<Obj>) => void;
  end: (err?: Error) => void;
  closed: boolean;
}

/** ok: apply and answer; fail: 500, unapplied; hold: apply, answer on releaseAnswers(); refuse: 422, unapplied. */
export type PatchMode = 'ok' | 'fail' | 'hold' | 'refuse';

/** The workload kinds, whose writes say whether they changed the pod template (src/core/kinds.ts: each at spec.template). */
const WORKLOAD_PLURALS = new Set(['deployments', 'statefulsets', 'daemonsets', 'rollouts', 'clonesets', 'services']);

/** Every write the cluster applied, for an oracle to replay. */
export interface WriteRecord {
  rv: number;
  plural: string;
  namespace: string;
  name: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** 'operator' for merge patches through the API, else the test's own writer name. */
  by: string;
  /** For merge patches: which client sent it, when the test named one (mergePatch's `actor`). */
  actor?: string | undefined;
  object: Obj;
  /** For workloads (Deployments, StatefulSets, DaemonSets): whether spec.template changed in this write. */
  templateChanged: boolean;
}

const clone = <T>(value: T): T => structuredClone(value);

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** RFC 7386 merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return clone(patch);
  const base: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}

/** A Deployment's status as its controller writes it for `observedGeneration`: rolled out, still rolling, or past its deadline. */
export function deploymentStatus(state: 'healthy' | 'progressing' | 'failed', observedGeneration: number): Record<string, unknown> {
  if (state === 'healthy') return { observedGeneration, replicas: 1, updatedReplicas: 1, availableReplicas: 1 };
  const rolling = { observedGeneration, replicas: 2, updatedReplicas: 1, availableReplicas: 1 };
  return state === 'progressing' ? rolling : { ...rolling, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] };
}

export class FakeCluster implements ClusterApi, DiscoveryApi {
  #rv = 100;
  #uid = 0;
  #compactedTo = 0;
  readonly #objects = new Map<string, Map<string, Obj>>();
  readonly #log = new Map<string, LoggedEvent[]>();
  readonly #subscriptions: Subscription[] = [];
  readonly #heldAnswers: Array<() => void> = [];
  readonly #forbidden = new Set<string>();
  readonly #refusedNames = new Set<string>();
  readonly writes: WriteRecord[] = [];
  /** What the next merge patches do (see PatchMode). */
  patchMode: PatchMode = 'ok';
  /** Deliver watch events as they happen instead of on deliver(). */
  autoDeliver = false;
  /** Listeners told of every applied write (an oracle). */
  readonly onWrite: Array<(write: WriteRecord) => void> = [];
  requests = { list: 0, watch: 0, patch: 0, discovery: 0 };
  /** Custom resources served: `group/plural` → versions (installCrd). apps/v1 is always served. */
  readonly #crds = new Map<string, string[]>();

  get resourceVersion(): number {
    return this.#rv;
  }

  // ---- discovery (src/kube/cluster-api.ts, DiscoveryApi) -----------------------------------

  async servedVersions(group: string, plural: string): Promise<string[]> {
    this.requests.discovery++;
    if (group === 'apps' && WORKLOAD_PLURALS.has(plural)) return ['v1'];
    return [...this.#crds.get(`${group}/${plural}`) ?? []];
  }

  /** A CRD installed (or, with no versions, deleted): discovery shows it from now on. */
  installCrd(group: string, plural: string, versions: string[] = ['v1alpha1']): void {
    if (versions.length === 0) this.#crds.delete(`${group}/${plural}`);
    else this.#crds.set(`${group}/${plural}`, versions);
  }

  // ---- the ClusterApi the controller uses ------------------------------------------------

  async listPage<T extends KubeObject>(type: ResourceType, req: ListRequest, onItem: (item: T) => void): Promise<ListPage> {
    this.requests.list++;
    this.#refuseIfForbidden(type.plural, 'LIST');
    // One page holds everything: a snapshot at the current resourceVersion.
    const filter = filterOf(req);
    const items = [...this.#store(type.plural).values()]
      .filter((o) => (req.namespace === undefined || o.metadata.namespace === req.namespace) && passes(filter, o))
      .sort((a, b) => keyOf(a.metadata.namespace ?? '', a.metadata.name ?? '').localeCompare(keyOf(b.metadata.namespace ?? '', b.metadata.name ?? '')))
      .map(clone);
    for (const item of items) onItem(item as unknown as T);
    return { resourceVersion: String(this.#rv), continueToken: undefined };
  }

  watch<T extends KubeObject>(type: ResourceType, req: WatchRequest, onEvent: (event: WatchEvent<T>) => void): WatchStream {
    this.requests.watch++;
    this.#refuseIfForbidden(type.plural, 'WATCH');
    let end!: (err?: Error) => void;
    const ended = new Promise<void>((resolve, reject) => {
      end = (err) => (err ? reject(err) : resolve());
    });
    const sub: Subscription = {
      plural: type.plural, namespace: req.namespace, filter: filterOf(req), queue: [], onEvent: onEvent as (e: WatchEvent<Obj>) => void,
      end: (err) => {
        if (sub.closed) return;
        sub.closed = true;
        this.#subscriptions.splice(this.#subscriptions.indexOf(sub), 1);
        end(err);
      },
      closed: false,
    };
    this.#subscriptions.push(sub);
    const from = Number(req.resourceVersion);
    if (from < this.#compactedTo) {
      sub.queue.push({ type: 'ERROR', object: { metadata: {}, code: 410, message: 'too old resource version' } as never });
    } else {
      for (const e of this.#events(type.plural)) {
        const seen = e.rv > from ? this.#seenBy(sub, e) : undefined;
        if (seen) sub.queue.push(seen);
      }
    }
    if (this.autoDeliver) queueMicrotask(() => this.deliverAll());
    return { ended, abort: () => sub.end() };
  }

  /** `actor` (not part of ClusterApi) names the client in the WriteRecord: an oracle tells controllers apart by it. */
  async mergePatch(type: ResourceType, req: MergePatchRequest, actor?: string): Promise<KubeObject> {
    this.requests.patch++;
    const what = `PATCH ${req.namespace}/${req.name}`;
    // As fetch does: a request whose signal is aborted is never sent.
    if (req.signal?.aborted) throw abortError();
    if (this.patchMode === 'fail') throw new ApiError(500, status('injected failure'), what);
    if (this.patchMode === 'refuse' || this.#refusedNames.has(req.name)) {
      throw new ApiError(422, status(`admission webhook "policy.example" denied the request: ${type.plural} "${req.name}" may not be patched`), what);
    }
    const current = this.#store(type.plural).get(keyOf(req.namespace, req.name));
    if (!current) throw new ApiError(404, status(`${type.plural} "${req.name}" not found`), what);
    const meta = (req.body as { metadata?: { uid?: string; resourceVersion?: string } }).metadata;
    // What kube-apiserver 1.36 answers (seen on the testbed): a uid that differs is an invalid
    // change of an immutable field; a stale resourceVersion is a conflict.
    if (meta?.resourceVersion !== undefined && meta.resourceVersion !== current.metadata.resourceVersion) {
      throw new ApiError(409, status('the object has been modified; please apply your changes to the latest version and try again'), what);
    }
    if (meta?.uid !== undefined && meta.uid !== current.metadata.uid) {
      throw new ApiError(422, status(`metadata.uid: Invalid value: "${meta.uid}": field is immutable`, [{ field: 'metadata.uid', reason: 'FieldValueInvalid' }]), what);
    }
    const next = mergePatch(current, req.body) as Obj;
    const written = this.#write(type.plural, next, 'operator', actor);
    const answer = clone(written?.object ?? current);
    if (this.patchMode === 'hold') {
      // Applied, the answer not yet back: a client that gives up (its signal aborts) never gets it.
      return new Promise((resolve, reject) => {
        const release = () => resolve(answer);
        this.#heldAnswers.push(release);
        req.signal?.addEventListener('abort', () => {
          const at = this.#heldAnswers.indexOf(release);
          if (at < 0) return;
          this.#heldAnswers.splice(at, 1);
          reject(abortError());
        }, { once: true });
      });
    }
    return answer;
  }

  // ---- the test's side -------------------------------------------------------------------

  /** Events waiting for delivery on open watches of `plural`. */
  pending(plural?: string): number {
    return this.#subscriptions.filter((s) => plural === undefined || s.plural === plural).reduce((n, s) => n + s.queue.length, 0);
  }

  get heldAnswers(): number {
    return this.#heldAnswers.length;
  }

  /** Delivers up to `n` queued events of the watches of `plural`, in order. */
  deliver(plural: string, n = Infinity): number {
    let delivered = 0;
    for (const sub of [...this.#subscriptions]) {
      if (sub.plural !== plural) continue;
      while (delivered < n && sub.queue.length > 0 && !sub.closed) {
        const event = sub.queue.shift() as WatchEvent<Obj>;
        delivered++;
        sub.onEvent(event);
      }
    }
    return delivered;
  }

  /**
   * Delivers every queued event of every watch, in the order they were written (across watches:
   * an apiserver that keeps up delivers each promptly); selective deliver() makes watches lag.
   */
  deliverAll(): void {
    for (;;) {
      let next: Subscription | undefined;
      let lowest = Infinity;
      for (const sub of this.#subscriptions) {
        const head = sub.queue[0];
        if (head === undefined || sub.closed) continue;
        const rv = Number(head.object.metadata?.resourceVersion ?? 0) || 0;
        if (rv < lowest) {
          lowest = rv;
          next = sub;
        }
      }
      if (next === undefined) return;
      next.onEvent(next.queue.shift() as WatchEvent<Obj>);
    }
  }

  /** A BOOKMARK on every open watch at the current resourceVersion, as the apiserver sends about once a minute. */
  bookmark(): void {
    for (const sub of this.#subscriptions) {
      if (!sub.closed) sub.queue.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(this.#rv) } } as Obj });
    }
    if (this.autoDeliver) this.deliverAll();
  }

  /** Answers every held patch (their writes were applied when they arrived). */
  releaseAnswers(): number {
    const held = this.#heldAnswers.splice(0);
    for (const answer of held) answer();
    return held.length;
  }

  /** Ends every open watch of `plural` as a server or a broken connection would. */
  closeWatches(plural: string, err?: Error): void {
    for (const sub of [...this.#subscriptions]) if (sub.plural === plural) sub.end(err);
  }

  /** Forgets history below the current resourceVersion: a watch resuming from before gets 410. */
  compact(): void {
    this.#compactedTo = this.#rv;
  }

  /**
   * While on, list and watch of `plural` are refused with 403 (RBAC not effective yet, or
   * revoked), and its open watches end with that error.
   */
  forbid(plural: string, on: boolean): void {
    if (!on) {
      this.#forbidden.delete(plural);
      return;
    }
    this.#forbidden.add(plural);
    this.closeWatches(plural, forbiddenError(plural, 'WATCH'));
  }

  isForbidden(plural: string): boolean {
    return this.#forbidden.has(plural);
  }

  /** While on, every merge patch of a workload named `name` is refused (422), unapplied: an admission policy. */
  refusePatchesOf(name: string, on = true): void {
    if (on) this.#refusedNames.add(name);
    else this.#refusedNames.delete(name);
  }

  get(plural: string, namespace: string, name: string): Obj | undefined {
    const found = this.#store(plural).get(keyOf(namespace, name));
    return found ? clone(found) : undefined;
  }

  list(plural: string): Obj[] {
    return [...this.#store(plural).values()].map(clone);
  }

  /** Create or replace (a PUT of the whole object, as kubectl or a controller does); no-op writes send nothing. */
  put(plural: string, object: KubeObject, by = 'user'): WriteRecord | undefined {
    const meta = object.metadata ?? {};
    const existing = this.#store(plural).get(keyOf(meta.namespace ?? '', meta.name ?? ''));
    const next = clone(object) as Obj;
    next.metadata = { ...next.metadata, uid: existing?.metadata.uid, resourceVersion: existing?.metadata.resourceVersion, generation: existing?.metadata.generation };
    return this.#write(plural, next, by);
  }

  /** Applies `edit` to the stored object (a read-modify-write by another client). */
  update(plural: string, namespace: string, name: string, edit: (o: Obj) => void, by = 'user'): WriteRecord | undefined {
    const current = this.#store(plural).get(keyOf(namespace, name));
    if (!current) throw new Error(`fake: no ${plural} ${namespace}/${name}`);
    const next = clone(current);
    edit(next);
    return this.#write(plural, next, by);
  }

  /**
   * What a workload's controller writes (the fake runs none): `status(observed)` as its status,
   * for the generation it has observed — the object's own, which the fake keeps.
   */
  writeStatus(
    plural: string, namespace: string, name: string, status: (observedGeneration: number) => Record<string, unknown>, by = 'kube-controller-manager',
  ): WriteRecord | undefined {
    return this.update(plural, namespace, name, (o) => void (o['status'] = status(o.metadata.generation ?? 1)), by);
  }

  delete(plural: string, namespace: string, name: string, by = 'user'): WriteRecord | undefined {
    const store = this.#store(plural);
    const current = store.get(keyOf(namespace, name));
    if (!current) return undefined;
    store.delete(keyOf(namespace, name));
    const rv = ++this.#rv;
    const object = clone(current);
    object.metadata.resourceVersion = String(rv);
    return this.#record(plural, { rv, type: 'DELETED', object }, by, false);
  }

  // ---- internals --------------------------------------------------------------------------

  #refuseIfForbidden(plural: string, verb: string): void {
    if (this.#forbidden.has(plural)) throw forbiddenError(plural, verb);
  }

  #write(plural: string, next: Obj, by: string, actor?: string): WriteRecord | undefined {
    const store = this.#store(plural);
    const key = keyOf(next.metadata.namespace ?? '', next.metadata.name ?? '');
    const current = store.get(key);
    if (current && same(stripVolatile(current), stripVolatile(next))) return undefined; // a no-op write: no new version
    const rv = ++this.#rv;
    const templateChanged = WORKLOAD_PLURALS.has(plural) && current !== undefined
      && !same((current as { spec?: { template?: unknown } }).spec?.template, (next as { spec?: { template?: unknown } }).spec?.template);
    const specChanged = current !== undefined && !same((current as { spec?: unknown }).spec, (next as { spec?: unknown }).spec);
    // The generation moves as the apiserver moves it (on spec changes): the operator's store
    // relies on that to reuse what it extracted from an unchanged spec. Tests count rolls by
    // template writes, never by it.
    next.metadata = {
      ...next.metadata,
      uid: current?.metadata.uid ?? `uid-${++this.#uid}`,
      resourceVersion: String(rv),
      generation: current === undefined ? 1 : (current.metadata.generation ?? 1) + (specChanged ? 1 : 0),
    };
    store.set(key, clone(next));
    return this.#record(plural, { rv, type: current ? 'MODIFIED' : 'ADDED', object: clone(next), previous: current && clone(current) }, by, templateChanged, actor);
  }

  #record(plural: string, event: LoggedEvent, by: string, templateChanged: boolean, actor?: string): WriteRecord {
    this.#events(plural).push(event);
    const write: WriteRecord = {
      rv: event.rv, plural, namespace: event.object.metadata.namespace ?? '', name: event.object.metadata.name ?? '',
      type: event.type, by, ...(actor !== undefined ? { actor } : {}), object: clone(event.object), templateChanged,
    };
    this.writes.push(write);
    for (const listener of this.onWrite) listener(write);
    for (const sub of this.#subscriptions) {
      const seen = sub.plural === plural ? this.#seenBy(sub, event) : undefined;
      if (seen) sub.queue.push(seen);
    }
    if (this.autoDeliver) this.deliverAll();
    return write;
  }

  #matches(sub: Subscription, o: Obj): boolean {
    return (sub.namespace === undefined || o.metadata.namespace === sub.namespace) && passes(sub.filter, o);
  }

  /** The event as the watch `sub` sees it: a change into its selectors is ADDED, out of them DELETED (at the new version). */
  #seenBy(sub: Subscription, e: LoggedEvent): WatchEvent<Obj> | undefined {
    const now = this.#matches(sub, e.object);
    const before = e.type === 'MODIFIED' && e.previous !== undefined && this.#matches(sub, e.previous);
    if (e.type !== 'MODIFIED') return now ? { type: e.type, object: clone(e.object) } : undefined;
    if (now) return { type: before ? 'MODIFIED' : 'ADDED', object: clone(e.object) };
    if (!before) return undefined;
    const left = clone(e.previous as Obj);
    left.metadata.resourceVersion = e.object.metadata.resourceVersion;
    return { type: 'DELETED', object: left };
  }

  #store(plural: string): Map<string, Obj> {
    let store = this.#objects.get(plural);
    if (!store) this.#objects.set(plural, (store = new Map()));
    return store;
  }

  #events(plural: string): LoggedEvent[] {
    let log = this.#log.get(plural);
    if (!log) this.#log.set(plural, (log = []));
    return log;
  }
}

function filterOf(req: { labelSelector?: string | undefined; fieldSelector?: string | undefined }): Filter {
  const fields = (req.fieldSelector ?? '').split(',').filter((f) => f !== '').map((f) => {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(f);
    if (!m) throw new ApiError(400, status(`invalid field selector: ${f}`), 'LIST');
    return { path: m[1] as string, value: m[3] as string, equal: m[2] !== '!=' };
  });
  return { labels: req.labelSelector ? parseLabelSelector(req.labelSelector) : undefined, fields };
}

function passes(filter: Filter, o: Obj): boolean {
  if (filter.labels && !matchesLabelSelector(filter.labels, o.metadata.labels)) return false;
  return filter.fields.every(({ path, value, equal }) => {
    let at: unknown = o;
    for (const part of path.split('.')) at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[part] : undefined;
    return (String(at ?? '') === value) === equal;
  });
}

function status(message: string, causes?: Array<{ field: string; reason: string }>): string {
  return JSON.stringify({ kind: 'Status', status: 'Failure', message, ...(causes ? { details: { causes } } : {}) });
}

function forbiddenError(plural: string, verb: string): ApiError {
  return new ApiError(403, status(`${plural} is forbidden: User "system:serviceaccount:ns:config-reload-operator" cannot ${verb.toLowerCase()} resource "${plural}"`), `${verb} ${plural}`);
}

function abortError(): Error {
  return new DOMException('This operation was aborted', 'AbortError');
}

function stripVolatile(o: Obj): unknown {
  const { resourceVersion: _rv, generation: _g, uid: _u, ...meta } = o.metadata;
  return { ...o, metadata: meta };
}
