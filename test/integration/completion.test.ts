import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OllamaStub } from '../support/ollama-stub.js';
import { LspClient, POPUP_ONLY_CAPABILITIES } from '../support/lsp-client.js';

const MODEL = 'qwen2.5-coder:1.5b-base';
const URI = 'file:///work/src/math.ts';
const SOURCE = [
  "import { clamp } from './util';",
  '',
  'export function add(a: number, b: number): number {',
  '  return ',
  '}',
  '',
].join('\n');
const CURSOR = { line: 3, character: 9 };

let stub: OllamaStub;
let client: LspClient;

beforeEach(async () => {
  stub = new OllamaStub({
    models: [{ name: MODEL, rules: [{ promptIncludes: 'function add', answer: 'a + b;' }], defaultAnswer: 'null;' }],
  });
  await stub.start();
  client = new LspClient();
});

afterEach(async () => {
  await client.shutdown();
  await stub.stop();
});

function settings(extra: Record<string, unknown> = {}) {
  return { xencode: { ollama: { host: stub.url }, models: [MODEL], ...extra } };
}

describe('completions through the LSP', () => {
  it('answers textDocument/completion with a popup item shaped for popup clients', async () => {
    await client.initialize(settings());
    await client.open(URI, SOURCE);
    const list = await client.completion(URI, CURSOR);
    expect(list.isIncomplete).toBe(true);
    expect(list.items).toHaveLength(1);
    const item = list.items[0]!;
    expect(item.label).toBe('a + b;');
    expect(item.labelDetails?.description).toContain(MODEL);
    expect(item.textEdit).toEqual({ range: { start: CURSOR, end: CURSOR }, newText: 'a + b;' });
    expect((item.documentation as { kind: string; value: string }).value).toContain('return a + b;');
    expect(item.command?.command).toBe('xencode.acceptCompletion');
    const id = (item.command!.arguments![0] as { id: string }).id;
    expect(id).toMatch(/[0-9a-f-]{36}/);

    // The model got fill-in-the-middle through Ollama's suffix, with the text on both sides of the cursor.
    const [request] = stub.generateRequests(MODEL).filter((r) => r.body?.prompt);
    expect(request!.body.prompt.endsWith('  return ')).toBe(true);
    expect(request!.body.suffix.startsWith('\n}')).toBe(true);
    expect(request!.body.raw).toBeUndefined();
    expect(request!.body.stream).toBe(true);
    expect(request!.body.options.num_predict).toBe(128);
  });

  it('answers textDocument/inlineCompletion with the same answer and command', async () => {
    const init = await client.initialize(settings());
    expect(init.capabilities.inlineCompletionProvider).toBeTruthy();
    await client.open(URI, SOURCE);
    const list = await client.inlineCompletion(URI, CURSOR);
    expect(list.items).toHaveLength(1);
    expect(list.items[0]!.insertText).toBe('a + b;');
    expect(list.items[0]!.range).toEqual({ start: CURSOR, end: CURSOR });
    expect(list.items[0]!.command?.command).toBe('xencode.acceptCompletion');
  });

  it('offers inline completion only to clients that declare it, and negotiates utf-8 positions', async () => {
    const init = await client.initialize(settings(), { ...POPUP_ONLY_CAPABILITIES, general: { positionEncodings: ['utf-8'] } });
    expect(init.capabilities.inlineCompletionProvider).toBeUndefined();
    expect(init.capabilities.positionEncoding).toBe('utf-8');
    expect(init.serverInfo?.name).toBe('xencode');
    // A line with a 2-byte character before the cursor: utf-8 column 15 is after "é".
    await client.open(URI, 'const label = "é" + \n');
    const list = await client.completion(URI, { line: 0, character: 21 });
    const [request] = stub.generateRequests(MODEL).filter((r) => r.body?.prompt);
    expect(request!.body.prompt).toBe('const label = "é" + ');
    expect(list.items[0]!.textEdit).toMatchObject({ range: { start: { line: 0, character: 21 } } });
  });

  it('keeps the word being typed and the rest of the line in the replacement', async () => {
    stub.model(MODEL)!.rules = [{ promptIncludes: 'Math.ma', answer: 'x(a, b' }];
    await client.initialize(settings());
    await client.open(URI, 'const m = Math.ma);\n');
    const list = await client.completion(URI, { line: 0, character: 17 });
    const item = list.items[0]!;
    // The word 'ma' starts at column 15; the closing ');' the suffix already has stays.
    expect(item.textEdit).toEqual({
      range: { start: { line: 0, character: 15 }, end: { line: 0, character: 19 } },
      newText: 'max(a, b);',
    });
    expect(item.filterText!.startsWith('ma')).toBe(true);
  });

  it('follows incremental edits: the prompt holds the edited text', async () => {
    await client.initialize(settings());
    await client.open(URI, SOURCE);
    await client.insert(URI, { line: 2, character: 0 }, '// adds two numbers\n');
    await client.completion(URI, { line: 4, character: 9 });
    const [request] = stub.generateRequests(MODEL).filter((r) => r.body?.prompt);
    expect(request!.body.prompt).toContain('// adds two numbers\nexport function add');
  });

  it('uses the raw FIM template for a model without the insert capability', async () => {
    stub.setModel({ name: 'codellama:7b-code', capabilities: ['completion'], rules: [{ promptIncludes: '<PRE>', answer: 'a + b;<EOT>' }] });
    await client.initialize({ xencode: { ollama: { host: stub.url }, models: ['codellama:7b-code'] } });
    await client.open(URI, SOURCE);
    const list = await client.completion(URI, CURSOR);
    expect(list.items[0]?.label).toBe('a + b;');
    const [request] = stub.generateRequests('codellama:7b-code').filter((r) => r.body?.prompt);
    expect(request!.body.raw).toBe(true);
    expect(request!.body.suffix).toBeUndefined();
    expect(request!.body.prompt).toMatch(/^<PRE> [\s\S]*  return  <SUF>\n}[\s\S]* <MID>$/);
    expect(request!.body.options.stop).toContain('<EOT>');
  });

  it('includes the imports and the enclosing function header when they are outside the window', async () => {
    const body = Array.from({ length: 200 }, (_, i) => `  const v${i} = a * ${i};`).join('\n');
    const text = `import { clamp } from './util';\n\nexport function scale(a: number): number {\n${body}\n  return \n}\n`;
    await client.initialize(settings({ completion: { contextChars: 1000 } }));
    await client.open(URI, text);
    await client.completion(URI, { line: 203, character: 9 });
    const [request] = stub.generateRequests(MODEL).filter((r) => r.body?.prompt);
    expect(request!.body.prompt.length).toBeLessThan(1400);
    expect(request!.body.prompt).toContain("import { clamp } from './util';");
    expect(request!.body.prompt).toContain('export function scale(a: number): number {');
    expect(request!.body.prompt).not.toContain('const v0 =');
  });

  it('records accepts through the command, the item command and the Copilot notifications', async () => {
    // Without the cache, so that each request reaches the model.
    await client.initialize(settings({ cache: { enabled: false } }));
    await client.open(URI, SOURCE);
    const first = (await client.completion(URI, CURSOR)).items[0]!;
    const id = (first.command!.arguments![0] as { id: string }).id;
    expect(await client.executeCommand('xencode.acceptCompletion', { id })).toEqual({ recorded: true });
    await client.insert(URI, { line: 3, character: 9 }, ' ');
    const second = (await client.completion(URI, { line: 3, character: 10 })).items[0]!;
    await client.connection.sendNotification('textDocument/didPartiallyAcceptCompletion', { item: second, acceptedLength: 2 });
    const third = (await client.completion(URI, { line: 3, character: 10 })).items[0]!;
    expect(await client.executeCommand('xencode.rejectCompletion', (third.command!.arguments![0] as { id: string }).id)).toEqual({ recorded: true });
    expect(await client.executeCommand('xencode.acceptCompletion', { id: 'no-such-id' })).toEqual({ recorded: false });
    const stats = await client.executeCommand('xencode.stats');
    expect(stats.feedback).toMatchObject({ accepted: 1, partiallyAccepted: 1, rejected: 1 });
    expect(stats.completions.answered).toBe(3);
    expect(stats.models[MODEL].answers).toBe(3);

    // Word by word to the end: the partial accept becomes an accept.
    await client.executeCommand('xencode.acceptCompletion', { id: (second.command!.arguments![0] as { id: string }).id, acceptedLength: 100 });
    expect((await client.executeCommand('xencode.stats')).feedback).toMatchObject({ accepted: 2, partiallyAccepted: 0 });
  });

  it('records an accept from the edit that inserts the item, for editors that never run its command (Helix, Eglot)', async () => {
    await client.initialize(settings(), POPUP_ONLY_CAPABILITIES);
    await client.open(URI, SOURCE);
    const item = (await client.completion(URI, CURSOR)).items[0]!;
    const edit = item.textEdit as { range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string };
    await client.change(URI, [{ range: edit.range, text: edit.newText }]);
    expect((await client.executeCommand('xencode.stats')).feedback).toMatchObject({ accepted: 1, acceptedChars: 'a + b;'.length });
    // The command arriving as well (editors that run it) does not count it twice.
    await client.executeCommand('xencode.acceptCompletion', item.command!.arguments![0]);
    expect((await client.executeCommand('xencode.stats')).feedback).toMatchObject({ accepted: 1 });
    // Typing something else is not an accept.
    await client.insert(URI, { line: 3, character: 15 }, '\n  ');
    const other = (await client.completion(URI, { line: 4, character: 2 })).items[0];
    await client.insert(URI, { line: 4, character: 2 }, 'x');
    expect(other).toBeDefined();
    expect((await client.executeCommand('xencode.stats')).feedback.accepted).toBe(1);
  });

  it('a ghost-text request does not abort the popup request of the same document; both share one model run', async () => {
    await client.initialize(settings());
    stub.model(MODEL)!.latency = { firstTokenMs: 300, perTokenMs: 1 };
    await client.open(URI, SOURCE);
    const popup = client.completion(URI, CURSOR);
    await stub.waitFor(() => stub.generateRequests(MODEL).some((r) => r.body?.prompt));
    const inline = client.inlineCompletion(URI, CURSOR);
    const [list, ghost] = await Promise.all([popup, inline]);
    expect(list.items[0]?.label).toBe('a + b;');
    expect(ghost.items[0]?.insertText).toBe('a + b;');
    const prompted = stub.generateRequests(MODEL).filter((r) => r.body?.prompt);
    expect(prompted).toHaveLength(1);
    expect(prompted[0]!.aborted).toBe(false);
  });

  it('gives no item when the cursor is inside a word, without calling the model', async () => {
    await client.initialize(settings());
    await client.open(URI, 'const total = compute();\n');
    const list = await client.completion(URI, { line: 0, character: 8 });
    expect(list.items).toEqual([]);
    expect(stub.generateRequests(MODEL).filter((r) => r.body?.prompt)).toHaveLength(0);
  });

  it('gives no item when post-processing leaves nothing', async () => {
    stub.model(MODEL)!.rules = [{ promptIncludes: 'function add', answer: '   \n  \n' }];
    await client.initialize(settings());
    await client.open(URI, SOURCE);
    expect((await client.completion(URI, CURSOR)).items).toEqual([]);
    const stats = await client.executeCommand('xencode.stats');
    expect(stats.models[MODEL].filtered).toBe(1);
  });

  it('serves plain-text completions for languages without a grammar', async () => {
    stub.model(MODEL)!.rules = [{ promptIncludes: 'def add', answer: 'a + b' }];
    await client.initialize(settings());
    await client.open('file:///work/add.py', 'def add(a, b):\n    return \n', 'python');
    const list = await client.completion('file:///work/add.py', { line: 1, character: 11 });
    expect(list.items[0]?.label).toBe('a + b');
  });
});

describe('line endings', () => {
  it('returns multi-line answers with CRLF in a CRLF document', async () => {
    stub.model(MODEL)!.rules = [{ promptIncludes: 'function add', answer: 'a + b;\r\n}\r\n' }];
    await client.initialize(settings());
    await client.open(URI, 'export function add(a: number, b: number): number {\r\n  return \r\n\r\n');
    const list = await client.completion(URI, { line: 1, character: 9 });
    const newText = (list.items[0]!.textEdit as { newText: string }).newText;
    expect(newText).toBe('a + b;\r\n}');
  });
});
