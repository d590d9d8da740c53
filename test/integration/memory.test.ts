import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { LspClient } from '../support/lsp-client.js';
import { OllamaStub } from '../support/ollama-stub.js';

const MODEL = 'qwen2.5-coder:1.5b-base';
const LINES = readFileSync(join(PACKAGE_ROOT, 'node_modules', 'zod', 'src', 'v3', 'types.ts'), 'utf8').split('\n');

let stub: OllamaStub;
let client: LspClient;

beforeEach(async () => {
  stub = new OllamaStub({ models: [{ name: MODEL, defaultAnswer: 'x;' }] });
  await stub.start();
  client = new LspClient({ env: { XENCODE_LOG: 'info' } });
  await client.initialize({ xencode: { ollama: { host: stub.url }, models: [MODEL] } });
});

afterEach(async () => {
  await client.shutdown();
  await stub.stop();
});

describe('memory', () => {
  it('xencode.stats reports the process memory, the open documents and the trees held', async () => {
    await client.open('file:///w/a.ts', 'const a = 1;\n');
    await client.open('file:///w/b.ts', 'const b = 2;\n');
    await client.open('file:///w/c.txt', 'plain text\n', 'plaintext');
    const { memory } = await client.executeCommand('xencode.stats');
    expect(memory).toMatchObject({ documents: 3, trees: 2 });
    expect(memory.rssMb).toBeGreaterThan(memory.heapUsedMb);
    expect(memory.heapTotalMb).toBeGreaterThanOrEqual(memory.youngGenerationMb);
  });

  it("keeps V8's young generation at its initial size while documents are opened and edited (heap-tuning.ts)", async () => {
    // Opening 2,000-line files allocates tens of MB that survive scavenges: enough to grow an unbounded young
    // generation from 2 to 16 MB or more.
    for (let i = 0; i < 12; i++) {
      const start = (i * 61) % (LINES.length - 2000);
      await client.open(`file:///w/file${i}.ts`, [`// file ${i}`, ...LINES.slice(start, start + 1999)].join('\n'));
      await client.insert(`file:///w/file${i}.ts`, { line: 10, character: 0 }, 'let x = 1;\n');
    }
    const { memory } = await client.executeCommand('xencode.stats');
    expect(memory.trees).toBe(12);
    expect(memory.youngGenerationMb).toBeLessThanOrEqual(2);
  });
});
