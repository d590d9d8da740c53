import { WorkDoneProgressReporter, type CancellationToken, type Connection } from 'vscode-languageserver/node';
import type { Logger } from '../log.js';

/** A long operation seen by the user: `$/progress` begin/report/end where the client shows progress. */
export interface Progress {
  report(message: string, percentage?: number): void;
  /** Aborted when the request is cancelled or the user cancels the progress in the editor. */
  readonly signal: AbortSignal;
  done(): void;
}

/**
 * Starts progress for a long request: on the token the client sent with it (`workDoneToken`, which the library
 * hands a handler as an attached reporter), else on one the server creates (`window/workDoneProgress/create`, only for clients that declare `window.workDoneProgress`),
 * else silently. The progress is cancellable; cancelling it or the request aborts `signal`.
 */
export async function startProgress(
  connection: Connection,
  title: string,
  request: CancellationToken,
  logger: Logger,
  attached?: WorkDoneProgressReporter,
): Promise<Progress> {
  const controller = new AbortController();
  const cancel = () => controller.abort(new Error('cancelled by the user'));
  const disposables = [request.onCancellationRequested(cancel)];
  let reporter: WorkDoneProgressReporter;
  if (attached && !WorkDoneProgressReporter.isNullInstance(attached)) {
    reporter = attached;
  } else {
    try {
      const created = await connection.window.createWorkDoneProgress();
      disposables.push(created.token.onCancellationRequested(cancel));
      reporter = created;
    } catch (err) {
      // The client refused the token: go on without progress.
      logger.debug(`window/workDoneProgress/create failed: ${(err as Error).message}`);
      reporter = connection.window.attachWorkDoneProgress(undefined);
    }
  }
  if (request.isCancellationRequested) cancel();
  reporter.begin(title, 0, undefined, true);
  let ended = false;
  return {
    signal: controller.signal,
    report(message, percentage) {
      if (ended) return;
      if (percentage === undefined) reporter.report(message);
      else reporter.report(percentage, message);
    },
    done() {
      if (ended) return;
      ended = true;
      for (const d of disposables) d.dispose();
      reporter.done();
    },
  };
}
