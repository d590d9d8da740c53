/**
 * Reading a `text/event-stream` body (server-sent events) as the JSON payloads of its events: what llama-server
 * and OpenAI-compatible servers stream. Chunks may split anywhere (inside a line, a UTF-8 character or a CRLF).
 */

/** An event the server sent in place of data: llama-server writes `error: {...}` when a streamed answer fails. */
export class EventStreamError extends Error {
  override readonly name = 'EventStreamError';
  constructor(
    message: string,
    /** The parsed error payload, when it was JSON. */
    readonly payload?: unknown,
  ) {
    super(message);
  }
}

/** One event: its `data:` lines joined with "\n", and the `error:` field when the server wrote one. */
export interface ServerSentEvent {
  readonly data: string;
  readonly error?: string;
}

/**
 * The events of a stream, in order. Comments (`:` lines), `event:`, `id:` and `retry:` are read past; an event
 * ends at a blank line, and the end of the stream ends the last one too.
 */
export async function* readEvents(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let error: string | undefined;
  // A chunk that ended in '\r' may be followed by the '\n' of the same line end in the next chunk.
  let skipNewline = false;
  function* take(line: string): Generator<ServerSentEvent> {
    if (line === '') {
      if (data.length > 0 || error !== undefined) yield { data: data.join('\n'), ...(error !== undefined ? { error } : {}) };
      data = [];
      error = undefined;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'error') error = value;
  }
  function* lines(text: string, final: boolean): Generator<ServerSentEvent> {
    buffer += text;
    if (skipNewline && buffer.startsWith('\n')) buffer = buffer.slice(1);
    skipNewline = false;
    let start = 0;
    for (;;) {
      const cr = buffer.indexOf('\r', start);
      const lf = buffer.indexOf('\n', start);
      const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      if (end < 0) break;
      yield* take(buffer.slice(start, end));
      if (buffer[end] === '\r') {
        if (end + 1 === buffer.length) {
          skipNewline = true;
          start = end + 1;
          break;
        }
        start = buffer[end + 1] === '\n' ? end + 2 : end + 1;
      } else start = end + 1;
    }
    buffer = buffer.slice(start);
    if (final) {
      if (buffer !== '') yield* take(buffer);
      buffer = '';
      yield* take('');
    }
  }
  for await (const chunk of chunks) yield* lines(decoder.decode(chunk, { stream: true }), false);
  yield* lines(decoder.decode(), true);
}

/**
 * The JSON payloads of a stream's events, up to `data: [DONE]` (OpenAI's end; llama-server's own endpoints have
 * none and simply end). An `error:` event, or data that is not JSON, throws EventStreamError.
 */
export async function* readJsonEvents(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  for await (const event of readEvents(chunks)) {
    if (event.error !== undefined) throw new EventStreamError(errorText(event.error), tryParse(event.error));
    if (event.data === '[DONE]') return;
    if (event.data === '') continue;
    const payload = tryParse(event.data);
    if (payload === undefined) throw new EventStreamError(`the server sent an event that is not JSON: ${event.data.slice(0, 200)}`);
    // OpenAI-compatible servers report a failure after the 200 as a data event with an `error` object.
    if (payload && typeof payload === 'object' && 'error' in payload && !('choices' in payload) && !('content' in payload))
      throw new EventStreamError(errorText(event.data), payload);
    yield payload;
  }
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The message of an error payload (`{"error":{"message":…}}`, `{"message":…}`), else the text itself. */
function errorText(text: string): string {
  const parsed = tryParse(text) as { error?: { message?: unknown } | string; message?: unknown } | undefined;
  const inner = parsed?.error;
  if (typeof inner === 'string') return inner;
  if (inner && typeof inner.message === 'string') return inner.message;
  if (parsed && typeof parsed.message === 'string') return parsed.message;
  return text.slice(0, 500);
}
