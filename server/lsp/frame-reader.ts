import type { Readable } from 'node:stream';
import { AbstractMessageReader, Disposable, type DataCallback, type Message, type MessageReader } from 'vscode-languageserver/node';

/**
 * Reads LSP's base protocol (`Content-Length: N\r\n\r\n` + N bytes of JSON) strictly, because a lenient reader goes
 * deaf: vscode-jsonrpc's own keeps the bytes left by a wrong Content-Length and glues every later body to the next
 * header, answering nothing ever again, with no log and no exit (issue 10). Here every frame is checked, and a
 * frame that cannot be told apart exactly from its neighbours ends the stream with a `FramingError` that says what
 * arrived; the server then exits non-zero, which editors show (and may restart), instead of hanging.
 *
 * What stays exact, and so is tolerated: CR/LF between frames, header names in any case, a Content-Type with a
 * UTF-8 charset. A body that is framed correctly but is not JSON is reported and dropped, and the next frame is
 * read as usual: the boundary was right, so nothing else is lost.
 */
export class FramingError extends Error {
  constructor(
    readonly problem: string,
    /** The bytes around the fault, as printable text. */
    readonly received: string,
  ) {
    super(`${problem}; received ${received}`);
  }
}

/** Longest header block accepted: real ones are under 100 bytes. */
const MAX_HEADER_BYTES = 4096;
/** Largest body accepted (a document of hundreds of megabytes is not an editor's). */
export const MAX_BODY_BYTES = 512 * 1024 * 1024;
/** How much of the faulty input a message shows. */
const EXCERPT_BYTES = 120;

const HEADER_END = Buffer.from('\r\n\r\n');
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;
/** An HTTP header name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export interface StrictReaderOptions {
  /** A body that is framed correctly but is not a JSON object or array: reported, then dropped. */
  readonly onBadBody?: (problem: string) => void;
}

export class StrictMessageReader extends AbstractMessageReader implements MessageReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Body length of the frame whose header has been read, or -1 while a header is awaited. */
  private bodyLength = -1;
  private failed = false;
  /** The last body was not JSON: a fault right after it most likely comes from its Content-Length being short. */
  private lastBodyBad = false;
  private callback: DataCallback | undefined;

  constructor(
    private readonly readable: Readable,
    private readonly options: StrictReaderOptions = {},
  ) {
    super();
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (data: Buffer) => this.onData(data);
    const onError = (error: Error) => this.fireError(error);
    const onClose = () => this.fireClose();
    this.readable.on('data', onData);
    this.readable.on('error', onError);
    this.readable.on('end', onClose);
    this.readable.on('close', onClose);
    return Disposable.create(() => {
      this.readable.off('data', onData);
      this.readable.off('error', onError);
      this.readable.off('end', onClose);
      this.readable.off('close', onClose);
    });
  }

  private onData(data: Buffer): void {
    if (this.failed) return;
    this.chunks.push(data);
    this.buffered += data.length;
    try {
      this.drain();
    } catch (err) {
      this.failed = true;
      this.chunks = [];
      this.buffered = 0;
      this.fireError(err);
    }
  }

  /** Delivers every complete frame in the buffer. */
  private drain(): void {
    for (;;) {
      if (this.bodyLength === -1) {
        this.skipLineBreaks();
        if (this.buffered === 0) return;
        const buffer = this.joined();
        const end = buffer.indexOf(HEADER_END);
        if (end === -1) {
          if (this.buffered > MAX_HEADER_BYTES || !looksLikeHeaderStart(buffer)) throw this.fault('no LSP header (expected "Content-Length: N" then an empty line)', buffer);
          return;
        }
        this.bodyLength = readHeader(buffer.subarray(0, end), (problem) => this.fault(problem, buffer));
        this.consume(end + HEADER_END.length);
      }
      if (this.buffered < this.bodyLength) return;
      const buffer = this.joined();
      const body = buffer.subarray(0, this.bodyLength);
      this.consume(this.bodyLength);
      this.bodyLength = -1;
      this.deliver(body);
    }
  }

  private deliver(body: Buffer): void {
    const text = body.toString('utf8');
    this.lastBodyBad = false;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch (err) {
      // A Content-Length too long swallows the next frame's header: the boundary is lost, not just this message.
      if (/\r\n\r\n/.test(text) && /Content-Length:/i.test(text)) {
        throw new FramingError('a Content-Length longer than its message: the body runs into the next message\'s header', excerpt(body));
      }
      this.lastBodyBad = true;
      this.options.onBadBody?.(`a message that is not JSON (${(err as Error).message}), dropped: ${excerpt(body)}`);
      return;
    }
    if (message === null || typeof message !== 'object') {
      this.options.onBadBody?.(`a message that is not a JSON object, dropped: ${excerpt(body)}`);
      return;
    }
    this.callback?.(message as Message);
  }

  /** CR and LF between frames carry no meaning; dropping them is exact. */
  private skipLineBreaks(): void {
    let skip = 0;
    while (this.buffered > 0) {
      const first = this.chunks[0]!;
      while (skip < first.length && (first[skip] === 13 || first[skip] === 10)) skip++;
      if (skip < first.length) break;
      this.consume(first.length);
      skip = 0;
    }
    if (skip > 0) this.consume(skip);
  }

  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private consume(bytes: number): void {
    const buffer = this.joined().subarray(bytes);
    this.chunks = buffer.length ? [buffer] : [];
    this.buffered = buffer.length;
  }

  private fault(problem: string, buffer: Buffer): FramingError {
    const hint = this.lastBodyBad ? ' right after a message that was cut short: its Content-Length was smaller than its body' : '';
    return new FramingError(problem + hint, excerpt(buffer));
  }
}

/** The header block's Content-Length, or a FramingError naming what is wrong with it. */
function readHeader(block: Buffer, fault: (problem: string) => FramingError): number {
  let length: number | undefined;
  for (const line of block.toString('latin1').split('\r\n')) {
    const match = HEADER_LINE.exec(line);
    if (!match) throw fault(`a header line that is not "Name: value": ${JSON.stringify(line.slice(0, 80))}`);
    const name = match[1]!.toLowerCase();
    const value = match[2]!;
    if (name === 'content-length') {
      if (!/^\d{1,10}$/.test(value)) throw fault(`a Content-Length that is not a byte count: ${JSON.stringify(value.slice(0, 40))}`);
      length = Number(value);
      if (length > MAX_BODY_BYTES) throw fault(`a Content-Length of ${length} bytes, over the ${MAX_BODY_BYTES}-byte limit`);
    } else if (name === 'content-type') {
      const charset = /charset=([^;\s]+)/i.exec(value)?.[1]?.replace(/"/g, '').toLowerCase();
      if (charset && charset !== 'utf-8' && charset !== 'utf8') throw fault(`a Content-Type charset ${charset} (only UTF-8 is spoken)`);
    } else throw fault(`an unknown header ${JSON.stringify(match[1])} (LSP has Content-Length and Content-Type)`);
  }
  if (length === undefined) throw fault('a header without Content-Length');
  return length;
}

/** Whether the bytes so far can still become a header (so waiting for more is right). */
function looksLikeHeaderStart(buffer: Buffer): boolean {
  const text = buffer.subarray(0, Math.min(buffer.length, 256)).toString('latin1');
  const lineEnd = text.indexOf('\r\n');
  const line = lineEnd === -1 ? text : text.slice(0, lineEnd);
  const colon = line.indexOf(':');
  if (colon !== -1) return TOKEN.test(line.slice(0, colon));
  return lineEnd === -1 && (line === '' || TOKEN.test(line));
}

/** Printable text for up to EXCERPT_BYTES of `bytes`. */
function excerpt(bytes: Buffer): string {
  const shown = JSON.stringify(bytes.subarray(0, EXCERPT_BYTES).toString('utf8'));
  return bytes.length > EXCERPT_BYTES ? `${shown} (${bytes.length} bytes in all)` : shown;
}
