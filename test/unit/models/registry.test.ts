import { describe, expect, it } from 'vitest';
import { validateSettings } from '../../../server/config.js';
import { silentLogger } from '../../../server/log.js';
import { LlamaCppBackend } from '../../../server/models/llama-cpp-backend.js';
import { OllamaBackend } from '../../../server/models/ollama-backend.js';
import { OpenAIBackend } from '../../../server/models/openai-backend.js';
import { backendKey, createBackend } from '../../../server/models/registry.js';
import { ReplicaBackend } from '../../../server/models/replica-backend.js';

const environment = { logger: silentLogger, notify() {}, env: {} };

function made(entry: unknown, extra: Record<string, unknown> = {}) {
  const { settings, problems } = validateSettings({ models: [entry], ...extra }, {});
  expect(problems).toEqual([]);
  return { backend: createBackend(settings.models[0]!, settings, environment), key: backendKey(settings.models[0]!, settings) };
}

describe('the provider registry', () => {
  it('makes the backend each provider names, at the place the settings give', async () => {
    const ollama = made('qwen2.5-coder:1.5b-base', { ollama: { host: 'http://o:1' } }).backend;
    expect(ollama).toBeInstanceOf(OllamaBackend);
    expect([ollama.provider, ollama.host]).toEqual(['ollama', 'http://o:1']);
    const llama = made({ name: 'coder', provider: 'llama.cpp', host: '127.0.0.1' }).backend;
    expect(llama).toBeInstanceOf(LlamaCppBackend);
    expect([llama.provider, llama.host, llama.model]).toEqual(['llama.cpp', 'http://127.0.0.1:8080', 'coder']);
    const openai = made({ name: 'Qwen/Qwen2.5-Coder-7B', provider: 'openai', baseUrl: 'http://gpu:8000/v1' }).backend;
    expect(openai).toBeInstanceOf(OpenAIBackend);
    expect([openai.provider, openai.host]).toEqual(['openai', 'http://gpu:8000/v1']);
  });

  it('puts several servers of one model behind one replica backend', async () => {
    const { backend } = made({ name: 'coder', provider: 'llama.cpp', host: 'http://a:8080', hosts: ['http://b:8080'] });
    expect(backend).toBeInstanceOf(ReplicaBackend);
    expect([backend.provider, backend.model, backend.host]).toEqual(['llama.cpp', 'coder', 'http://a:8080']);
    await backend.close?.();
  });

  it('keys backends by everything they are made from, and not by weight or concurrency', () => {
    const key = (entry: unknown, extra?: Record<string, unknown>) => made(entry, extra).key;
    const base = key({ name: 'm', provider: 'llama.cpp', host: 'http://a:1' });
    expect(key({ name: 'm', provider: 'llama.cpp', host: 'http://a:1', weight: 3, concurrency: 4 })).toBe(base);
    expect(key({ name: 'm', provider: 'llama.cpp', host: 'http://a:2' })).not.toBe(base);
    expect(key({ name: 'm', host: 'http://a:1' })).not.toBe(base);
    expect(key({ name: 'm', provider: 'openai', baseUrl: 'http://a:1/v1', apiKeyEnv: 'A' })).not.toBe(key({ name: 'm', provider: 'openai', baseUrl: 'http://a:1/v1', apiKeyEnv: 'B' }));
    expect(key('m', { ollama: { keepAlive: '5m' } })).not.toBe(key('m'));
  });
});
