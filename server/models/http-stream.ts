/**
 * One model call's HTTP request as a stream: how the caller's signal reaches it, how it is closed so that its
 * connection is kept, and what a network failure was (undici hides the code in a chain of causes).
 */

/**
 * How long a finished answer's HTTP response may take to end by itself before it is closed. Ollama writes the end
 * of the body (the last, empty chunk) just after the done line, in a write of its own; a response that ends by
 * itself gives its connection back to the pool, one closed before that costs the next call a new connection.
 */
const END_GRACE_MS = 1000;

/**
 * The caller's signal, as one model call's HTTP request sees it: aborting the caller closes the request while the
 * answer streams (the only way to make Ollama stop generating), and nothing after `cut()`. Callers abort their
 * signals once they are done (the ensemble stops every call it made when it decides); a finished answer's request
 * must still be free to end by itself then, so that its connection is kept.
 */
export class CallerLink {
  private readonly controller = new AbortController();
  private readonly forward = () => this.controller.abort(this.caller.reason);

  constructor(private readonly caller: AbortSignal) {
    if (caller.aborted) this.forward();
    else caller.addEventListener('abort', this.forward, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  cut(): void {
    this.caller.removeEventListener('abort', this.forward);
  }
}

/**
 * Ends a streamed request. A failed or abandoned one is closed at once (a broken for-await alone leaks it; HTTP/1.1
 * has no way to stop a response but closing its connection). A finished one — the done line read — gets a moment
 * for the end of its body to arrive: ollama-js stops reading at the done line, and closing then would throw the
 * connection away instead of returning it to the pool.
 */
export function closeStream(iterator: { abort(): void }, finished: boolean): void {
  if (!finished) return iterator.abort();
  // Aborting a response that has ended is a no-op; the timer only bounds one that never ends.
  setTimeout(() => iterator.abort(), END_GRACE_MS).unref();
}

/** Error codes meaning the connection existed and the other side reset or closed it ('terminated': undici's word
 *  for a body that broke off, when it gives no code). */
export const RESET_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'terminated']);

/** Codes (or undici's wording) of failures to talk to the server at all, as opposed to what it answered. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  ...RESET_CODES,
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The connection was reset or closed before the response began (fetch rejects only until the headers are in). */
export function closedBeforeAnswer(err: unknown): boolean {
  const failure = networkFailure(err);
  return failure !== undefined && RESET_CODES.has(failure.code);
}

export interface NetworkFailure {
  /** e.g. 'ECONNREFUSED', 'UND_ERR_SOCKET'; 'fetch failed' or 'terminated' when undici said no more. */
  readonly code: string;
  /** The message of the error that carried the code ('other side closed', 'read ECONNRESET'…). */
  readonly detail: string;
}

/**
 * What went wrong on the wire, if that is what went wrong. Node's fetch (undici) throws TypeError('fetch failed')
 * for a request that got no response and TypeError('terminated') from the body of one that broke off, each with
 * the real error as its `cause` (ECONNREFUSED, ECONNRESET, SocketError UND_ERR_SOCKET 'other side closed'…), and
 * an AggregateError there when it tried several addresses (localhost: ::1 and 127.0.0.1).
 */
export function networkFailure(err: unknown): NetworkFailure | undefined {
  let wording: string | undefined;
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const current = queue.shift();
    if (!current || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const e = current as { code?: unknown; message?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return { code: e.code, detail: typeof e.message === 'string' ? e.message : '' };
    if (e.name === 'TypeError' && (e.message === 'fetch failed' || e.message === 'terminated')) wording ??= e.message;
    queue.push(e.cause);
    if (Array.isArray(e.errors)) queue.push(...e.errors);
  }
  return wording ? { code: wording, detail: '' } : undefined;
}
