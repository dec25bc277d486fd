// Kubernetes Events on the workloads the operator acts on, so that `kubectl describe
// deployment` says why it rolled, or why it will not. Modelled on client-go's recorder:
// - An identical event (same object, type, reason and message) repeated within the
//   de-duplication window is not created again; the existing Event's count and lastTimestamp
//   are patched instead (client-go's EventCorrelator), so a warning that holds for an hour is
//   one Event with a count, not sixty.
// - Recording is best effort. An Event must never block or fail a roll: every failure is
//   logged at warn and dropped, and each API call has a deadline.
import { LRUCache } from 'lru-cache';
import { hostname } from 'node:os';
import type { Logger } from 'winston';
import { describeError, httpStatus } from '../kube/api-error.ts';
import { FIELD_MANAGER, type ResourceType } from '../kube/cluster-api.ts';
import type { HttpClusterApi } from '../kube/http-cluster-api.ts';
import type { InvolvedObject } from '../core/types.ts';

export type { InvolvedObject } from '../core/types.ts';


const EVENTS: ResourceType = { kind: 'Event', apiPath: '/api/v1', plural: 'events' };
/** The field manager of the count patches (the create's is the apiserver's default). */

/** A core/v1 Event, as the recorder writes it. */
interface CoreEvent {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { generateName?: string; name?: string; namespace: string };
  involvedObject: { kind: string; apiVersion: string; namespace: string; name: string; uid: string; resourceVersion?: string };
  type: EventType;
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string; host: string };
  reportingComponent: string;
  reportingInstance: string;
}

/** The two calls the recorder makes (HttpClusterApi's). */
export type EventApi = Pick<HttpClusterApi, 'create' | 'mergePatch'>;

export interface EventRecorderOptions {
  log: Logger;
  /** source.component; defaults to 'config-reload-operator'. */
  component?: string;
  /** source.host and reportingInstance: which replica reported it; defaults to the hostname (the pod name). */
  host?: string;
}

type EventType = 'Normal' | 'Warning';

/** core/v1 Event.reportingComponent (events.k8s.io calls it reportingController). */
export const REPORTING_CONTROLLER = 'config-reload.dev/operator';
const DEFAULT_COMPONENT = 'config-reload-operator';
/** Same window as client-go's EventCorrelator. */
const DEDUP_WINDOW_MS = 10 * 60 * 1000;
/** client-go's maxLruCacheEntries: bounded memory whatever the number of workloads. */
const MAX_TRACKED_EVENTS = 4096;
/** The apiserver's limits for events.k8s.io (note 1 kB, reason 128); kept for core/v1 too. */
const MAX_MESSAGE_LENGTH = 1024;
const MAX_REASON_LENGTH = 128;
const REQUEST_TIMEOUT_MS = 10_000;

/** The Event created for a (target, type, reason, message), and how many times it was seen. */
interface RecordedEvent {
  namespace: string;
  name: string;
  count: number;
}

export class EventRecorder {
  readonly #api: EventApi;
  readonly #log: Logger;
  readonly #component: string;
  readonly #host: string;
  readonly #recent = new LRUCache<string, RecordedEvent>({ max: MAX_TRACKED_EVENTS, ttl: DEDUP_WINDOW_MS });
  /**
   * The last emission per key, so that repeats of one event are applied in order: a burst of
   * the same warning becomes one create followed by count patches, never several creates.
   */
  readonly #pending = new Map<string, Promise<void>>();

  constructor(api: EventApi, opts: EventRecorderOptions) {
    this.#api = api;
    this.#log = opts.log.child({ component: 'events' });
    this.#component = opts.component ?? DEFAULT_COMPONENT;
    this.#host = opts.host ?? hostname();
  }

  normal(target: InvolvedObject, reason: string, message: string): Promise<void> {
    return this.#record(target, 'Normal', reason, message);
  }

  warning(target: InvolvedObject, reason: string, message: string): Promise<void> {
    return this.#record(target, 'Warning', reason, message);
  }

  #record(target: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const safeReason = truncate(reason, MAX_REASON_LENGTH);
    const safeMessage = truncate(message, MAX_MESSAGE_LENGTH);
    const key = [target.uid, type, safeReason, safeMessage].join('\u0000');

    const previous = this.#pending.get(key) ?? Promise.resolve();
    const emission = previous
      .then(() => this.#emit(key, target, type, safeReason, safeMessage))
      .catch((err: unknown) => {
        // #emit handles API errors itself; this is the last line that keeps the promise
        // from ever rejecting into a caller that is in the middle of a roll.
        this.#log.warn('event dropped', { reason: safeReason, object: describe(target), error: describeError(err) });
      });
    this.#pending.set(key, emission);
    void emission.then(() => {
      if (this.#pending.get(key) === emission) this.#pending.delete(key);
    });
    return emission;
  }

  async #emit(key: string, target: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date();
    const seen = this.#recent.get(key);
    if (seen) {
      try {
        await this.#api.mergePatch(EVENTS, {
          namespace: seen.namespace, name: seen.name, fieldManager: FIELD_MANAGER,
          body: { count: seen.count + 1, lastTimestamp: now.toISOString() }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        // set() rather than mutate: it also restarts the window, as each repeat extends it.
        this.#recent.set(key, { ...seen, count: seen.count + 1 });
        return;
      } catch (err) {
        if (httpStatus(err) !== 404) {
          this.#dropped(target, reason, 'patch', err);
          return;
        }
        // The apiserver expired the Event (its event TTL): start a new one below.
        this.#recent.delete(key);
      }
    }

    const event: CoreEvent = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        // The apiserver appends a random suffix: two replicas or a restart never collide.
        generateName: `${target.name}.`,
        namespace: target.namespace,
      },
      involvedObject: {
        kind: target.kind,
        apiVersion: target.apiVersion,
        namespace: target.namespace,
        name: target.name,
        uid: target.uid,
        ...(target.resourceVersion ? { resourceVersion: target.resourceVersion } : {}),
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: now.toISOString(),
      lastTimestamp: now.toISOString(),
      source: { component: this.#component, host: this.#host },
      reportingComponent: REPORTING_CONTROLLER,
      reportingInstance: this.#host,
    };
    try {
      const created = await this.#api.create(EVENTS, target.namespace, event, AbortSignal.timeout(REQUEST_TIMEOUT_MS));
      const name = created.metadata?.name;
      if (name) this.#recent.set(key, { namespace: target.namespace, name, count: 1 });
    } catch (err) {
      this.#dropped(target, reason, 'create', err);
    }
  }

  #dropped(target: InvolvedObject, reason: string, verb: string, err: unknown): void {
    this.#log.warn('event dropped', { reason, object: describe(target), verb, status: httpStatus(err), error: describeError(err) });
  }
}

function describe(target: InvolvedObject): string {
  return `${target.kind}/${target.namespace}/${target.name}`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}
