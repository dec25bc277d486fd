// One reader for every failure an API call can end in: the operator's own ApiError (every call
// goes through src/kube/http-cluster-api.ts), an error carrying a numeric .code or .statusCode
// (client-node's ApiException, should a generated client be used again), and network failures,
// which carry no status at all.

/** One cause of a Status (an invalid field, for instance), as the apiserver reports it. */
export interface StatusCause {
  field?: string;
  reason?: string;
}

/** An HTTP answer other than success, from the operator's own calls. */
export class ApiError extends Error {
  readonly status: number;
  /** The Status object's message (or the start of the body) as the apiserver sent it. */
  readonly detail: string;
  /** The Status object's details.causes: which fields were refused, and why. */
  readonly causes: readonly StatusCause[];
  /** The answer's Retry-After, in ms, when it had a usable one (429 and 503 carry it). */
  readonly retryAfterMs: number | undefined;

  constructor(status: number, body: string, what: string, retryAfter?: string | null) {
    const detail = statusMessage(body);
    super(`${what}: HTTP ${status}: ${detail}`);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
    this.causes = statusCauses(body);
    this.retryAfterMs = parseRetryAfter(retryAfter);
  }
}

/** A server that says "not before" is believed, up to this: a bogus header must not park a loop for hours. */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Retry-After in ms: delay-seconds (what the apiserver sends, with 429 from priority and
 * fairness and with 503/504 while it starts) or an HTTP date; capped at MAX_RETRY_AFTER_MS.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    // An HTTP date always ends in GMT (RFC 9110); anything else (a negative number, prose) is ignored.
    const at = /GMT$/.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}

/**
 * How long the server asked us to wait before the next request (Retry-After), if it did: from
 * the operator's own ApiError, or the headers of client-node's ApiException.
 */
export function retryAfterMs(err: unknown): number | undefined {
  if (err instanceof ApiError) return err.retryAfterMs;
  const headers = (err as { headers?: unknown } | null | undefined)?.headers;
  if (headers && typeof headers === 'object') {
    const h = headers as Record<string, unknown>;
    const raw = h['retry-after'] ?? h['Retry-After'];
    if (typeof raw === 'string') return parseRetryAfter(raw);
  }
  return undefined;
}

function statusCauses(body: string): StatusCause[] {
  try {
    const causes = (JSON.parse(body) as { details?: { causes?: unknown } }).details?.causes;
    return Array.isArray(causes) ? (causes as StatusCause[]) : [];
  } catch {
    return [];
  }
}

/**
 * The patch named a uid that is not the object's: the workload was deleted and recreated under
 * the same name since the decision (the apiserver refuses the uid change as an invalid field).
 */
export function isUidMismatch(err: unknown): boolean {
  return err instanceof ApiError && err.status === 422 && err.causes.some((c) => c.field === 'metadata.uid');
}

export function httpStatus(err: unknown): number | undefined {
  if (err instanceof ApiError) return err.status;
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

/**
 * Worth retrying: conflicts, throttling, server errors and network failures (no status), and
 * rejected credentials (401): an expired or revoked token is about the operator, not the object,
 * and a rotated token file (or exec plugin) fixes it without anyone touching the object.
 */
export function isRetryable(status: number | undefined): boolean {
  return status === undefined || status === 401 || status === 409 || status === 429 || status >= 500;
}

/** Said with every 401, whose Status message is only "Unauthorized". */
export const UNAUTHORIZED_HINT = 'the apiserver rejected the credentials (an expired or revoked token?): '
  + 'retrying with backoff; the ServiceAccount token (in a cluster) and a kubeconfig tokenFile are read again when they change';

/**
 * The Status message of an apiserver answer body. Other JSON (an object where a Status belongs)
 * may be a Secret's data and is described, never quoted; text that is not JSON (a proxy's error
 * page) is shown by its start.
 */
export function statusMessage(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body.slice(0, 200).replace(/\s+/g, ' ').trim();
  }
  const message = (parsed as { message?: unknown } | null)?.message;
  if (typeof message === 'string') return message.slice(0, 1000);
  const kind = (parsed as { kind?: unknown } | null)?.kind;
  const shown = typeof kind === 'string' && /^[A-Za-z][A-Za-z0-9]{0,62}$/.test(kind) ? `a ${kind}` : Array.isArray(parsed) ? 'an array' : `JSON ${parsed === null ? 'null' : typeof parsed}`;
  return `an answer that is not a Status (${shown}, ${Buffer.byteLength(body)} bytes): not quoted`;
}

/** A short message for logs: the API's own Status message when there is one. */
export function describeError(err: unknown): string {
  if (httpStatus(err) === 401) return `HTTP 401: Unauthorized: ${UNAUTHORIZED_HINT}`;
  if (err instanceof ApiError) return `HTTP ${err.status}: ${err.detail}`;
  const status = httpStatus(err);
  const body = (err as { body?: unknown })?.body;
  let detail: string | undefined;
  if (typeof body === 'string') detail = statusMessage(body);
  else if (body && typeof body === 'object') detail = (body as { message?: string }).message;
  const base = detail ?? (err instanceof Error ? withCauses(err) : String(err));
  return status === undefined ? base : `HTTP ${status}: ${base}`;
}

/**
 * A network failure's message with its causes: fetch (the notification sender's) rejects with
 * "fetch failed" alone and puts what happened ("connect ECONNREFUSED 127.0.0.1:6443", a TLS
 * error) in `cause`, sometimes in an AggregateError (one error per address tried). The API
 * client's node:https errors say it in their own message.
 */
function withCauses(err: Error): string {
  const parts = [err.message];
  let cause: unknown = err.cause;
  for (let depth = 0; depth < 3 && cause instanceof Error; depth++) {
    const first = cause instanceof AggregateError && cause.errors[0] instanceof Error ? cause.errors[0] : undefined;
    const message = cause.message || first?.message;
    if (message && !parts.includes(message)) parts.push(message);
    cause = cause.cause ?? first?.cause;
  }
  return parts.join(': ');
}
