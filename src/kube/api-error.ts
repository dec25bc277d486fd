// client-node raises ApiException (with .code) for HTTP errors of generated calls, and plain
// errors with .statusCode from Watch; network failures carry neither. One reader for both.
export function httpStatus(err: unknown): number | undefined {
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

/** A short message for logs: the API's own Status message when there is one. */
export function describeError(err: unknown): string {
  const status = httpStatus(err);
  const body = (err as { body?: unknown })?.body;
  let detail: string | undefined;
  if (typeof body === 'string') {
    try {
      detail = (JSON.parse(body) as { message?: string }).message;
    } catch {
      detail = body.slice(0, 300);
    }
  } else if (body && typeof body === 'object') {
    detail = (body as { message?: string }).message;
  }
  const base = detail ?? (err instanceof Error ? err.message : String(err));
  return status === undefined ? base : `HTTP ${status}: ${base}`;
}
