import { describe, expect, it } from 'vitest';
import { uncachedServerPerTest } from '../support/uncached-server.js';
import { LspClient } from '../support/lsp-client.js';

// Regression tests for issue 10: inputs that hung the server or left it deaf. Each request below would time out
// (or the exit never come) without its fix.

const MODEL = 'qwen2.5-coder:1.5b-base';
/** tree-sitter-typescript 0.23 never finishes parsing these 19 characters (JavaScript parses them). */
const GRAMMAR_HANG = "[*/\n'x/*\nr};;a\u200bx(*/";

const server = uncachedServerPerTest(MODEL, 'const answer = 42;');

describe('documents that hung the server', () => {
  it('answers on a document that is one line break (post-processing scanned backwards for ever)', async () => {
    const uri = 'file:///work/new.ts';
    await server.client.open(uri, '\n');
    const list = await server.client.completion(uri, { line: 1, character: 0 });
    expect(list.items[0]?.insertText ?? list.items[0]?.label).toContain('answer');
    for (const text of ['\n\n', '\r\n', '\n  \n']) {
      await server.client.change(uri, [{ text }]);
      await server.client.completion(uri, { line: 1, character: 0 });
    }
    expect(server.stub.generateRequests(MODEL).length).toBeGreaterThanOrEqual(4);
  });

  it.each([
    ['typescript', 'file:///work/hang.ts'],
    ['typescriptreact', 'file:///work/hang.tsx'],
  ])('serves a %s document its grammar cannot finish as plain text, and parses it again once edited', async (languageId, uri) => {
    await server.client.open(uri, GRAMMAR_HANG, languageId);
    // Served: the completion comes back (from plain-text context) instead of the main thread spinning.
    const list = await server.client.completion(uri, { line: 2, character: 3 });
    expect(list.items.length).toBeLessThanOrEqual(1);
    await server.client.waitFor(() => /parsing file:\/\/\/work\/hang\.tsx? .*ran past \d+ ms: served as plain text/.test(server.client.stderr), 5000, 'the log line');
    expect(server.client.stderr.match(/served as plain text/g)).toHaveLength(1);
    // An edit inside the back-off keeps it plain text: no second pause, no second warning.
    await server.client.change(uri, [{ text: `${GRAMMAR_HANG} ` }]);
    await server.client.completion(uri, { line: 0, character: 0 });
    expect(server.client.stderr.match(/\[xencode warn\] parsing .*served as plain text/g)).toHaveLength(1);
    // Another document of the same language still parses (the parser was reset after the timeout).
    await server.client.open('file:///work/fine.ts', 'function add(a: number, b: number) {\n  return \n}\n');
    const other = await server.client.completion('file:///work/fine.ts', { line: 1, character: 9 });
    expect(other.items).toHaveLength(1);
    expect(server.client.process.exitCode).toBeNull();
  });
});

describe('framing that left the server deaf', () => {
  const frames: [string, string, RegExp][] = [
    ['a short Content-Length', 'Content-Length: 10\r\n\r\n{"jsonrpc":"2.0","id":9,"method":"shutdown"}', /cut short: its Content-Length was smaller/],
    ['a long Content-Length', 'Content-Length: 70\r\n\r\n{"jsonrpc":"2.0","method":"x"}Content-Length: 30\r\n\r\n{"jsonrpc":"2.0","method":"y"}', /longer than its message/],
    ['a negative Content-Length', 'Content-Length: -5\r\n\r\n{}', /not a byte count: "-5"/],
    ['a non-numeric Content-Length', 'Content-Length: twelve\r\n\r\n{}', /not a byte count: "twelve"/],
    ['a missing Content-Length', 'Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}', /without Content-Length/],
    ['a header line without a colon', 'Content-Length 2\r\n\r\n{}', /not "Name: value"/],
    ['garbage before a frame', 'hello\r\nContent-Length: 2\r\n\r\n{}', /not "Name: value": "hello"/],
    ['garbage with no line end', '}}}}', /no LSP header/],
  ];

  it.each(frames)('after %s it says what it received on stderr and exits non-zero', async (_what, bytes, problem) => {
    server.client.process.stdin.write(bytes);
    const code = await Promise.race([server.client.exitCode, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 5000))]);
    expect(code).toBe(1);
    expect(server.client.stderr).toMatch(/xencode: the editor sent malformed LSP framing/);
    expect(server.client.stderr).toMatch(problem);
    expect(server.client.stderr).toContain('received "');
  });

  it('counts Content-Length in bytes: a client counting characters on non-ASCII text is caught, not glued', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', method: 'textDocument/didOpen', params: { textDocument: { uri: 'file:///u.ts', languageId: 'typescript', version: 1, text: 'const s = "héllo wörld ✓";' } } });
    server.client.process.stdin.write(`Content-Length: ${body.length}\r\n\r\n${body}`);
    server.client.process.stdin.write('Content-Length: 52\r\n\r\n{"jsonrpc":"2.0","id":77,"method":"xencode/unknown"}');
    expect(await server.client.exitCode).toBe(1);
    expect(server.client.stderr).toMatch(/cut short/);
  });

  it('keeps serving across line breaks between frames and bodies that are framed right but are not JSON objects', async () => {
    const uri = 'file:///work/app.ts';
    await server.client.open(uri, 'function greet(name: string) {\n  return \n}\n');
    server.client.process.stdin.write('\r\n\r\nContent-Length: 4\r\n\r\nnull');
    server.client.process.stdin.write('content-length: 3\r\ncontent-type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"x"');
    server.client.process.stdin.write('Content-Length: 3\r\n\r\n{x}');
    const list = await server.client.completion(uri, { line: 1, character: 9 });
    expect(list.items).toHaveLength(1);
    expect(server.client.stderr).toMatch(/not a JSON object, dropped/);
    expect(server.client.stderr).toMatch(/not JSON .*dropped/);
    expect(server.client.process.exitCode).toBeNull();
  });
});

describe('parameters of the wrong type', () => {
  const URI = 'file:///work/app.ts';
  const requests: [string, unknown, RegExp][] = [
    ['textDocument/completion', { textDocument: { uri: 5 }, position: { line: 0, character: 0 } }, /params\.textDocument\.uri: expected string/],
    ['textDocument/completion', { textDocument: { uri: URI }, position: { line: 'x', character: 0 } }, /params\.position\.line: expected number/],
    ['textDocument/inlineCompletion', { textDocument: { uri: URI }, position: 7, context: { triggerKind: 1 } }, /params\.position: expected object/],
    ['textDocument/hover', { textDocument: null, position: { line: 0, character: 0 } }, /params\.textDocument: expected object/],
    ['textDocument/hover', { textDocument: { uri: URI }, position: { line: 0.5, character: 0 } }, /params\.position\.line: expected integer/],
    ['textDocument/codeAction', { textDocument: { uri: URI }, range: 3, context: {} }, /params\.range: expected object/],
    ['textDocument/codeAction', { textDocument: { uri: URI }, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, context: { diagnostics: 'x' } }, /params\.context\.diagnostics/],
    ['workspace/executeCommand', { command: 5 }, /params\.command: expected string/],
    ['workspace/executeCommand', { command: 'xencode.stats', arguments: 'x' }, /params\.arguments: expected array/],
  ];

  it.each(requests)('%s answers InvalidParams naming the field (%j)', async (method, params, field) => {
    await server.client.open(URI, 'let a = 1;\n');
    await expect(server.client.connection.sendRequest(method, params)).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(field) });
    expect(server.stub.generateRequests(MODEL)).toHaveLength(0);
  });

  it('ignores notifications of the wrong shape with a log line, keeping the document as it was', async () => {
    await server.client.open(URI, 'function greet(name: string) {\n  return \n}\n');
    await server.client.connection.sendNotification('textDocument/didChange', { textDocument: { uri: URI, version: 2 }, contentChanges: [{ range: 5, text: 3 }] });
    await server.client.connection.sendNotification('textDocument/didChange', { textDocument: { uri: URI, version: 'x' }, contentChanges: 'abc' });
    await server.client.connection.sendNotification('textDocument/didOpen', { textDocument: { uri: 3 } });
    await server.client.connection.sendNotification('textDocument/didClose', null);
    const list = await server.client.completion(URI, { line: 1, character: 9 });
    expect(list.items).toHaveLength(1);
    expect(server.stub.generateRequests(MODEL).at(-1)!.body.prompt).toContain('function greet(name: string) {\n  return ');
    expect(server.client.stderr).toMatch(/textDocument\/didChange ignored: params\.contentChanges\.0\.range/);
    expect(server.client.stderr).toMatch(/textDocument\/didOpen ignored: params\.textDocument/);
  });
});

describe('edits with ranges past the end follow vscode-languageserver-textdocument', () => {
  it('a range ending on a line past the last replaces to the end of the document', async () => {
    const uri = 'file:///work/edit.ts';
    await server.client.open(uri, 'abc\ndef');
    await server.client.change(uri, [{ range: { start: { line: 0, character: 0 }, end: { line: 2, character: 0 } }, text: 'new' }]);
    await server.client.completion(uri, { line: 0, character: 3 });
    const body = server.stub.generateRequests(MODEL).at(-1)!.body;
    expect(`${body.prompt}${body.suffix ?? ''}`).toBe('new');
  });
});

describe('messages', () => {
  it('name Xencode once, also when the message itself begins with it', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const blocker = join(server.client.dataDir, 'a-file');
    writeFileSync(blocker, '');
    const other = new LspClient({ env: { XENCODE_DATA_DIR: join(blocker, 'data') } });
    try {
      await other.initialize({ xencode: { ollama: { host: server.stub.url }, models: [MODEL] } });
      await other.waitFor(() => other.messages().length > 0, 5000, 'the data directory warning');
      const [message] = other.messages();
      expect(message).toMatch(/^Xencode cannot create its data directory/);
      expect(other.messages().some((m) => /Xencode: Xencode/i.test(m))).toBe(false);
    } finally {
      await other.shutdown();
    }
  });
});
