import { WorkDoneProgressReporter, type CancellationToken, type Connection } from 'vscode-languageserver/node';
import type { Logger } from '../log.js';

/** A long operation seen by the user: `$/progress` begin/report/end where the client shows progress. */
export interface Progress {
  report(message: string, percentage?: number): void;
  /** Aborted when the request is cancelled or the user cancels the progress in the editor. */
  readonly signal: AbortSignal;
  done(): void;
  /**
   * Resolves once the client has seen the end of the progress (or there is none), at most `timeoutMs` later:
   * a message meant to be read last (an explanation in Helix's status line) goes after it.
   */
  closed(timeoutMs: number): Promise<void>;
}

/**
 * Starts progress for a long request: on the token the client sent with it (`workDoneToken`, which the library
 * hands a handler as an attached reporter), else on one the server creates (`window/workDoneProgress/create`,
 * only for clients that declare `window.workDoneProgress`), else silently. The progress is cancellable;
 * cancelling it or the request aborts `signal`.
 *
 * Returns at once: the work never waits for the client to answer the create request (a client busy waiting for
 * this very request would answer only after it, and both would stall). Reports made before the token exists are
 * replayed as the latest one.
 */
export function startProgress(connection: Connection, title: string, request: CancellationToken, logger: Logger, attached?: WorkDoneProgressReporter): Progress {
  const controller = new AbortController();
  const cancel = () => controller.abort(new Error('cancelled by the user'));
  const disposables = [request.onCancellationRequested(cancel)];
  if (request.isCancellationRequested) cancel();
  let reporter: WorkDoneProgressReporter | undefined;
  let latest: { message: string; percentage?: number } | undefined;
  let ended = false;
  let settle!: () => void;
  /** The create request answered (or refused), or there is no request: from then on `done()` reaches the client. */
  const settled = new Promise<void>((resolve) => (settle = resolve));

  const use = (r: WorkDoneProgressReporter) => {
    reporter = r;
    r.begin(title, 0, undefined, true);
    if (latest) send(latest.message, latest.percentage);
  };
  const send = (message: string, percentage?: number) => {
    if (percentage === undefined) reporter!.report(message);
    else reporter!.report(percentage, message);
  };

  if (attached && !WorkDoneProgressReporter.isNullInstance(attached)) {
    use(attached);
    settle();
  } else
    connection.window
      .createWorkDoneProgress()
      .then(
        (created) => {
          if (ended) {
            // Finished before the client answered: replay it, so the client's token does not dangle.
            use(created);
            return created.done();
          }
          disposables.push(created.token.onCancellationRequested(cancel));
          use(created);
        },
        // The client refused the token: go on without progress.
        (err: Error) => logger.debug(`window/workDoneProgress/create failed: ${err.message}`),
      )
      .finally(settle);

  return {
    signal: controller.signal,
    report(message, percentage) {
      if (ended) return;
      latest = { message, percentage };
      if (reporter) send(message, percentage);
    },
    done() {
      if (ended) return;
      ended = true;
      for (const d of disposables) d.dispose();
      reporter?.done();
    },
    async closed(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([settled, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    },
  };
}
