// ClusterApi over HTTP: list, watch and merge patch as plain JSON requests, and the few single
// object verbs the Lease, the digest key and Events need (get, create, replace). Credentials come
// from a Connection (src/kube/connection.ts): the in-cluster ServiceAccount, or a kubeconfig read
// by client-node. No generated model is used: objects arrive as the JSON the apiserver sent.
// Sent with node:https (src/kube/http-transport.ts).
import type { Agent, IncomingMessage } from 'node:http';
import type { Connection } from './connection.ts';
import { ApiError } from './api-error.ts';
import { REVISION, VERSION } from '../core/version.ts';
import { discard, header, newAgent, send } from './http-transport.ts';
import { MAX_ERROR_BODY_BYTES, MAX_OBJECT_BYTES, readLines, readList, readText } from './json-stream.ts';
import {
  type ClusterApi, collectionPath, type DiscoveryApi, FIELD_MANAGER, type KubeObject, type ListPage, type ListRequest, type MergePatchRequest,
  type ResourceType, selectorQuery, type WatchEvent, type WatchRequest, type WatchStream,
} from './cluster-api.ts';

/** One page of a list may take a while on a loaded apiserver; a silent one is retried, not waited on. */
const LIST_TIMEOUT_MS = 60_000;
/** A patch that has not answered by then is treated as failed (and retried with backoff). */
const PATCH_TIMEOUT_MS = 15_000;
/** One object read (the Lease, the digest key; explain's reads). */
const GET_TIMEOUT_MS = 15_000;
/** One object written whole (a Lease, the digest key Secret, an Event). */
const WRITE_TIMEOUT_MS = 15_000;

export class HttpClusterApi implements ClusterApi, DiscoveryApi {
  readonly #connection: Connection;
  /** For a connection that brings no Agent of its own: keep-alive sockets with Node's default TLS setup. */
  #ownAgent: Agent | undefined;

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  async listPage<T extends KubeObject>(type: ResourceType, req: ListRequest, onItem: (item: T) => void): Promise<ListPage> {
    const query: Record<string, string> = { limit: String(req.limit), ...selectorQuery(req) };
    if (req.continueToken) query['continue'] = req.continueToken;
    const signal = withDeadline(req.signal, LIST_TIMEOUT_MS);
    const what = `LIST ${collectionPath(type, req.namespace)}`;
    const res = await this.#request('GET', collectionPath(type, req.namespace), query, signal);
    if (res.statusCode !== 200) throw new ApiError(res.statusCode ?? 0, await errorBody(res, what, signal), what, header(res, 'retry-after'));
    try {
      // Parsed as it arrives, each item handed on and dropped (src/kube/json-stream.ts).
      return await readList<T>(res, what, onItem);
    } catch (err) {
      throw signal.aborted ? signal.reason : err;
    } finally {
      // A page abandoned part-way (bad JSON, the consumer's error) must not keep its connection busy.
      discard(res);
    }
  }

  watch<T extends KubeObject>(type: ResourceType, req: WatchRequest, onEvent: (event: WatchEvent<T>) => void): WatchStream {
    const controller = new AbortController();
    const path = collectionPath(type, req.namespace);
    const query = {
      watch: '1', allowWatchBookmarks: 'true', resourceVersion: req.resourceVersion, timeoutSeconds: String(req.timeoutSeconds),
      ...selectorQuery(req),
    };
    const ended = (async () => {
      try {
        const res = await this.#request('GET', path, query, controller.signal);
        if (res.statusCode !== 200) {
          throw new ApiError(res.statusCode ?? 0, await errorBody(res, `WATCH ${path}`, controller.signal), `WATCH ${path}`, header(res, 'retry-after'));
        }
        // One line per event, pulled as it is handled (src/kube/json-stream.ts). Whatever ends the
        // loop (a bad line, the consumer's error) destroys the response, and with it the connection.
        // A line over the cap rejects (OversizedObjectError) before it is held: the reflector relists.
        try {
          await readLines(res, (line) => onEvent(parseJson<WatchEvent<T>>(line, `WATCH ${path}`)), `WATCH ${path}`);
        } finally {
          discard(res);
        }
      } catch (err) {
        if (controller.signal.aborted) return; // our own abort() is a clean end
        throw err;
      } finally {
        controller.abort();
      }
    })();
    return { ended, abort: () => controller.abort() };
  }

  /**
   * One object by name, as the JSON the apiserver sent. Not part of ClusterApi (the controller
   * lists and watches): the Lease, the digest key, and `explain` read single objects.
   */
  async get<T extends KubeObject>(type: ResourceType, namespace: string, name: string, signal?: AbortSignal): Promise<T> {
    const path = `${collectionPath(type, namespace)}/${encodeURIComponent(name)}`;
    const deadline = withDeadline(signal, GET_TIMEOUT_MS);
    const res = await this.#request('GET', path, {}, deadline);
    const text = await bodyOf(res, `GET ${path}`, deadline);
    if (res.statusCode !== 200) throw new ApiError(res.statusCode ?? 0, text, `GET ${path}`, header(res, 'retry-after'));
    return parseJson<T>(text, `GET ${path}`);
  }

  async servedVersions(group: string, plural: string, signal?: AbortSignal): Promise<string[]> {
    const apiGroup = await this.#discover<{ versions?: Array<{ version?: string }>; preferredVersion?: { version?: string } }>(
      `/apis/${encodeURIComponent(group)}`, signal);
    if (!apiGroup) return [];
    const preferred = apiGroup.preferredVersion?.version;
    const versions = (apiGroup.versions ?? []).map((v) => v.version ?? '').filter((v) => v !== '');
    const ordered = preferred !== undefined && versions.includes(preferred) ? [preferred, ...versions.filter((v) => v !== preferred)] : versions;
    const served: string[] = [];
    for (const version of ordered) {
      const list = await this.#discover<{ resources?: Array<{ name?: string }> }>(`/apis/${encodeURIComponent(group)}/${encodeURIComponent(version)}`, signal);
      if (list?.resources?.some((r) => r.name === plural)) served.push(version);
    }
    return served;
  }

  /** A discovery document; undefined when the path is not served (404, 503: not installed, or going away). */
  async #discover<T>(path: string, signal?: AbortSignal): Promise<T | undefined> {
    const deadline = withDeadline(signal, GET_TIMEOUT_MS);
    const res = await this.#request('GET', path, {}, deadline);
    const text = await bodyOf(res, `GET ${path}`, deadline);
    // A CRD being deleted (or an aggregated API down) answers 503 for a while: not served.
    if (res.statusCode === 404 || res.statusCode === 503) return undefined;
    if (res.statusCode !== 200) throw new ApiError(res.statusCode ?? 0, text, `GET ${path}`, header(res, 'retry-after'));
    return parseJson<T>(text, `GET ${path}`);
  }

  /** Creates an object (POST); 409 when one of that name exists. `body` is sent as JSON. */
  async create<T extends KubeObject>(type: ResourceType, namespace: string, body: T, signal?: AbortSignal): Promise<T> {
    return this.#write<T>('POST', collectionPath(type, namespace), 201, body, signal);
  }

  /** Replaces an object whole (PUT); 409 unless body.metadata.resourceVersion is current. */
  async replace<T extends KubeObject>(type: ResourceType, namespace: string, name: string, body: T, signal?: AbortSignal): Promise<T> {
    return this.#write<T>('PUT', `${collectionPath(type, namespace)}/${encodeURIComponent(name)}`, 200, body, signal);
  }

  async #write<T>(method: 'POST' | 'PUT', path: string, created: 200 | 201, body: unknown, signal?: AbortSignal): Promise<T> {
    const deadline = withDeadline(signal, WRITE_TIMEOUT_MS);
    const res = await this.#request(method, path, { fieldManager: FIELD_MANAGER }, deadline, {
      contentType: 'application/json', body: JSON.stringify(body),
    });
    const text = await bodyOf(res, `${method} ${path}`, deadline);
    // A create answers 201, or 200 when the apiserver had it already (a retried request); a
    // replace answers 200, or 201 when it created the object.
    if (res.statusCode !== 200 && res.statusCode !== created) throw new ApiError(res.statusCode ?? 0, text, `${method} ${path}`, header(res, 'retry-after'));
    return parseJson<T>(text, `${method} ${path}`);
  }

  async mergePatch(type: ResourceType, req: MergePatchRequest): Promise<KubeObject> {
    const path = `${collectionPath(type, req.namespace)}/${encodeURIComponent(req.name)}`;
    const signal = withDeadline(req.signal, PATCH_TIMEOUT_MS);
    const res = await this.#request('PATCH', path, { fieldManager: req.fieldManager }, signal, {
      contentType: 'application/merge-patch+json', body: JSON.stringify(req.body),
    });
    const text = await bodyOf(res, `PATCH ${path}`, signal);
    if (res.statusCode !== 200) throw new ApiError(res.statusCode ?? 0, text, `PATCH ${path}`, header(res, 'retry-after'));
    return parseJson<KubeObject>(text, `PATCH ${path}`);
  }

  async #request(
    method: 'GET' | 'PATCH' | 'POST' | 'PUT', path: string, query: Record<string, string>, signal: AbortSignal,
    payload?: { contentType: string; body: string },
  ): Promise<IncomingMessage> {
    const url = new URL(this.#connection.server + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    // Credentials are applied per request: a rotated token file or an exec plugin's new token
    // is picked up without a restart.
    const auth = await this.#connection.authorize(url, method);
    // Uncompressed responses (as client-go's DisableCompression, kubectl's --disable-compression):
    // the apiserver gzips any LIST page over 128 KiB, and inflating hundreds of them left glibc's
    // heap fragmented — measured at 2,000 ConfigMaps of 64 KiB, 27-45 MiB of freed memory kept
    // after sync (malloc_trim gave it back) against 10-11 MiB uncompressed, RSS at sync 149-172
    // against 130-134 MiB (bench/results/memory/steps.md, step 2). The price is bytes on the wire
    // (+31% for random data, more for text), for an apiserver spared the compression.
    const headers: Record<string, string> = { ...auth.headers, accept: 'application/json', 'accept-encoding': 'identity', 'user-agent': USER_AGENT };
    if (payload) headers['content-type'] = payload.contentType;
    const agent = auth.agent ?? (this.#ownAgent ??= newAgent(this.#connection.server));
    const res = await send(url, { method, headers, agent, signal, body: payload?.body });
    // A refused token (rotated, revoked) is read again before the next request, as client-go does.
    if (res.statusCode === 401) this.#connection.rejected?.(auth);
    return res;
  }
}

/** client-go's form (`binary/version (os/arch) commit`): the apiserver's audit log and metrics name the operator by it. */
export const USER_AGENT = `config-reload-operator/${VERSION} (${process.platform}/${process.arch}) ${REVISION}`;

/** An answer's body, bounded: an error's start (for its Status message), else (2xx) one object up to the cap. */
function bodyOf(res: IncomingMessage, what: string, signal: AbortSignal): Promise<string> {
  const status = res.statusCode ?? 0;
  return status >= 200 && status < 300 ? bounded(res, what, signal, MAX_OBJECT_BYTES, 'reject') : errorBody(res, what, signal);
}

function errorBody(res: IncomingMessage, what: string, signal: AbortSignal): Promise<string> {
  return bounded(res, what, signal, MAX_ERROR_BODY_BYTES, 'truncate');
}

async function bounded(res: IncomingMessage, what: string, signal: AbortSignal, maxBytes: number, over: 'truncate' | 'reject'): Promise<string> {
  try {
    return await readText(res, what, maxBytes, over);
  } catch (err) {
    // Aborted part-way (the deadline): said as the deadline, as before the body was reached.
    throw signal.aborted ? signal.reason : err;
  } finally {
    // What is left past the cap is not read: dropping it closes the connection.
    discard(res);
  }
}

/**
 * JSON.parse whose error says where, never what: V8 quotes the input in its message, and the
 * input may be a Secret's data.
 */
function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${what}: malformed JSON (${Buffer.byteLength(text)} bytes)`);
  }
}

/** The caller's signal (if any) combined with a deadline of its own. */
function withDeadline(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const deadline = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, deadline]) : deadline;
}
