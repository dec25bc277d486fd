// One reader for every failure an API call can end in: the operator's own ApiError (raw list,
// watch and patch), client-node's ApiException (.code, from the generated clients the Lease and
// Event writers use), and network failures, which carry no status at all.

/** An HTTP answer other than success, from the operator's own calls. */
export class ApiError extends Error {
  readonly status: number;
  /** The Status object's message (or the start of the body) as the apiserver sent it. */
  readonly detail: string;

  constructor(status: number, detail: string, what: string) {
    super(`${what}: HTTP ${status}: ${detail}`);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
  }
}

export function httpStatus(err: unknown): number | undefined {
  if (err instanceof ApiError) return err.status;
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

/** Worth retrying: conflicts, throttling, server errors and network failures (no status). */
export function isRetryable(status: number | undefined): boolean {
  return status === undefined || status === 409 || status === 429 || status >= 500;
}

/** The Status message of an apiserver answer body, or its start when it is not a Status. */
export function statusMessage(body: string): string {
  try {
    const message = (JSON.parse(body) as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: fall through
  }
  return body.slice(0, 300);
}

/** A short message for logs: the API's own Status message when there is one. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return `HTTP ${err.status}: ${err.detail}`;
  const status = httpStatus(err);
  const body = (err as { body?: unknown })?.body;
  let detail: string | undefined;
  if (typeof body === 'string') detail = statusMessage(body);
  else if (body && typeof body === 'object') detail = (body as { message?: string }).message;
  const base = detail ?? (err instanceof Error ? err.message : String(err));
  return status === undefined ? base : `HTTP ${status}: ${base}`;
}
