import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OllamaStub } from '../support/ollama-stub.js';
import { LspClient } from '../support/lsp-client.js';

const MODEL = 'qwen2.5-coder:1.5b-base';
const URI = 'file:///work/src/math.ts';
const SOURCE = 'const unit = 1;\n\nexport function add(a: number, b: number): number {\n  return \n}\n';
const CURSOR = { line: 3, character: 9 };

let stub: OllamaStub;
let clients: LspClient[] = [];
let dataDir: string;

beforeEach(async () => {
  stub = new OllamaStub({ models: [{ name: MODEL, defaultAnswer: 'a + b;' }] });
  await stub.start();
  dataDir = mkdtempSync(join(tmpdir(), 'xencode-cache-'));
});

afterEach(async () => {
  for (const c of clients) await c.shutdown();
  clients = [];
  await stub.stop();
});

const modelCalls = () => stub.generateRequests(MODEL).filter((r) => r.body?.prompt).length;

async function server(dir = dataDir, extra: Record<string, unknown> = {}): Promise<LspClient> {
  const client = new LspClient({ env: { XENCODE_DATA_DIR: dir } });
  clients.push(client);
  await client.initialize({ xencode: { ollama: { host: stub.url }, models: [MODEL], ...extra } });
  return client;
}

/** Waits until the disk tier is open (it opens in the background after `initialized`). */
async function diskReady(client: LspClient): Promise<void> {
  await client.waitFor(() => client.stderr.includes('answer cache on disk'), 10_000, 'the disk cache');
}

describe('the answer cache', () => {
  it('answers an identical request from memory, with no model call and the same answer', async () => {
    const client = await server();
    await client.open(URI, SOURCE);
    const first = await client.completion(URI, CURSOR);
    const second = await client.completion(URI, CURSOR);
    expect(modelCalls()).toBe(1);
    expect(second.items[0]!.textEdit).toEqual(first.items[0]!.textEdit);
    expect(second.items[0]!.labelDetails?.description).toBe(first.items[0]!.labelDetails?.description);
    const stats = await client.executeCommand('xencode.stats');
    expect(stats.cache).toMatchObject({ memoryHits: 1, misses: 1 });
  });

  it('still hits after whitespace-only edits elsewhere, and misses after a rename in the window', async () => {
    const client = await server();
    await client.open(URI, SOURCE);
    await client.completion(URI, CURSOR);
    // A blank line and re-indentation above the cursor: formatting only.
    await client.insert(URI, { line: 1, character: 0 }, '\n');
    await client.insert(URI, { line: 0, character: 0 }, '  ');
    await client.completion(URI, { line: 4, character: 9 });
    expect(modelCalls()).toBe(1);
    // Renaming an identifier in the window changes the key.
    await client.change(URI, [{ range: { start: { line: 0, character: 8 }, end: { line: 0, character: 12 } }, text: 'step' }]);
    await client.completion(URI, { line: 4, character: 9 });
    expect(modelCalls()).toBe(2);
  });

  it('typing through a shown suggestion makes no model call, into the next line', async () => {
    stub.model(MODEL)!.defaultAnswer = 'a + b;\n  // done';
    const client = await server();
    await client.open(URI, SOURCE);
    const shown = await client.completion(URI, CURSOR);
    expect((shown.items[0]!.textEdit as { newText: string }).newText).toBe('a + b;\n  // done');
    let column = 9;
    for (const ch of 'a + b') {
      await client.insert(URI, { line: 3, character: column }, ch);
      column++;
      const list = await client.completion(URI, { line: 3, character: column });
      expect((list.items[0]!.textEdit as { newText: string }).newText.endsWith(';\n  // done')).toBe(true);
    }
    await client.insert(URI, { line: 3, character: column }, ';\n');
    const nextLine = await client.completion(URI, { line: 4, character: 0 });
    expect((nextLine.items[0]!.textEdit as { newText: string }).newText).toBe('  // done');
    expect(modelCalls()).toBe(1);
    const stats = await client.executeCommand('xencode.stats');
    expect(stats.cache.typedAheadHits).toBe(6);
  });

  it('survives a restart: the second server answers from disk', async () => {
    const first = await server();
    await diskReady(first);
    await first.open(URI, SOURCE);
    await first.completion(URI, CURSOR);
    expect(await first.shutdown()).toBe(0);

    const second = await server();
    await diskReady(second);
    await second.open(URI, SOURCE);
    const list = await second.completion(URI, CURSOR);
    expect(list.items[0]?.label).toBe('a + b;');
    expect(modelCalls()).toBe(1);
    expect((await second.executeCommand('xencode.stats')).cache.diskHits).toBe(1);
  });

  it('never serves an answer whose bytes changed on disk: it asks the model again and counts the drop', async () => {
    stub.model(MODEL)!.defaultAnswer = 'a + b; // sum';
    const first = await server();
    await diskReady(first);
    await first.open(URI, SOURCE);
    await first.completion(URI, CURSOR);
    expect(await first.shutdown()).toBe(0);
    // One character of the stored answer, as a flipped bit in a data page would leave it (still valid msgpack).
    const file = join(dataDir, 'xencode.lmdb');
    const bytes = readFileSync(file);
    const at = bytes.indexOf('a + b; // sum');
    expect(at).toBeGreaterThan(0);
    bytes.write('-', at + 2);
    writeFileSync(file, bytes);

    const second = await server();
    await diskReady(second);
    await second.open(URI, SOURCE);
    const list = await second.completion(URI, CURSOR);
    expect(list.items[0]?.label).toBe('a + b; // sum'); // the model's answer, not 'a - b; // sum'
    expect(modelCalls()).toBe(2);
    expect((await second.executeCommand('xencode.stats')).cache).toMatchObject({ corruptDrops: 1, diskHits: 0 });
  });

  it('works with two servers on the same data directory at once', async () => {
    const a = await server();
    const b = await server();
    await Promise.all([diskReady(a), diskReady(b)]);
    await a.open(URI, SOURCE);
    await a.completion(URI, CURSOR);
    // Writes are committed in the background; b polls the disk until it sees a's answer.
    await b.open(URI, SOURCE);
    const until = Date.now() + 5000;
    let hit = false;
    while (!hit && Date.now() < until) {
      await b.completion(URI, CURSOR);
      hit = (await b.executeCommand('xencode.stats')).cache.diskHits > 0;
      if (!hit) await new Promise((r) => setTimeout(r, 50));
    }
    expect(hit).toBe(true);
  });

  it('shares one ensemble run between identical concurrent requests', async () => {
    stub.model(MODEL)!.latency = { firstTokenMs: 300, perTokenMs: 1 };
    const client = await server();
    await client.open('file:///work/a/math.ts', SOURCE);
    await client.open('file:///work/b/math.ts', SOURCE);
    const [a, b] = await Promise.all([
      client.completion('file:///work/a/math.ts', CURSOR),
      client.completion('file:///work/b/math.ts', CURSOR),
    ]);
    expect(a.items[0]?.label).toBe('a + b;');
    expect(b.items[0]?.label).toBe('a + b;');
    expect(modelCalls()).toBe(1);
    expect((await client.executeCommand('xencode.stats')).cache.sharedRuns).toBe(1);
  });

  it('xencode.clearCache empties it, and cache.enabled=false turns it off', async () => {
    const client = await server();
    await client.open(URI, SOURCE);
    await client.completion(URI, CURSOR);
    expect(await client.executeCommand('xencode.clearCache')).toEqual({ cleared: true });
    await client.completion(URI, CURSOR);
    expect(modelCalls()).toBe(2);

    const off = await server(mkdtempSync(join(tmpdir(), 'xencode-cache-')), { cache: { enabled: false } });
    await off.open(URI, SOURCE);
    await off.completion(URI, CURSOR);
    await off.completion(URI, CURSOR);
    expect(modelCalls()).toBe(4);
  });
});

describe('a data directory that cannot hold the disk cache', () => {
  async function expectMemoryOnly(dir: string, expected: RegExp) {
    const client = await server(dir);
    await client.waitFor(() => client.messages(2).length > 0, 10_000, 'the warning about the data directory');
    const warnings = client.messages(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(expected);
    expect(warnings[0]).toContain('memory');
    await client.open(URI, SOURCE);
    await client.completion(URI, CURSOR);
    await client.completion(URI, CURSOR);
    // The memory tier serves, and nothing crashed.
    expect(modelCalls()).toBe(1);
    expect(client.process.exitCode).toBeNull();
    expect(client.messages(2)).toHaveLength(1);
  }

  it('one that cannot be created (its parent is a file)', async () => {
    const file = join(dataDir, 'not-a-dir');
    writeFileSync(file, 'x');
    await expectMemoryOnly(join(file, 'xencode'), /not-a-dir/);
  });

  it('a missing one is created', async () => {
    const client = await server(join(dataDir, 'new', 'nested'));
    await diskReady(client);
    expect(client.messages(2)).toEqual([]);
  });
});

describe('a damaged LMDB file', () => {
  /** One warning naming where the damaged file was kept; the disk cache works, and a second server answers from it. */
  async function expectReplaced(dir: string, original: Buffer) {
    const first = await server(dir);
    await diskReady(first);
    await first.waitFor(() => first.messages(2).length > 0, 10_000, 'the warning about the damaged file');
    const warnings = first.messages(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/xencode\.lmdb was damaged \(.*\)\. Xencode moved it to .*xencode\.lmdb\.damaged-\S+ and started a new, empty store in its place: the answers cached so far will be asked of the models again, and the feedback recorded so far stays in the moved file/);
    const kept = / moved it to (\S+) and started/.exec(warnings[0]!)![1]!;
    expect(readFileSync(kept).equals(original)).toBe(true);
    await first.open(URI, SOURCE);
    await first.completion(URI, CURSOR);
    expect(await first.shutdown()).toBe(0);

    const second = await server(dir);
    await diskReady(second);
    await second.open(URI, SOURCE);
    expect((await second.completion(URI, CURSOR)).items[0]?.label).toBe('a + b;');
    expect(modelCalls()).toBe(1);
    expect((await second.executeCommand('xencode.stats')).cache.diskHits).toBe(1);
    expect(second.messages(2)).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.startsWith('xencode.lmdb.damaged-'))).toHaveLength(1);
  }

  it('garbage instead of a header: moved aside and replaced', async () => {
    const dir = join(dataDir, 'corrupt');
    mkdirSync(dir);
    const garbage = Buffer.alloc(64 * 1024, 0xab);
    writeFileSync(join(dir, 'xencode.lmdb'), garbage);
    await expectReplaced(dir, garbage);
  });

  it('garbage pages under a valid header (lmdb-js crashes on them): moved aside and replaced', async () => {
    const dir = join(dataDir, 'pages');
    const writer = await server(dir);
    await diskReady(writer);
    await writer.open(URI, 'const other = 2;\n');
    await writer.completion(URI, { line: 1, character: 0 });
    expect(await writer.shutdown()).toBe(0);
    const file = join(dir, 'xencode.lmdb');
    const bytes = readFileSync(file);
    bytes.fill(0x41, 2 * bytes.readUInt32LE(0x30)); // every page after the two meta pages
    writeFileSync(file, bytes);
    stub.requests.length = 0;
    await expectReplaced(dir, bytes);
  });

});
