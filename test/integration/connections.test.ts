import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LspClient } from '../support/lsp-client.js';
import { OllamaStub } from '../support/ollama-stub.js';

const MODEL = 'qwen2.5-coder:1.5b-base';
const URI = 'file:///work/src/app.ts';
const SOURCE = 'function greet(name: string) {\n  return \n}\n';
const CURSOR = { line: 1, character: 9 };
const COMPLETIONS = 10;
/** Between two completions, as between keystrokes: longer than the stand-in takes to end a body. */
const PAUSE_MS = 15;

let stub: OllamaStub;
let client: LspClient;

beforeEach(async () => {
  // The end of each streamed body comes after its done line, in a write of its own, as Ollama sends it.
  stub = new OllamaStub({ endApartMs: 0, models: [{ name: MODEL, defaultAnswer: 'name;' }] });
  await stub.start();
  client = new LspClient();
});

afterEach(async () => {
  await client.shutdown();
  await stub.stop();
});

describe('connections to Ollama', () => {
  it('sequential completions to one host share one connection', async () => {
    // Without the cache, so that every completion asks the model.
    await client.initialize({ xencode: { ollama: { host: stub.url }, models: [MODEL], cache: { enabled: false } } });
    await client.open(URI, SOURCE);
    for (let i = 0; i < COMPLETIONS; i++) {
      expect((await client.completion(URI, CURSOR)).items[0]?.label).toBe('name;');
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
    const generates = stub.generateRequests(MODEL).filter((r) => r.body?.prompt);
    expect(generates).toHaveLength(COMPLETIONS);
    expect(generates.every((r) => r.completed && !r.aborted)).toBe(true);
    // /api/show and the completions: one connection (a second at most, for the completion that follows /api/show
    // at once, or a machine that stalls past the pause). Closing each answer at its done line cost one per call.
    const carriers = stub.requests.map((r) => `${r.path}@${r.connection}`).join(' ');
    expect(stub.connectionsOpened, carriers).toBeLessThanOrEqual(2);
  });
});
