import { LSPErrorCodes, ResponseError, type CancellationToken, type Position } from 'vscode-languageserver/node';
import type { DocumentStore, OpenDocument } from '../documents/document-store.js';
import type { CompletionAnswer, Engine } from '../engine/engine.js';
import type { Logger } from '../log.js';

/** A computed answer with the document state it was computed for. */
export interface AnsweredRequest {
  readonly answer: CompletionAnswer;
  readonly doc: OpenDocument;
}

export interface RunOptions {
  /**
   * Popup and ghost-text requests supersede only their own kind: an editor asking for both at once (Neovim 0.12
   * asks for ghost text after each cursor move) must not abort its own popup. Identical requests of both kinds
   * share one model run (the engine's in-flight sharing).
   */
  readonly kind?: 'popup' | 'inline';
  /**
   * Answer within this many milliseconds (popup clients: a slow model must not hold up the other servers' items).
   * If the models are slower, the request answers nothing and the run goes on detached: it is no longer superseded,
   * its answer lands in the cache and the typed-ahead tracker, and the next request for the document waits for it
   * (as long as its own budget) before looking there — so the answer shows on the next trigger. While it is still
   * running, no second run starts for the document (it would only queue behind it on the model).
   */
  readonly waitMs?: number;
}

/**
 * The lifecycle of completion requests: the newest request for a document supersedes the older ones (their
 * model calls are aborted), `$/cancelRequest` aborts, the debounce waits before asking, and an answer computed
 * for an older document version is dropped.
 */
export class CompletionRequests {
  private readonly latest = new Map<string, AbortController>();
  /** Runs that outlived their request's wait (see RunOptions.waitMs), per document. */
  private readonly detached = new Map<string, Promise<unknown>>();

  constructor(
    private readonly engine: Engine,
    private readonly documents: DocumentStore,
    private readonly logger: Logger,
  ) {}

  async run(uri: string, position: Position, token: CancellationToken, options: RunOptions = {}): Promise<AnsweredRequest | undefined> {
    const slot = `${options.kind ?? 'popup'} ${uri}`;
    this.latest.get(slot)?.abort(new Error('superseded'));
    const controller = new AbortController();
    this.latest.set(slot, controller);
    const onCancel = token.onCancellationRequested(() => controller.abort(new Error('cancelled')));
    const waitMs = options.waitMs && options.waitMs > 0 ? options.waitMs : undefined;
    try {
      const debounceMs = this.engine.settings.completion.debounceMs;
      if (debounceMs > 0) await sleep(debounceMs, controller.signal);
      const earlier = this.detached.get(uri);
      if (earlier && waitMs && (await race(earlier, waitMs, controller.signal)) === 'timeout') {
        // Still answering: a second run would only queue behind it on the model. Its answer serves a later request.
        this.logger.debug(`completion for ${uri}: the previous answer is still coming; answering nothing now`);
        return undefined;
      }
      const doc = this.documents.get(uri);
      if (!doc) {
        this.logger.debug(`completion for ${uri}, which is not open: nothing to do`);
        return undefined;
      }
      if (controller.signal.aborted) return this.cancelled(token);
      const version = doc.version;
      const running = this.engine.complete(doc, this.documents.offsetAt(doc, position), controller.signal);
      if (waitMs && (await race(running, waitMs, controller.signal)) === 'timeout') {
        // Detached: a newer request no longer aborts it; the deadline still bounds it.
        if (this.latest.get(slot) === controller) this.latest.delete(slot);
        onCancel.dispose();
        const settled = running.finally(() => {
          if (this.detached.get(uri) === settled) this.detached.delete(uri);
        });
        this.detached.set(uri, settled);
        this.logger.debug(`completion for ${uri} not ready within ${waitMs} ms: answering nothing now, the answer follows on the next request`);
        return undefined;
      }
      const outcome = await running;
      if (token.isCancellationRequested) return this.cancelled(token);
      if (outcome.kind !== 'answer') {
        if (outcome.kind === 'skipped') this.logger.debug(`no completion at ${uri}:${position.line}:${position.character}: ${outcome.reason}`);
        return undefined;
      }
      const current = this.documents.get(uri);
      if (!current || current.version !== version) {
        this.logger.debug(`dropped an answer for ${uri} v${version}: the document is at v${current?.version ?? 'closed'}`);
        return undefined;
      }
      return { answer: outcome.answer, doc: current };
    } finally {
      onCancel.dispose();
      if (this.latest.get(slot) === controller) this.latest.delete(slot);
    }
  }

  /** Aborts everything in flight for a document (it was closed). */
  abort(uri: string): void {
    for (const kind of ['popup', 'inline']) {
      this.latest.get(`${kind} ${uri}`)?.abort(new Error('closed'));
      this.latest.delete(`${kind} ${uri}`);
    }
  }

  private cancelled(token: CancellationToken): undefined {
    if (token.isCancellationRequested) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'request cancelled');
    return undefined;
  }
}

/** Waits for `promise`, at most `ms` or until `signal` aborts; says which came first. */
async function race(promise: Promise<unknown>, ms: number, signal: AbortSignal): Promise<'settled' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      promise.then(
        () => 'settled' as const,
        () => 'settled' as const,
      ),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), ms);
      }),
      new Promise<'settled'>((resolve) => {
        onAbort = () => resolve('settled');
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
