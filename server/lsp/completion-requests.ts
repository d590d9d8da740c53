import { LSPErrorCodes, ResponseError, type CancellationToken, type Position } from 'vscode-languageserver/node';
import type { DocumentStore, OpenDocument } from '../documents/document-store.js';
import type { CompletionAnswer, Engine } from '../engine/engine.js';
import type { Logger } from '../log.js';

/** A computed answer with the document state it was computed for. */
export interface AnsweredRequest {
  readonly answer: CompletionAnswer;
  readonly doc: OpenDocument;
}

/**
 * The lifecycle of completion requests: the newest request for a document supersedes the older ones (their
 * model calls are aborted), `$/cancelRequest` aborts, the debounce waits before asking, and an answer computed
 * for an older document version is dropped.
 */
export class CompletionRequests {
  private readonly latest = new Map<string, AbortController>();

  constructor(
    private readonly engine: Engine,
    private readonly documents: DocumentStore,
    private readonly logger: Logger,
  ) {}

  async run(uri: string, position: Position, token: CancellationToken): Promise<AnsweredRequest | undefined> {
    this.latest.get(uri)?.abort(new Error('superseded'));
    const controller = new AbortController();
    this.latest.set(uri, controller);
    const onCancel = token.onCancellationRequested(() => controller.abort(new Error('cancelled')));
    try {
      const debounceMs = this.engine.settings.completion.debounceMs;
      if (debounceMs > 0) await sleep(debounceMs, controller.signal);
      const doc = this.documents.get(uri);
      if (!doc) {
        this.logger.debug(`completion for ${uri}, which is not open: nothing to do`);
        return undefined;
      }
      if (controller.signal.aborted) return this.cancelled(token);
      const version = doc.version;
      const outcome = await this.engine.complete(doc, this.documents.offsetAt(doc, position), controller.signal);
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
      if (this.latest.get(uri) === controller) this.latest.delete(uri);
    }
  }

  /** Aborts everything in flight for a document (it was closed). */
  abort(uri: string): void {
    this.latest.get(uri)?.abort(new Error('closed'));
    this.latest.delete(uri);
  }

  private cancelled(token: CancellationToken): undefined {
    if (token.isCancellationRequested) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'request cancelled');
    return undefined;
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
