import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CancellationTokenSource,
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type {
  ClientCapabilities,
  CodeAction,
  CodeActionContext,
  Command,
  CompletionList,
  Hover,
  Range,
  InitializeResult,
  InlineCompletionList,
  Position,
  TextDocumentContentChangeEvent,
} from 'vscode-languageserver-protocol';
import { PACKAGE_ROOT } from '../../server/paths.js';

// Found from the package root, so this works from test/ (vitest) and from dist/test/ (benchmarks).
export const CLI = join(PACKAGE_ROOT, 'dist', 'server', 'cli.js');

/** What a capable editor declares (Neovim 0.12-like): inline completion, markdown, label details, configuration. */
export const FULL_CAPABILITIES: ClientCapabilities = {
  general: { positionEncodings: ['utf-16'] },
  workspace: {
    configuration: true,
    didChangeConfiguration: { dynamicRegistration: false },
    workspaceFolders: true,
    applyEdit: true,
    workspaceEdit: { documentChanges: true, resourceOperations: ['create'] },
  },
  window: { workDoneProgress: true, showMessage: {}, showDocument: { support: true } },
  textDocument: {
    synchronization: { didSave: true, dynamicRegistration: false },
    completion: {
      completionItem: { snippetSupport: true, labelDetailsSupport: true, documentationFormat: ['markdown', 'plaintext'] },
      contextSupport: true,
    },
    inlineCompletion: { dynamicRegistration: false },
    hover: { contentFormat: ['markdown', 'plaintext'] },
    codeAction: {
      codeActionLiteralSupport: { codeActionKind: { valueSet: ['', 'quickfix', 'refactor', 'refactor.rewrite', 'source'] } },
      resolveSupport: { properties: ['edit'] },
      dataSupport: true,
      disabledSupport: true,
    },
  },
};

/** What a popup-only editor declares (Helix-like): no inline completion, no configuration pull. */
export const POPUP_ONLY_CAPABILITIES: ClientCapabilities = {
  general: { positionEncodings: ['utf-8', 'utf-32', 'utf-16'] },
  textDocument: {
    completion: { completionItem: { snippetSupport: true, documentationFormat: ['markdown'] } },
  },
};

export interface ServerOptions {
  env?: Record<string, string | undefined>;
  args?: string[];
  /** Options for node itself, e.g. ['--cpu-prof'] when profiling. */
  nodeArgs?: string[];
}

export interface Notification {
  method: string;
  params: any;
}

/** The built `xencode --stdio` process, driven over stdio JSON-RPC exactly as an editor would. */
export class LspClient {
  readonly process: ChildProcessWithoutNullStreams;
  readonly connection: MessageConnection;
  readonly notifications: Notification[] = [];
  stderr = '';
  /** Answer to workspace/configuration for the section 'xencode' (null = the client has none). */
  configuration: unknown = null;
  /** workspace/applyEdit requests the server sent, answered with `applyEditResponse`. */
  readonly appliedEdits: any[] = [];
  applyEditResponse: { applied: boolean; failureReason?: string } = { applied: true };
  /** window/showDocument requests, answered { success: true }. */
  readonly shownDocuments: any[] = [];
  /** Tokens the server created with window/workDoneProgress/create. */
  readonly progressTokens: (string | number)[] = [];
  /** XENCODE_DATA_DIR of this server (a fresh temporary folder unless the env option sets it). */
  readonly dataDir: string;
  private exited: Promise<number | null>;
  private versions = new Map<string, number>();

  constructor(options: ServerOptions = {}) {
    const dataDir = options.env?.XENCODE_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'xencode-test-'));
    this.dataDir = dataDir;
    this.process = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI, '--stdio', ...(options.args ?? [])], {
      env: { ...process.env, XENCODE_DATA_DIR: dataDir, XENCODE_NO_WARMUP: '1', XENCODE_LOG: 'debug', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.process.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.process.on('exit', (code) => resolve(code)));
    // A server that dies must fail the pending requests, not leave them hanging.
    this.process.on('exit', () => this.connection.dispose());
    this.connection = createMessageConnection(new StreamMessageReader(this.process.stdout), new StreamMessageWriter(this.process.stdin));
    this.connection.onNotification((method, params) => {
      this.notifications.push({ method, params });
    });
    this.connection.onRequest('workspace/configuration', (params: { items: { section?: string }[] }) =>
      params.items.map((i) => (i.section === 'xencode' ? this.configuration : null)),
    );
    this.connection.onRequest('window/workDoneProgress/create', (params: { token: string | number }) => {
      this.progressTokens.push(params.token);
      return null;
    });
    this.connection.onRequest('workspace/applyEdit', (params: unknown) => {
      this.appliedEdits.push(params);
      return this.applyEditResponse;
    });
    // $/progress for tokens the connection does not know (all of them: the server creates them) arrives here.
    this.connection.onUnhandledProgress((params) => this.notifications.push({ method: '$/progress', params }));
    this.connection.onRequest('window/showDocument', (params: unknown) => {
      this.shownDocuments.push(params);
      return { success: true };
    });

    this.connection.onRequest('client/registerCapability', () => null);
    this.connection.onRequest('window/showMessageRequest', () => null);
    this.connection.listen();
  }

  async initialize(initializationOptions?: unknown, capabilities: ClientCapabilities = FULL_CAPABILITIES): Promise<InitializeResult> {
    const result = await this.connection.sendRequest<InitializeResult>('initialize', {
      processId: process.pid,
      rootUri: null,
      capabilities,
      initializationOptions,
      clientInfo: { name: 'xencode-test' },
    });
    await this.connection.sendNotification('initialized', {});
    return result;
  }

  async open(uri: string, text: string, languageId = 'typescript'): Promise<void> {
    this.versions.set(uri, 1);
    await this.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: 1, text } });
  }

  async change(uri: string, changes: TextDocumentContentChangeEvent[]): Promise<number> {
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: changes });
    return version;
  }

  /** Inserts `text` at `position` (an incremental change). */
  insert(uri: string, position: Position, text: string): Promise<number> {
    return this.change(uri, [{ range: { start: position, end: position }, text }]);
  }

  completion(uri: string, position: Position): Promise<CompletionList> {
    return this.connection.sendRequest<CompletionList>('textDocument/completion', { textDocument: { uri }, position, context: { triggerKind: 1 } });
  }

  inlineCompletion(uri: string, position: Position): Promise<InlineCompletionList> {
    return this.connection.sendRequest<InlineCompletionList>('textDocument/inlineCompletion', {
      textDocument: { uri },
      position,
      context: { triggerKind: 2 },
    });
  }

  executeCommand<T = any>(command: string, ...args: unknown[]): Promise<T> {
    return this.connection.sendRequest<T>('workspace/executeCommand', { command, arguments: args });
  }

  codeActions(uri: string, range: Range, context: Partial<CodeActionContext> = {}): Promise<(CodeAction | Command)[]> {
    return this.connection.sendRequest('textDocument/codeAction', { textDocument: { uri }, range, context: { diagnostics: [], ...context } });
  }

  /** codeAction/resolve; `cancel` (when given) cancels the request when it resolves. */
  resolveCodeAction(action: CodeAction, cancel?: Promise<unknown>): Promise<CodeAction> {
    const source = new CancellationTokenSource();
    void cancel?.then(() => source.cancel());
    return this.connection.sendRequest('codeAction/resolve', action, source.token);
  }

  hover(uri: string, position: Position, cancel?: Promise<unknown>): Promise<Hover | null> {
    const source = new CancellationTokenSource();
    void cancel?.then(() => source.cancel());
    return this.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position }, source.token);
  }

  /** The $/progress notifications received, in order. */
  progress(token?: string | number): { token: string | number; value: any }[] {
    return this.notifications.filter((n) => n.method === '$/progress' && (token === undefined || n.params.token === token)).map((n) => n.params);
  }

  messages(type?: number): string[] {
    return this.notifications
      .filter((n) => n.method === 'window/showMessage' && (type === undefined || n.params.type === type))
      .map((n) => n.params.message as string);
  }

  /** Polls until `predicate` holds; fails with the server's stderr tail for context. */
  async waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; server stderr tail:\n${this.stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  get exitCode(): Promise<number | null> {
    return this.exited;
  }

  async shutdown(): Promise<number | null> {
    if (this.process.exitCode !== null) return this.process.exitCode;
    try {
      await Promise.race([this.connection.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
      await this.connection.sendNotification('exit');
    } catch {
      /* already gone */
    }
    const code = await Promise.race([this.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3000))]);
    if (code === 'timeout') this.process.kill('SIGKILL');
    this.connection.dispose();
    return code === 'timeout' ? null : code;
  }
}
