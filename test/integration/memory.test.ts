import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LspClient } from '../support/lsp-client.js';
import { OllamaStub } from '../support/ollama-stub.js';

const MODEL = 'qwen2.5-coder:1.5b-base';

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
});
