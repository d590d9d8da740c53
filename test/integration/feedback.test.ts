import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OllamaStub } from '../support/ollama-stub.js';
import { CLI, LspClient } from '../support/lsp-client.js';

// The feedback store through the built server and the `xencode feedback` CLI, on one data directory, with a server
// running beside the CLI (LMDB is multi-process). Records are committed within the 250 ms flush window.

const MODEL = 'qwen2.5-coder:1.5b-base';
const SOURCE = 'export function add(a: number, b: number): number {\n  return \n}\n';
const CURSOR = { line: 1, character: 9 };
/** Made up, but shaped like the real thing: a redactor that misses it fails the test. */
const AWS_KEY = 'AKIAQ3EGRT7YXMPL4ZNW';

let stub: OllamaStub;
let client: LspClient;
let workspace: string;

beforeEach(async () => {
  stub = new OllamaStub({ models: [{ name: MODEL, rules: [{ promptIncludes: 'function add', answer: 'a + b;' }], defaultAnswer: 'null;' }] });
  await stub.start();
  workspace = mkdtempSync(join(tmpdir(), 'xencode-ws-'));
  client = new LspClient();
});

afterEach(async () => {
  await client.shutdown();
  await stub.stop();
});

async function start(feedback: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  await client.connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: pathToFileURL(workspace).href,
    workspaceFolders: [{ uri: pathToFileURL(workspace).href, name: 'ws' }],
    capabilities: {},
    initializationOptions: { xencode: { ollama: { host: stub.url }, models: [MODEL], cache: { enabled: false }, feedback, ...extra } },
  });
  await client.connection.sendNotification('initialized', {});
  // The disk store opens after `initialized`; a request after it has been handled.
  await client.waitFor(() => /answer cache on disk/.test(client.stderr), 5000, 'the store to open');
}

function fileUri(name: string): string {
  return pathToFileURL(join(workspace, name)).href;
}

/** `xencode feedback …` on the server's data directory. */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, 'feedback', ...args], { env: { ...process.env, XENCODE_DATA_DIR: client.dataDir }, encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function statsJson() {
  const { status, stdout, stderr } = cli('stats', '--json');
  expect(status, stderr).toBe(0);
  return JSON.parse(stdout) as Record<string, any>;
}

function exportLines(format: string, ...args: string[]): any[] {
  const { status, stdout, stderr } = cli('export', '--format', format, ...args);
  expect(status, stderr).toBe(0);
  return stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

async function showAndAccept(uri: string, text = SOURCE): Promise<string> {
  await client.open(uri, text);
  const list = await client.completion(uri, CURSOR);
  const id = (list.items[0]!.command!.arguments![0] as { id: string }).id;
  await client.executeCommand('xencode.acceptCompletion', { id });
  return id;
}

describe('feedback through the server and the CLI', () => {
  it('records shown, accepted and rejected completions that `feedback stats` reads while the server runs', async () => {
    await start();
    await showAndAccept(fileUri('a.ts'));
    await client.open(fileUri('b.ts'), SOURCE);
    const second = await client.completion(fileUri('b.ts'), CURSOR);
    await client.executeCommand('xencode.rejectCompletion', (second.items[0]!.command!.arguments![0] as { id: string }).id);
    await client.open(fileUri('c.ts'), SOURCE);
    const third = await client.completion(fileUri('c.ts'), CURSOR);
    await client.connection.sendNotification('textDocument/didPartiallyAcceptCompletion', { item: third.items[0], acceptedLength: 2 });
    await client.waitFor(() => statsJson().shown === 3 && statsJson().rejected === 1, 5000, 'three records');
    const stats = statsJson();
    expect(stats).toMatchObject({ shown: 3, accepted: 1, partlyAccepted: 1, rejected: 1 });
    expect(stats.byLanguage.typescript.shown).toBe(3);
    const table = cli('stats');
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/3 completions shown/);
    expect(table.stdout).toMatch(/By language\n[\s\S]*typescript/);
  });

  it('exports SFT, KTO, DPO and full records with TRL columns, the prompt equal to what the model received', async () => {
    await start();
    const id = await showAndAccept(fileUri('a.ts'));
    await client.waitFor(() => exportLines('jsonl').length === 1, 5000, 'the record');
    const [record] = exportLines('jsonl');
    expect(record.id).toBe(id);
    expect(record.file).toBe('a.ts');
    expect(record.label).toBe('accepted');
    expect(record.models[0].candidate).toBe('a + b;');
    // The exact prompt: the family's FIM template filled with what the stand-in received.
    const sent = stub.generateRequests(MODEL).filter((r) => r.body?.prompt).at(-1)!.body;
    expect(record.models[0].prompt).toBe(`<|fim_prefix|>${sent.prompt}<|fim_suffix|>${sent.suffix}<|fim_middle|>`);
    const [sft] = exportLines('sft');
    expect(Object.keys(sft).sort()).toEqual(['completion', 'prompt']);
    expect(sft).toEqual({ prompt: record.models[0].prompt, completion: 'a + b;' });
    const [kto] = exportLines('kto');
    expect(Object.keys(kto).sort()).toEqual(['completion', 'label', 'prompt']);
    expect(kto.label).toBe(true);
    const out = join(client.dataDir, 'rows.jsonl');
    expect(cli('export', '--format', 'sft', '--out', out, '--language', 'python').status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('');
    expect(cli('export', '--format', 'xml').status).toBe(1);
    expect(cli('export', '--format', 'sft', '--since', 'yesterday-ish').status).toBe(1);
  });

  it('redacts secrets before they reach the disk, and never records ignored files', async () => {
    writeFileSync(join(workspace, '.gitignore'), 'secret/\n');
    writeFileSync(join(workspace, '.xencodeignore'), '*.private.ts\n');
    mkdirSync(join(workspace, 'secret'));
    await start();
    const withKey = `const awsKey = "${AWS_KEY}";\n${SOURCE}`;
    await client.open(fileUri('keys.ts'), withKey);
    await client.completion(fileUri('keys.ts'), { line: 2, character: 9 });
    await showAndAccept(fileUri('secret/hidden.ts'));
    await showAndAccept(fileUri('notes.private.ts'));
    await client.waitFor(() => exportLines('jsonl').length === 1, 5000, 'the record');
    await new Promise((r) => setTimeout(r, 400)); // one more flush window: nothing else arrives
    const records = exportLines('jsonl');
    expect(records.map((r) => r.file)).toEqual(['keys.ts']);
    expect(JSON.stringify(records)).not.toContain(AWS_KEY);
    expect(records[0].prompt.prefix).toContain('<redacted');
    // Nor anywhere in the store's file.
    expect(readFileSync(join(client.dataDir, 'xencode.lmdb')).includes(Buffer.from(AWS_KEY))).toBe(false);
  });

  it('at noCode keeps outcomes and timings and no code at all', async () => {
    await start({ level: 'noCode' });
    await showAndAccept(fileUri('a.ts'), `${SOURCE}// marker-zebra-42\n`);
    await client.waitFor(() => exportLines('jsonl').length === 1, 5000, 'the record');
    const [record] = exportLines('jsonl');
    expect(record.label).toBe('accepted');
    expect(record.chosen).toBeUndefined();
    expect(record.prompt).toBeUndefined();
    expect(record.models[0].candidate).toBeUndefined();
    expect(record.models[0].prompt).toBeUndefined();
    expect(record.latencyMs).toBeGreaterThanOrEqual(0);
    expect(exportLines('sft')).toEqual([]);
    expect(readFileSync(join(client.dataDir, 'xencode.lmdb')).includes(Buffer.from('marker-zebra-42'))).toBe(false);
  });

  it('records nothing with feedback.enabled false, and keeps the data directory private', async () => {
    await start({ enabled: false });
    await showAndAccept(fileUri('a.ts'));
    await new Promise((r) => setTimeout(r, 400));
    expect(statsJson().shown).toBe(0);
    // The session counters still count the accept.
    expect((await client.executeCommand('xencode.stats')).feedback.accepted).toBe(1);
    expect(statSync(client.dataDir).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(client.dataDir).filter((n) => n.startsWith('xencode.lmdb'))) {
      expect(statSync(join(client.dataDir, name)).mode & 0o777, name).toBe(0o600);
    }
  });

  it('`feedback clear` empties the store while the server runs', async () => {
    await start();
    await showAndAccept(fileUri('a.ts'));
    await client.waitFor(() => statsJson().shown === 1, 5000, 'the record');
    const cleared = cli('clear');
    expect(cleared.status).toBe(0);
    expect(cleared.stderr).toContain('cleared 1 feedback record');
    expect(statsJson().shown).toBe(0);
  });
});

describe('durability', () => {
  it('a kill -9 during a stream of events loses at most the last flush window', async () => {
    await start();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const uri = fileUri(`f${i}.ts`);
      await client.open(uri, SOURCE);
      const list = await client.completion(uri, CURSOR);
      const id = (list.items[0]!.command!.arguments![0] as { id: string }).id;
      ids.push(id);
      await client.executeCommand('xencode.acceptCompletion', { id });
    }
    // Committed: wait past one flush window, then more events, then the kill.
    await new Promise((r) => setTimeout(r, 600));
    for (let i = 20; i < 25; i++) {
      const uri = fileUri(`f${i}.ts`);
      await client.open(uri, SOURCE);
      await client.completion(uri, CURSOR);
    }
    client.process.kill('SIGKILL');
    await client.exitCode;
    const records = exportLines('jsonl');
    const found = new Set(records.map((r) => r.id));
    for (const id of ids) expect(found.has(id), id).toBe(true);
    expect(records.filter((r) => ids.includes(r.id)).every((r) => r.label === 'accepted')).toBe(true);
    // A new server opens the same store and goes on recording.
    const next = new LspClient({ env: { XENCODE_DATA_DIR: client.dataDir } });
    try {
      await next.initialize({ xencode: { ollama: { host: stub.url }, models: [MODEL], cache: { enabled: false } } });
      await next.waitFor(() => /answer cache on disk/.test(next.stderr), 5000, 'the store');
      await next.open('file:///elsewhere/z.ts', SOURCE);
      await next.completion('file:///elsewhere/z.ts', CURSOR);
      await next.waitFor(() => exportLines('jsonl').length > records.length, 5000, 'a new record');
      expect(exportLines('jsonl').at(-1).file).toBe('z.ts');
    } finally {
      await next.shutdown();
    }
  });
});
