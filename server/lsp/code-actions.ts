import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionKind,
  ErrorCodes,
  LSPErrorCodes,
  MessageType,
  ResponseError,
  ShowMessageNotification,
  type CancellationToken,
  type CodeAction,
  type CodeActionParams,
  type Command,
  type Connection,
  type Diagnostic,
  type Range,
  type WorkDoneProgressReporter,
} from 'vscode-languageserver/node';
import type { DocumentStore, OpenDocument } from '../documents/document-store.js';
import { ACTION_NAMES, actionTitle, isActionId, type ActionDiagnostic, type ActionId, type ActionResult, type Engine } from '../engine/engine.js';
import type { UserNotifier } from '../engine/health.js';
import type { Logger } from '../log.js';
import { COMMANDS, type ClientFeatures } from './capabilities.js';
import { startProgress } from './progress.js';
import { workspaceEditFor } from './workspace-edits.js';

/**
 * Code actions. Listing is cheap (a tree-sitter look-up for the target, no model). The model runs when the user
 * picks one: in codeAction/resolve for clients that resolve `edit`, else through the `xencode.runAction` command,
 * which computes the edit and sends workspace/applyEdit. Explain edits nothing: it is always a command, and its
 * answer is shown as a markdown document (window/showDocument) or a message.
 */

/** What an action carries from the listing to resolve/command: enough to run it on the same text. */
export interface CodeActionData {
  readonly action: ActionId;
  readonly uri: string;
  readonly version: number;
  readonly range: Range;
  readonly diagnostics: readonly Diagnostic[];
}

/** The order in the editor's menu: a fix first when there is something to fix. */
const MENU: readonly ActionId[] = ['fix', 'refactor', 'optimize', 'document', 'explain', 'tests'];

const KINDS: Record<ActionId, string> = {
  fix: CodeActionKind.QuickFix,
  refactor: CodeActionKind.RefactorRewrite,
  optimize: CodeActionKind.RefactorRewrite,
  document: CodeActionKind.RefactorRewrite,
  tests: CodeActionKind.Refactor,
  explain: CodeActionKind.Empty,
};

export interface CodeActionDeps {
  readonly connection: Connection;
  readonly documents: DocumentStore;
  readonly engine: () => Engine | undefined;
  readonly features: () => ClientFeatures;
  readonly notifier: UserNotifier;
  readonly logger: Logger;
  /** Where explanations are written for window/showDocument. */
  readonly dataDir: () => string;
}

export class CodeActions {
  constructor(private readonly deps: CodeActionDeps) {}

  list(params: CodeActionParams): (CodeAction | Command)[] {
    const { documents } = this.deps;
    const engine = this.deps.engine();
    const doc = documents.get(params.textDocument.uri);
    if (!engine || !doc || doc.binary) return [];
    const features = this.deps.features();
    const selection = this.offsets(doc, params.range);
    const only = params.context.only;
    const diagnostics = params.context.diagnostics ?? [];
    const result: (CodeAction | Command)[] = [];
    for (const action of MENU) {
      const kind = KINDS[action];
      if (only && !only.some((o) => kind === o || kind.startsWith(`${o}.`) || (o === '' && kind === ''))) continue;
      if (action === 'fix' && diagnostics.length === 0) continue;
      const found = engine.actionTarget(doc, selection, action);
      const data: CodeActionData = { action, uri: doc.uri, version: doc.version, range: params.range, diagnostics: action === 'fix' ? diagnostics : [] };
      if (!found.target) {
        // Listed greyed out with the reason where the client can show that; left out elsewhere.
        if (features.codeActionDisabled && features.codeActionLiterals)
          result.push({ title: `Xencode: ${ACTION_NAMES[action]}`, kind, disabled: { reason: found.reason } });
        continue;
      }
      const title = `Xencode: ${actionTitle(action, found.target)}`;
      const command: Command = { title, command: COMMANDS.runAction, arguments: [data] };
      if (!features.codeActionLiterals) {
        result.push(command);
        continue;
      }
      const codeAction: CodeAction = { title, kind, ...(action === 'fix' ? { diagnostics } : {}) };
      if (features.codeActionResolve && action !== 'explain') result.push({ ...codeAction, data });
      else result.push({ ...codeAction, command });
    }
    return result;
  }

  /** codeAction/resolve: computes the edit. A failure is told to the user and the action comes back without one. */
  async resolve(action: CodeAction, token: CancellationToken): Promise<CodeAction> {
    const data = readData(action.data);
    const run = await this.run(data, action.title, token);
    if (run.kind === 'aborted') throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
    if (run.kind === 'edit') return { ...action, edit: run.edit };
    // Without its data: a client that resolves while `data` is there and no edit is (Eglot) would ask again forever.
    const { data: _data, ...withoutData } = action;
    return withoutData;
  }

  /** xencode.runAction: computes the result and applies it (workspace/applyEdit) or shows it. */
  async execute(args: unknown[] | undefined, token: CancellationToken, progress: WorkDoneProgressReporter): Promise<{ applied: boolean; message?: string }> {
    const data = readData(args?.[0]);
    const run = await this.run(data, undefined, token, progress);
    if (run.kind === 'aborted') throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
    if (run.kind !== 'edit') return { applied: run.kind === 'shown', ...(run.kind === 'failed' ? { message: run.message } : {}) };
    if (!this.deps.features().applyEdit) {
      const message = 'this editor cannot apply edits sent by a server (workspace/applyEdit): nothing was changed';
      this.deps.notifier.warn(message);
      return { applied: false, message };
    }
    const applied = await this.deps.connection.workspace.applyEdit({ label: run.label, edit: run.edit });
    if (!applied.applied) {
      const message = `the editor did not apply the edit${applied.failureReason ? `: ${applied.failureReason}` : ''}`;
      this.deps.notifier.warn(message);
      return { applied: false, message };
    }
    return { applied: true };
  }

  private async run(
    data: CodeActionData,
    title: string | undefined,
    token: CancellationToken,
    attached?: WorkDoneProgressReporter,
  ): Promise<
    | { kind: 'edit'; edit: NonNullable<CodeAction['edit']>; label: string }
    | { kind: 'shown' }
    | { kind: 'failed'; message: string }
    | { kind: 'aborted' }
  > {
    const { documents, notifier, logger } = this.deps;
    const engine = this.deps.engine();
    if (!engine) throw new ResponseError(ErrorCodes.ServerNotInitialized, 'xencode: initialize first');
    const doc = documents.get(data.uri);
    const fail = (message: string) => {
      notifier.warn(message);
      return { kind: 'failed' as const, message };
    };
    if (!doc) return fail(`${data.uri} is not open any more: the action was not run.`);
    if (doc.version !== data.version) return fail('the document changed since the action was offered: ask for code actions again.');
    const progress = startProgress(this.deps.connection, title ?? `Xencode: ${data.action}`, token, logger, attached);
    let result: ActionResult;
    try {
      result = await engine.act(
        doc,
        { action: data.action, selection: this.offsets(doc, data.range), diagnostics: data.diagnostics.map((d) => this.diagnostic(doc, d)) },
        { signal: progress.signal, onProgress: (message, percentage) => progress.report(message, percentage), readText: (uri) => this.readText(uri) },
      );
    } finally {
      progress.done();
    }
    switch (result.kind) {
      case 'aborted':
        return { kind: 'aborted' };
      case 'failed':
        if (result.severity === 'info') {
          notifier.info(result.message);
          return { kind: 'failed', message: result.message };
        }
        return fail(result.message);
      case 'markdown':
        // After the progress has ended: clients that show both in one status line keep the last one.
        await progress.closed(1000);
        await this.show(result.title, result.markdown);
        return { kind: 'shown' };
      default: {
        const now = documents.get(data.uri);
        if (result.kind === 'edit' && now?.version !== result.version)
          return fail('the document changed while the models were answering: nothing was changed; run the action again.');
        const { edit, intoSource } = workspaceEditFor(result, data.uri, documents, this.deps.features());
        if (intoSource) notifier.info(`this editor cannot create files through a language server: the tests were added at the end of ${data.uri}.`);
        return { kind: 'edit', edit, label: `Xencode: ${result.summary}` };
      }
    }
  }

  /** An explanation: as a markdown document where the client can open one, else as a message. */
  private async show(title: string, markdown: string): Promise<void> {
    const { connection, logger } = this.deps;
    if (this.deps.features().showDocument) {
      try {
        const dir = join(this.deps.dataDir(), 'explanations');
        mkdirSync(dir, { recursive: true });
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const file = join(dir, `${stamp}-${title.replace(/[^\w.-]+/g, '-').slice(0, 80)}.md`);
        writeFileSync(file, markdown);
        const shown = await connection.window.showDocument({ uri: pathToFileURL(file).href, takeFocus: true });
        if (shown.success) return;
        logger.warn(`the editor did not open ${file}; showing the explanation as a message`);
      } catch (err) {
        logger.warn(`could not show the explanation as a document (${(err as Error).message}); showing it as a message`);
      }
    }
    void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Info, message: markdown });
  }

  private readText(uri: string): string | undefined {
    const open = this.deps.documents.get(uri);
    if (open) return open.textDocument.getText();
    try {
      const path = fileURLToPath(uri);
      return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    } catch {
      return undefined;
    }
  }

  private offsets(doc: OpenDocument, range: Range): { start: number; end: number } {
    return { start: this.deps.documents.offsetAt(doc, range.start), end: this.deps.documents.offsetAt(doc, range.end) };
  }

  private diagnostic(doc: OpenDocument, d: Diagnostic): ActionDiagnostic {
    const { start, end } = this.offsets(doc, d.range);
    return { start, end, message: typeof d.message === 'string' ? d.message : d.message.value, ...(d.source ? { source: d.source } : {}), ...(d.code !== undefined ? { code: d.code } : {}) };
  }
}

/** Validates what came back from the client (it is the client's copy of our data, but still input). */
function readData(raw: unknown): CodeActionData {
  const data = (raw as { xencode?: unknown })?.xencode ?? raw;
  const d = data as Partial<CodeActionData> | undefined;
  const isPosition = (p: unknown) => typeof (p as { line?: unknown })?.line === 'number' && typeof (p as { character?: unknown })?.character === 'number';
  if (!d || !isActionId(d.action) || typeof d.uri !== 'string' || typeof d.version !== 'number' || !isPosition(d.range?.start) || !isPosition(d.range?.end))
    throw new ResponseError(ErrorCodes.InvalidParams, `not a Xencode code action: expected { action, uri, version, range, diagnostics }`);
  return { action: d.action, uri: d.uri, version: d.version, range: d.range!, diagnostics: Array.isArray(d.diagnostics) ? d.diagnostics : [] };
}
