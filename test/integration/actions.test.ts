import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CodeAction, Command, Range, TextEdit, WorkspaceEdit } from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { OllamaStub, type StubModel } from '../support/ollama-stub.js';
import { FULL_CAPABILITIES, LspClient } from '../support/lsp-client.js';

const CHAT = 'qwen2.5-coder:7b';
const SOURCE = [
  "import { log } from './log';",
  '',
  'export class Calculator {',
  '  total = 0;',
  '',
  '  add(a: number, b: number): number {',
  '    const sum = a + b;',
  '    this.total += sum;',
  '    return sum;',
  '  }',
  '}',
  '',
].join('\n');
/** Inside `add`, on `const sum`. */
const IN_ADD = { line: 6, character: 10 };
const AT = (p: { line: number; character: number }): Range => ({ start: p, end: p });

const REFACTORED = ['add(a: number, b: number): number {', '  const sum = a + b;', '  this.total += sum;', '  log(sum);', '  return sum;', '}'].join('\n');

let stub: OllamaStub;
let client: LspClient;
let folder: string;
let uri: string;

function chatModel(extra: Partial<StubModel> = {}): StubModel {
  return { name: CHAT, capabilities: ['completion', 'tools'], defaultAnswer: 'I cannot help with that.', ...extra };
}

async function start(models: StubModel[], capabilities = FULL_CAPABILITIES, extra: Record<string, unknown> = {}) {
  stub = new OllamaStub({ models });
  await stub.start();
  client = new LspClient();
  const names = models.map((m) => m.name);
  await client.initialize({ xencode: { ollama: { host: stub.url }, models: names, ...extra } }, capabilities);
  await client.open(uri, SOURCE);
}

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'xencode-actions-'));
  uri = pathToFileURL(join(folder, 'calculator.ts')).href;
});

afterEach(async () => {
  await client?.shutdown();
  await stub?.stop();
});

/** The edits of a workspace edit for one URI, from `documentChanges` or `changes`. */
function editsFor(edit: WorkspaceEdit | undefined, target = uri): TextEdit[] {
  if (!edit) return [];
  if (edit.changes) return edit.changes[target] ?? [];
  return (edit.documentChanges ?? []).flatMap((c) => ('textDocument' in c && c.textDocument.uri === target ? c.edits : [])) as TextEdit[];
}

function applied(text: string, edits: TextEdit[]): string {
  return TextDocument.applyEdits(TextDocument.create(uri, 'typescript', 1, text), edits);
}

function byTitle(actions: (CodeAction | Command)[], prefix: string): CodeAction {
  const found = actions.find((a) => a.title.startsWith(prefix));
  if (!found) throw new Error(`no action "${prefix}…" in ${JSON.stringify(actions.map((a) => a.title))}`);
  return found as CodeAction;
}

describe('listing code actions', () => {
  it('lists every action for the enclosing method, with its kind, without asking any model', async () => {
    await start([chatModel()]);
    const actions = (await client.codeActions(uri, AT(IN_ADD))) as CodeAction[];
    expect(actions.map((a) => [a.title, a.kind])).toEqual([
      ['Xencode: Refactor method add', 'refactor.rewrite'],
      ['Xencode: Optimize method add', 'refactor.rewrite'],
      ['Xencode: Add documentation to method add', 'refactor.rewrite'],
      ['Xencode: Explain method add', ''],
      ['Xencode: Write tests for method add', 'refactor'],
    ]);
    // Lazy: edits come in resolve; Explain is a command.
    expect(actions.every((a) => a.edit === undefined)).toBe(true);
    expect(byTitle(actions, 'Xencode: Refactor').data).toMatchObject({ action: 'refactor', uri, version: 1 });
    expect(byTitle(actions, 'Xencode: Explain').command?.command).toBe('xencode.runAction');
    expect(stub.chatRequests()).toHaveLength(0);
  });

  it('offers Fix only with diagnostics, and honours the `only` filter', async () => {
    await start([chatModel()]);
    const diagnostic = { range: { start: { line: 6, character: 10 }, end: { line: 6, character: 13 } }, message: 'oops', severity: 1 as const };
    const withDiagnostics = await client.codeActions(uri, AT(IN_ADD), { diagnostics: [diagnostic] });
    expect(withDiagnostics[0]).toMatchObject({ title: 'Xencode: Fix method add', kind: 'quickfix', diagnostics: [diagnostic] });
    const quickfixes = await client.codeActions(uri, AT(IN_ADD), { diagnostics: [diagnostic], only: ['quickfix'] });
    expect(quickfixes.map((a) => a.title)).toEqual(['Xencode: Fix method add']);
    const refactors = await client.codeActions(uri, AT(IN_ADD), { only: ['refactor'] });
    expect(refactors.map((a) => a.title)).toEqual([
      'Xencode: Refactor method add',
      'Xencode: Optimize method add',
      'Xencode: Add documentation to method add',
      'Xencode: Write tests for method add',
    ]);
  });

  it('targets the selection when there is one, and lists greyed-out actions with the reason on a blank line', async () => {
    await start([chatModel()]);
    const selection = { start: { line: 6, character: 4 }, end: { line: 7, character: 22 } };
    const actions = await client.codeActions(uri, selection);
    expect(actions[0]!.title).toBe('Xencode: Refactor selection');
    const blank = (await client.codeActions(uri, AT({ line: 1, character: 0 }))) as CodeAction[];
    expect(blank.length).toBeGreaterThan(0);
    expect(blank.every((a) => a.disabled?.reason.includes('select the code'))).toBe(true);
  });

  it('gives Helix, which blocks its UI while resolving, commands instead of resolve', async () => {
    stub = new OllamaStub({ models: [chatModel()] });
    await stub.start();
    client = new LspClient();
    const init = await client.connection.sendRequest<any>('initialize', {
      processId: process.pid,
      rootUri: null,
      capabilities: FULL_CAPABILITIES,
      initializationOptions: { xencode: { ollama: { host: stub.url }, models: [CHAT] } },
      clientInfo: { name: 'helix', version: '25.01.1' },
    });
    await client.connection.sendNotification('initialized', {});
    expect(init.capabilities.codeActionProvider.resolveProvider).toBe(false);
    await client.open(uri, SOURCE);
    const actions = (await client.codeActions(uri, AT(IN_ADD))) as CodeAction[];
    expect(actions.every((a) => a.command?.command === 'xencode.runAction' && a.data === undefined)).toBe(true);
  });

  it('gives clients without code action literals plain commands', async () => {
    const { codeAction: _ignored, ...textDocument } = FULL_CAPABILITIES.textDocument!;
    await start([chatModel()], { ...FULL_CAPABILITIES, textDocument });
    const actions = await client.codeActions(uri, AT(IN_ADD));
    expect(actions.length).toBe(5);
    expect(actions.every((a) => (a as Command).command === 'xencode.runAction')).toBe(true);
  });
});

describe('running code actions', () => {
  it('Refactor through codeAction/resolve: the code is taken out of the prose and re-indented into the class', async () => {
    const answer = `Sure! Here is a cleaner version that also logs the sum:\n\n\`\`\`typescript\n${REFACTORED}\n\`\`\`\n\nThis keeps the behaviour and adds logging.`;
    await start([chatModel({ rules: [{ messageIncludes: 'Refactor this method add', answer }] })]);
    const actions = (await client.codeActions(uri, AT(IN_ADD))) as CodeAction[];
    const resolved = await client.resolveCodeAction(byTitle(actions, 'Xencode: Refactor'));
    const after = applied(SOURCE, editsFor(resolved.edit));
    expect(after).toContain(['  add(a: number, b: number): number {', '    const sum = a + b;', '    this.total += sum;', '    log(sum);', '    return sum;', '  }'].join('\n'));
    expect(after).not.toContain('Sure!');
    expect(after.startsWith("import { log } from './log';\n\nexport class Calculator {\n  total = 0;\n")).toBe(true);
    // A versioned edit, so the editor refuses it if the document moved on.
    expect(resolved.edit!.documentChanges![0]).toMatchObject({ textDocument: { uri, version: 1 } });

    // The prompt: the target's code, the file's imports, through the chat API.
    const [request] = stub.chatRequests(CHAT);
    const user = request!.body.messages.find((m: { role: string }) => m.role === 'user').content as string;
    // The target as if at column 0, so the answer comes back in the same shape.
    expect(user).toContain('add(a: number, b: number): number {\n  const sum = a + b;\n  this.total += sum;\n  return sum;\n}');
    expect(user).toContain("import { log } from './log';");
    expect(request!.body.messages[0].role).toBe('system');
    expect(request!.body.stream).toBe(true);
  });

  it('Fix puts the diagnostics into the prompt', async () => {
    const source = SOURCE.replace('return sum;', 'return summ;');
    const fixed = ['add(a: number, b: number): number {', '  const sum = a + b;', '  this.total += sum;', '  return sum;', '}'].join('\n');
    await start([chatModel({ rules: [{ messageIncludes: 'Cannot find name', answer: '```ts\n' + fixed + '\n```' }] })]);
    await client.change(uri, [{ text: source }]);
    const diagnostic = { range: { start: { line: 8, character: 11 }, end: { line: 8, character: 15 } }, message: "Cannot find name 'summ'. Did you mean 'sum'?", source: 'ts', code: 2552, severity: 1 as const };
    const actions = (await client.codeActions(uri, AT({ line: 8, character: 12 }), { diagnostics: [diagnostic] })) as CodeAction[];
    const resolved = await client.resolveCodeAction(byTitle(actions, 'Xencode: Fix'));
    expect(applied(source, editsFor(resolved.edit))).toBe(SOURCE);
    const user = stub.chatRequests(CHAT)[0]!.body.messages[1].content as string;
    expect(user).toContain("line 9 (at `summ`): Cannot find name 'summ'. Did you mean 'sum'? (ts 2552)");
  });

  it('Optimize through the command path: workspace/applyEdit carries the edit', async () => {
    const optimized = ['add(a: number, b: number): number {', '  return (this.total += a + b, a + b);', '}'].join('\n');
    await start([chatModel({ rules: [{ messageIncludes: 'Optimize this method add', answer: '```\n' + optimized + '\n```' }] })], {
      ...FULL_CAPABILITIES,
      textDocument: { ...FULL_CAPABILITIES.textDocument, codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ['refactor'] } } } },
    });
    const action = byTitle(await client.codeActions(uri, AT(IN_ADD)), 'Xencode: Optimize');
    expect(action.edit).toBeUndefined();
    expect(action.command?.command).toBe('xencode.runAction');
    const result = await client.executeCommand(action.command!.command, ...action.command!.arguments!);
    expect(result).toEqual({ applied: true });
    expect(client.appliedEdits).toHaveLength(1);
    expect(client.appliedEdits[0].label).toContain('Optimize method add');
    expect(applied(SOURCE, editsFor(client.appliedEdits[0].edit))).toContain('    return (this.total += a + b, a + b);\n  }\n}');
  });

  it('Add documentation inserts the doc comment above the method, and replaces the one already there', async () => {
    const doc = '/**\n * Adds two numbers and adds the sum to the running total.\n * @returns the sum\n */';
    await start([chatModel({ rules: [{ messageIncludes: 'Write the documentation comment', answer: `Here you go:\n\`\`\`ts\n${doc}\n\`\`\`` }] })]);
    const resolved = await client.resolveCodeAction(byTitle(await client.codeActions(uri, AT(IN_ADD)), 'Xencode: Add documentation'));
    const after = applied(SOURCE, editsFor(resolved.edit));
    const expected = '  /**\n   * Adds two numbers and adds the sum to the running total.\n   * @returns the sum\n   */\n  add(a: number, b: number): number {';
    expect(after).toContain(expected);

    // Run again on the documented method: the new comment replaces the old one instead of stacking up.
    await client.change(uri, [{ text: after }]);
    const again = await client.resolveCodeAction(byTitle(await client.codeActions(uri, AT({ line: 10, character: 10 })), 'Xencode: Add documentation'));
    const twice = applied(after, editsFor(again.edit));
    expect(twice.match(/\/\*\*/g)).toHaveLength(1);
    expect(twice).toContain(expected);
  });

  it('Explain opens the markdown answer as a document where the client can show one, else as a message', async () => {
    const explanation = '`add` sums **a** and **b**, adds the sum to `total` and returns it.\n\n- Pitfall: `total` grows without bound.';
    await start([chatModel({ rules: [{ messageIncludes: 'Explain this method add', answer: explanation }] })]);
    const action = byTitle(await client.codeActions(uri, AT(IN_ADD)), 'Xencode: Explain');
    const result = await client.executeCommand(action.command!.command, ...action.command!.arguments!);
    expect(result).toEqual({ applied: true });
    expect(client.shownDocuments).toHaveLength(1);
    const file = fileURLToPath(client.shownDocuments[0].uri);
    expect(file.startsWith(client.dataDir)).toBe(true);
    const markdown = readFileSync(file, 'utf8');
    expect(markdown).toContain('# Explanation of method add in calculator.ts');
    expect(markdown).toContain(explanation);
    expect(markdown).toContain(CHAT);
    await client.shutdown();

    // A client without window/showDocument gets the explanation as a message.
    const { showDocument: _ignored, ...window } = FULL_CAPABILITIES.window!;
    client = new LspClient();
    await client.initialize({ xencode: { ollama: { host: stub.url }, models: [CHAT] } }, { ...FULL_CAPABILITIES, window });
    await client.open(uri, SOURCE);
    const again = byTitle(await client.codeActions(uri, AT(IN_ADD)), 'Xencode: Explain');
    await client.executeCommand(again.command!.command, ...again.command!.arguments!);
    expect(client.shownDocuments).toHaveLength(0);
    expect(client.messages(3).some((m) => m.includes(explanation))).toBe(true);
  });

  it('Write tests creates the test file beside the source, or appends to the one on disk', async () => {
    const tests = "import { describe, expect, it } from 'vitest';\nimport { Calculator } from './calculator';\n\ndescribe('add', () => {\n  it('sums', () => {\n    expect(new Calculator().add(1, 2)).toBe(3);\n  });\n});";
    await start([chatModel({ rules: [{ messageIncludes: 'Write unit tests', answer: '```ts\n' + tests + '\n```' }] })]);
    const testUri = pathToFileURL(join(folder, 'calculator.test.ts')).href;
    const resolved = await client.resolveCodeAction(byTitle(await client.codeActions(uri, AT(IN_ADD)), 'Xencode: Write tests'));
    expect(resolved.edit!.documentChanges![0]).toEqual({ kind: 'create', uri: testUri, options: { ignoreIfExists: true } });
    expect(applied('', editsFor(resolved.edit, testUri))).toBe(tests + '\n');
    expect(stub.chatRequests()[0]!.body.messages[1].content).toContain('to go in calculator.test.ts');

    // The file exists: the tests are appended after a blank line.
    writeFileSync(fileURLToPath(testUri), "import { it } from 'vitest';\n\nit('exists', () => {});\n");
    const again = await client.resolveCodeAction(byTitle(await client.codeActions(uri, AT(IN_ADD)), 'Xencode: Write tests'));
    const appended = applied(readFileSync(fileURLToPath(testUri), 'utf8'), editsFor(again.edit, testUri));
    expect(appended).toBe("import { it } from 'vitest';\n\nit('exists', () => {});\n\n" + tests + '\n');
    expect(existsSync(join(folder, 'calculator.test.test.ts'))).toBe(false);
  });

  it('refuses an answer that would break the syntax, says so, and changes nothing', async () => {
    const broken = '```ts\nadd(a: number, b: number): number {\n  const sum = a + ;\n  return sum;\n```';
    await start([chatModel({ rules: [{ messageIncludes: 'Refactor', answer: broken }] })]);
    const action = byTitle(await client.codeActions(uri, AT(IN_ADD)), 'Xencode: Refactor');
    const resolved = await client.resolveCodeAction(action);
    expect(resolved.edit).toBeUndefined();
    // Without its data, so a client does not resolve it again and again.
    expect(resolved.data).toBeUndefined();
    const warning = client.messages(2).find((m) => m.includes('Refactor method add'));
    expect(warning).toMatch(/syntax error/);
    expect(warning).toMatch(/nothing was changed/);
  });

  it('asks every model in parallel and picks the answer the others agree with (weighted medoid)', async () => {
    const odd = ['add(a: number, b: number): number {', '  return a + b;', '}'].join('\n');
    await start([
      chatModel({ name: 'alpha:7b', rules: [{ messageIncludes: 'Refactor', answer: '```ts\n' + REFACTORED + '\n```' }] }),
      chatModel({ name: 'beta:7b', rules: [{ messageIncludes: 'Refactor', answer: '```ts\n' + odd + '\n```' }] }),
      chatModel({ name: 'gamma:7b', rules: [{ messageIncludes: 'Refactor', answer: 'Here:\n```ts\n' + REFACTORED.replace('log(sum);', 'log(sum); // trace') + '\n```' }] }),
    ]);
    const resolved = await client.resolveCodeAction(byTitle(await client.codeActions(uri, AT(IN_ADD)), 'Xencode: Refactor'));
    expect(applied(SOURCE, editsFor(resolved.edit))).toContain('    log(sum);\n    return sum;');
    for (const model of ['alpha:7b', 'beta:7b', 'gamma:7b']) expect(stub.chatRequests(model)).toHaveLength(1);
    const stats = await client.executeCommand('xencode.stats');
    expect(stats.actions.edits).toBe(1);
    expect(stats.actionModels['alpha:7b'].wins).toBe(1);
    expect(stats.actionModels['beta:7b'].wins).toBe(0);
    expect(stats.actionModels['beta:7b'].answers).toBe(1);
    expect(client.stderr).toMatch(/refactor by weighted\/similarity from alpha:7b; agreeing alpha:7b, gamma:7b/);
  });

  it('reports progress (begin, report, end) and aborts the models when the user cancels it', async () => {
    await start([chatModel({ defaultAnswer: '```ts\n' + REFACTORED + '\n```', latency: { firstTokenMs: 30_000 } })]);
    const action = byTitle(await client.codeActions(uri, AT(IN_ADD)), 'Xencode: Refactor');
    const pending = client.resolveCodeAction(action);
    await client.waitFor(() => stub.chatRequests(CHAT).length === 1 && client.progress().length > 0, 5000, 'the model call and progress');
    const token = client.progressTokens[0]!;
    expect(client.progress(token)[0]!.value).toMatchObject({ kind: 'begin', title: 'Xencode: Refactor method add', cancellable: true });
    await client.connection.sendNotification('window/workDoneProgress/cancel', { token });
    await expect(pending).rejects.toMatchObject({ code: -32800 });
    await client.waitFor(() => stub.chatRequests(CHAT)[0]!.aborted, 5000, 'the chat request to be aborted');
    await client.waitFor(() => client.progress(token).some((p) => p.value.kind === 'end'), 5000, 'progress end');
    expect((await client.executeCommand('xencode.stats')).actions.aborted).toBe(1);
  });

  it('$/cancelRequest on resolve aborts the models too; a finished action reports progress to the end', async () => {
    await start([chatModel({ rules: [{ messageIncludes: 'slow', answer: 'x' }], defaultAnswer: '```ts\n' + REFACTORED + '\n```', latency: { firstTokenMs: 30_000 } })]);
    const action = byTitle(await client.codeActions(uri, AT(IN_ADD)), 'Xencode: Refactor');
    let cancel!: () => void;
    const pending = client.resolveCodeAction(action, new Promise<void>((r) => (cancel = r)));
    await client.waitFor(() => stub.chatRequests(CHAT).length === 1, 5000, 'the model call');
    cancel();
    await expect(pending).rejects.toMatchObject({ code: -32800 });
    await client.waitFor(() => stub.chatRequests(CHAT)[0]!.aborted, 5000, 'the chat request to be aborted');

    // Now a fast model: progress goes begin → report (1 of 1 answered) → end.
    stub.model(CHAT)!.latency = undefined;
    const done = await client.resolveCodeAction(action);
    expect(editsFor(done.edit)).toHaveLength(1);
    const token = client.progressTokens[1]!;
    // The work never waits for the token, so its progress may arrive just after the answer.
    await client.waitFor(() => client.progress(token).some((p) => p.value.kind === 'end'), 5000, 'progress end');
    const kinds = client.progress(token).map((p) => p.value.kind);
    expect(kinds[0]).toBe('begin');
    expect(kinds.at(-1)).toBe('end');
    expect(client.progress(token).some((p) => p.value.kind === 'report' && /1 of 1 model answered/.test(p.value.message))).toBe(true);
  });

  it('tells the user when no model can answer, with what to do', async () => {
    await start([chatModel()]);
    stub.model(CHAT)!.fault = 'not-found';
    const resolved = await client.resolveCodeAction(byTitle(await client.codeActions(uri, AT(IN_ADD)), 'Xencode: Refactor'));
    expect(resolved.edit).toBeUndefined();
    await client.waitFor(() => client.messages().some((m) => m.includes(`ollama pull ${CHAT}`)), 5000, 'the pull hint');
  });
});

describe('every editing action through both paths', () => {
  const fixed = ['add(a: number, b: number): number {', '  const sum = a + b;', '  this.total = this.total + sum;', '  return sum;', '}'].join('\n');
  const docComment = '/** Adds `a` and `b` to the total. */';
  const tests = "import { expect, it } from 'vitest';\n\nit('adds', () => expect(new Calculator().add(1, 2)).toBe(3));";
  const cases = [
    { action: 'Refactor', prompt: 'Refactor this', answer: '```ts\n' + fixed + '\n```', expect: '    this.total = this.total + sum;' },
    { action: 'Fix', prompt: 'Fix them', answer: '```ts\n' + fixed + '\n```', expect: '    this.total = this.total + sum;' },
    { action: 'Optimize', prompt: 'Optimize this', answer: '```ts\n' + fixed + '\n```', expect: '    this.total = this.total + sum;' },
    { action: 'Add documentation', prompt: 'documentation comment', answer: docComment, expect: `  ${docComment}\n  add(` },
    { action: 'Write tests', prompt: 'Write unit tests', answer: '```ts\n' + tests + '\n```', expect: tests },
  ];
  const diagnostics = [{ range: { start: { line: 7, character: 4 }, end: { line: 7, character: 8 } }, message: 'prefer explicit assignment', severity: 2 as const }];
  const noResolve = { ...FULL_CAPABILITIES, textDocument: { ...FULL_CAPABILITIES.textDocument, codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: [] } } } } };

  for (const c of cases) {
    for (const path of ['resolve', 'command'] as const) {
      it(`${c.action} via ${path}`, async () => {
        await start([chatModel({ rules: [{ messageIncludes: c.prompt, answer: c.answer }] })], path === 'resolve' ? FULL_CAPABILITIES : noResolve);
        const action = byTitle(await client.codeActions(uri, AT(IN_ADD), { diagnostics }), `Xencode: ${c.action}`);
        let edit: WorkspaceEdit | undefined;
        if (path === 'resolve') {
          expect(action.command).toBeUndefined();
          edit = (await client.resolveCodeAction(action)).edit;
        } else {
          expect(action.data).toBeUndefined();
          expect(await client.executeCommand(action.command!.command, ...action.command!.arguments!)).toEqual({ applied: true });
          edit = client.appliedEdits[0]?.edit;
        }
        const target = c.action === 'Write tests' ? pathToFileURL(join(folder, 'calculator.test.ts')).href : uri;
        const before = c.action === 'Write tests' ? '' : SOURCE;
        expect(applied(before, editsFor(edit, target))).toContain(c.expect);
      });
    }
  }

  it('Write tests in an editor that cannot create files appends them to the current file and says so', async () => {
    await start([chatModel({ rules: [{ messageIncludes: 'Write unit tests', answer: '```ts\n' + tests + '\n```' }] })], {
      ...FULL_CAPABILITIES,
      workspace: { ...FULL_CAPABILITIES.workspace, workspaceEdit: { documentChanges: true } },
    });
    const resolved = await client.resolveCodeAction(byTitle(await client.codeActions(uri, AT(IN_ADD)), 'Xencode: Write tests'));
    expect(applied(SOURCE, editsFor(resolved.edit))).toBe(SOURCE + '\n' + tests + '\n');
    expect(client.messages(3).some((m) => m.includes('cannot create files'))).toBe(true);
  });

  it('Add documentation in Python (no grammar) puts the docstring into the function body', async () => {
    const python = 'def greet(name):\n    print(name)\n    return name\n';
    const pyUri = pathToFileURL(join(folder, 'greet.py')).href;
    await start([chatModel({ rules: [{ messageIncludes: 'documentation comment', answer: '```python\n"""Print and return `name`."""\n```' }] })]);
    await client.open(pyUri, python, 'python');
    const action = byTitle(await client.codeActions(pyUri, AT({ line: 1, character: 6 })), 'Xencode: Add documentation');
    expect(action.title).toBe('Xencode: Add documentation to lines 1–3');
    const resolved = await client.resolveCodeAction(action);
    expect(applied(python, editsFor(resolved.edit, pyUri))).toBe('def greet(name):\n    """Print and return `name`."""\n    print(name)\n    return name\n');
  });
});

describe('hovers', () => {
  const HOVER = '`add(a, b)` returns the sum of `a` and `b` and adds it to `total`.';

  it('explains the declaration under the cursor in markdown, and answers the next hover from the cache', async () => {
    await start([chatModel({ rules: [{ messageIncludes: 'hover popup', answer: HOVER } ] })]);
    const hover = await client.hover(uri, { line: 5, character: 3 }); // on the name `add`
    expect(hover!.contents).toMatchObject({ kind: 'markdown' });
    expect((hover!.contents as { value: string }).value).toContain(HOVER);
    expect(stub.chatRequests(CHAT)).toHaveLength(1);
    expect(stub.chatRequests(CHAT)[0]!.body.messages[1].content).toContain('Explain it.');

    // Same method, re-indented elsewhere in the file: same AST hash, no model call.
    await client.change(uri, [{ range: { start: { line: 6, character: 0 }, end: { line: 6, character: 4 } }, text: '      ' }]);
    const again = await client.hover(uri, { line: 5, character: 3 });
    expect((again!.contents as { value: string }).value).toContain(HOVER);
    expect(stub.chatRequests(CHAT)).toHaveLength(1);
    const stats = await client.executeCommand('xencode.stats');
    expect(stats.hover).toMatchObject({ requests: 2, answered: 2, cacheHits: 1 });

    // A token change in the method is a new question.
    await client.change(uri, [{ range: { start: { line: 6, character: 18 }, end: { line: 6, character: 19 } }, text: '-' }]);
    await client.hover(uri, { line: 5, character: 3 });
    expect(stub.chatRequests(CHAT)).toHaveLength(2);
  });

  it('explains a symbol in its context, with its range', async () => {
    await start([chatModel({ rules: [{ messageIncludes: 'Explain `total`', answer: '`total` is the running sum.' }] })]);
    const hover = await client.hover(uri, { line: 7, character: 11 }); // `total` in this.total
    expect((hover!.contents as { value: string }).value).toContain('`total` is the running sum.');
    expect(hover!.range).toEqual({ start: { line: 7, character: 9 }, end: { line: 7, character: 14 } });
  });

  it('returns nothing (no error) past the deadline, and the late answer serves the next hover', async () => {
    await start([chatModel({ defaultAnswer: HOVER, latency: { firstTokenMs: 1500 } })], FULL_CAPABILITIES, { hover: { deadlineMs: 100 } });
    const hover = await client.hover(uri, IN_ADD);
    expect(hover).toBeNull();
    await client.waitFor(() => stub.chatRequests(CHAT)[0]?.completed === true, 10_000, 'the late answer');
    expect(stub.chatRequests(CHAT)[0]!.aborted).toBe(false);
    const next = await client.hover(uri, IN_ADD);
    expect((next!.contents as { value: string }).value).toContain(HOVER);
    expect(stub.chatRequests(CHAT)).toHaveLength(1);
    expect((await client.executeCommand('xencode.stats')).hover).toMatchObject({ late: 1, cacheHits: 1 });
  });

  it('a cancelled hover aborts its model call; blank lines and disabled hovers ask nothing', async () => {
    await start([chatModel({ defaultAnswer: HOVER, latency: { firstTokenMs: 30_000 } })]);
    let cancel!: () => void;
    const pending = client.hover(uri, IN_ADD, new Promise<void>((r) => (cancel = r)));
    await client.waitFor(() => stub.chatRequests(CHAT).length === 1, 5000, 'the model call');
    cancel();
    await expect(pending).rejects.toMatchObject({ code: -32800 });
    await client.waitFor(() => stub.chatRequests(CHAT)[0]!.aborted, 5000, 'the abort');

    expect(await client.hover(uri, { line: 1, character: 0 })).toBeNull();
    // Pushed settings apply before the next request is read.
    await client.connection.sendNotification('workspace/didChangeConfiguration', {
      settings: { xencode: { ollama: { host: stub.url }, models: [CHAT], hover: { enabled: false } } },
    });
    expect(await client.hover(uri, { line: 7, character: 11 })).toBeNull();
    expect(stub.chatRequests(CHAT)).toHaveLength(1);
  });
});
