import { afterEach, beforeEach } from 'vitest';
import { LspClient } from './lsp-client.js';
import { OllamaStub } from './ollama-stub.js';

/**
 * Per test: the stand-in with one model answering `defaultAnswer`, and the built server initialized against it
 * with the cache off (so every request reaches the model and can be checked there). Read the fields inside tests.
 */
export function uncachedServerPerTest(model: string, defaultAnswer: string): { stub: OllamaStub; client: LspClient } {
  const current = {} as { stub: OllamaStub; client: LspClient };
  beforeEach(async () => {
    current.stub = new OllamaStub({ models: [{ name: model, defaultAnswer }] });
    await current.stub.start();
    current.client = new LspClient();
    await current.client.initialize({ xencode: { ollama: { host: current.stub.url }, models: [model], cache: { enabled: false } } });
  });
  afterEach(async () => {
    await current.client.shutdown();
    await current.stub.stop();
  });
  return current;
}
