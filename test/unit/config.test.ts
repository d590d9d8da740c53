import { describe, expect, it } from 'vitest';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODEL, actionModels, answerFingerprint, defaultHost, modelLocations, normalizeHost, validateSettings } from '../../server/config.js';

describe('settings validation', () => {
  it('gives the documented defaults for no settings', () => {
    const { settings, problems } = validateSettings(undefined, {});
    expect(problems).toEqual([]);
    expect(settings.ollama.host).toBe('http://127.0.0.1:11434');
    expect(settings.models).toEqual([{ name: DEFAULT_MODEL, provider: 'ollama', weight: 1 }]);
    expect(settings.ensemble).toEqual({ method: 'hybrid', deadlineMs: 2000, samples: 1, rover: false });
    expect(settings.completion).toEqual({ maxTokens: 128, debounceMs: 0, contextChars: 6000, popupWaitMs: 400 });
    expect(settings.cache).toEqual({ enabled: true, maxEntries: 50000 });
    expect(settings.feedback).toEqual({ enabled: true, level: 'full', maxEvents: 100_000, maxDays: 90, minRecords: 20 });
    expect(settings.actions).toEqual({ models: [], maxTokens: 2048, timeoutMs: 120_000, contextChars: 3000 });
    expect(settings.hover).toEqual({ enabled: true, deadlineMs: 4000, maxTokens: 300 });
  });

  it('takes action models like completion models, and falls back to the completion models', () => {
    const { settings, problems } = validateSettings({ models: ['a:1b'], actions: { models: ['chat:7b', { name: 'big:32b', weight: 2, host: 'gpu:11434' }] } }, {});
    expect(problems).toEqual([]);
    expect(actionModels(settings)).toEqual([
      { name: 'chat:7b', provider: 'ollama', weight: 1 },
      { name: 'big:32b', provider: 'ollama', weight: 2, host: 'http://gpu:11434' },
    ]);
    expect(actionModels(validateSettings({ models: ['a:1b'] }, {}).settings).map((m) => m.name)).toEqual(['a:1b']);
    const bad = validateSettings({ hover: { deadlineMs: 10 }, actions: { timeoutMs: 'soon' } }, {});
    expect(bad.problems.join('\n')).toMatch(/xencode\.hover\.deadlineMs/);
    expect(bad.problems.join('\n')).toMatch(/xencode\.actions\.timeoutMs/);
    expect(bad.settings.hover.deadlineMs).toBe(4000);
  });

  it('reports a wrong value by its key and uses the default for it, keeping the valid neighbours', () => {
    const { settings, problems } = validateSettings({ completion: { maxTokens: 'lots', debounceMs: 40 } }, {});
    expect(settings.completion.maxTokens).toBe(128);
    expect(settings.completion.debounceMs).toBe(40);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('xencode.completion.maxTokens');
    expect(problems[0]).toContain('"lots"');
  });

  it('reports unknown keys (typos) and ignores them', () => {
    const { settings, problems } = validateSettings({ completion: { maxToken: 10 }, ensemble: { method: 'vote' } }, {});
    expect(problems).toEqual(['unknown setting xencode.completion.maxToken (ignored)']);
    expect(settings.ensemble.method).toBe('vote');
  });

  it('rejects an unknown ensemble method and out-of-range numbers', () => {
    const { settings, problems } = validateSettings({ ensemble: { method: 'magic', deadlineMs: -5 } }, {});
    expect(settings.ensemble.method).toBe('hybrid');
    expect(settings.ensemble.deadlineMs).toBe(2000);
    expect(problems.some((p) => p.startsWith('xencode.ensemble.method'))).toBe(true);
    expect(problems.some((p) => p.startsWith('xencode.ensemble.deadlineMs'))).toBe(true);
  });

  it('accepts models as names or objects, drops a broken entry and keeps the rest', () => {
    const { settings, problems } = validateSettings(
      { models: ['starcoder2:3b', { name: 'qwen2.5-coder:7b-base', host: '10.0.0.5', weight: 2 }, { weight: 3 }] },
      {},
    );
    expect(settings.models).toEqual([
      { name: 'starcoder2:3b', provider: 'ollama', weight: 1 },
      { name: 'qwen2.5-coder:7b-base', provider: 'ollama', host: 'http://10.0.0.5:11434', weight: 2 },
    ]);
    expect(problems.some((p) => p.includes('xencode.models[2].name'))).toBe(true);
  });

  it('falls back to the default model when the list ends up empty', () => {
    const { settings, problems } = validateSettings({ models: [42] }, {});
    expect(settings.models).toEqual([{ name: DEFAULT_MODEL, provider: 'ollama', weight: 1 }]);
    expect(problems.length).toBeGreaterThan(0);
  });

  it('reports a non-object settings value', () => {
    const { settings, problems } = validateSettings('fast please', {});
    expect(settings.completion.maxTokens).toBe(128);
    expect(problems[0]).toContain('must be an object');
  });

  it('takes the default host from OLLAMA_HOST, in the forms users write it', () => {
    expect(defaultHost({ OLLAMA_HOST: '192.168.1.9' })).toBe('http://192.168.1.9:11434');
    expect(defaultHost({ OLLAMA_HOST: '0.0.0.0:8080' })).toBe('http://127.0.0.1:8080');
    expect(defaultHost({ OLLAMA_HOST: 'https://gpu.example' })).toBe('https://gpu.example');
    expect(validateSettings({}, { OLLAMA_HOST: 'box:1234' }).settings.ollama.host).toBe('http://box:1234');
    // The settings win over the environment.
    expect(validateSettings({ ollama: { host: 'http://a:1' } }, { OLLAMA_HOST: 'box' }).settings.ollama.host).toBe('http://a:1');
  });

  it('rejects a host that is not one', () => {
    const { settings, problems } = validateSettings({ ollama: { host: 'ftp://x' } }, {});
    expect(settings.ollama.host).toBe('http://127.0.0.1:11434');
    expect(problems[0]).toContain('xencode.ollama.host');
    expect(normalizeHost('localhost:11434/')).toBe('http://localhost:11434');
  });

  it('fingerprints only what changes an answer', () => {
    const a = validateSettings({}, {}).settings;
    const b = validateSettings({ completion: { debounceMs: 100 } }, {}).settings;
    const c = validateSettings({ completion: { maxTokens: 64 } }, {}).settings;
    expect(answerFingerprint(a)).toBe(answerFingerprint(b));
    expect(answerFingerprint(a)).not.toBe(answerFingerprint(c));
  });
});

describe('settings in initializationOptions', () => {
  it('are found under `xencode` or at the top level, any section counting (actions and hover too)', async () => {
    const { settingsFromInitializationOptions } = await import('../../server/lsp/settings-sync.js');
    expect(settingsFromInitializationOptions({ xencode: { models: ['a'] } })).toEqual({ models: ['a'] });
    expect(settingsFromInitializationOptions({ hover: { enabled: false } })).toEqual({ hover: { enabled: false } });
    expect(settingsFromInitializationOptions({ actions: { models: ['b'] } })).toEqual({ actions: { models: ['b'] } });
    expect(settingsFromInitializationOptions({ somethingElse: 1 })).toBeUndefined();
  });
});

describe('settings from Lua', () => {
  it('reads an empty array where an object belongs as an empty object (Lua encodes {} as [])', () => {
    expect(validateSettings([], {}).problems).toEqual([]);
    const { settings, problems } = validateSettings({ cache: [], hover: [], ensemble: { method: 'vote' }, actions: { models: [] } }, {});
    expect(problems).toEqual([]);
    expect(settings.cache.enabled).toBe(true);
    expect(settings.ensemble.method).toBe('vote');
    expect(validateSettings({ models: [] }, {}).problems[0]).toContain('xencode.models');
    // A list setting stays a list when it is empty.
    expect(validateSettings({ llamaCpp: { args: [] } }, {})).toMatchObject({ problems: [], settings: { llamaCpp: { args: [] } } });
  });
});

describe('model providers', () => {
  const one = (entry: unknown) => validateSettings({ models: [entry] }, {});

  it('takes llama.cpp and OpenAI-compatible servers, each with its own default port and URL form', () => {
    expect(one({ name: 'coder', provider: 'llama.cpp', host: '127.0.0.1' }).settings.models[0]).toEqual({ name: 'coder', provider: 'llama.cpp', host: 'http://127.0.0.1:8080', weight: 1 });
    expect(modelLocations(one({ name: 'coder', provider: 'llama.cpp' }).settings.models[0]!, 'http://o:11434')).toEqual(['http://127.0.0.1:8080']);
    const openai = one({ name: 'Qwen/Qwen2.5-Coder-7B', provider: 'openai', baseUrl: 'http://gpu-box:8000/v1/', apiKeyEnv: 'OPENAI_API_KEY' });
    expect(openai.problems).toEqual([]);
    expect(modelLocations(openai.settings.models[0]!, 'http://o:11434')).toEqual(['http://gpu-box:8000/v1']);
  });

  it('makes a gguf file a llama.cpp model served by Xencode itself', () => {
    const { settings, problems } = one({ name: 'tiny', gguf: '~/models/tiny.gguf' });
    expect(problems).toEqual([]);
    expect(settings.models[0]!.provider).toBe('llama.cpp');
    expect(settings.models[0]!.gguf).toBe(join(homedir(), 'models/tiny.gguf'));
    expect(modelLocations(settings.models[0]!, 'http://o:11434')).toEqual([]);
    expect(one({ name: 'tiny', gguf: 'models/tiny.gguf' }).problems[0]).toMatch(/xencode\.models\[0\]\.gguf: must be an absolute path/);
    expect(one({ name: 'tiny', provider: 'ollama', gguf: '/m/tiny.gguf' }).problems[0]).toMatch(/gguf: is served by a llama-server Xencode starts: use provider "llama.cpp"/);
  });

  it('lists replicas in order without repeats', () => {
    const { settings, problems } = one({ name: 'm', provider: 'llama.cpp', host: 'a', hosts: ['b:9000', 'http://a:8080'] });
    expect(problems).toEqual([]);
    expect(modelLocations(settings.models[0]!, 'x')).toEqual(['http://a:8080', 'http://b:9000']);
  });

  it('names a misplaced field and says what to use instead', () => {
    const noBase = one({ name: 'm', provider: 'openai', host: 'http://gpu:8000' });
    expect(noBase.problems.join('\n')).toMatch(/models\[0\]\.host: is for Ollama and llama\.cpp servers; an OpenAI-compatible server takes baseUrl/);
    expect(noBase.settings.models[0]!.name).toBe(DEFAULT_MODEL);
    expect(one({ name: 'm', baseUrl: 'http://gpu:8000/v1' }).problems[0]).toMatch(/baseUrl: is for provider "openai"/);
    expect(one({ name: 'm', provider: 'openai' }).problems[0]).toMatch(/needs baseUrl/);
  });

  it('never repeats what may be a key, and points a key in settings at apiKeyEnv', () => {
    const secret = 'sk-live-0123456789abcdef';
    const wrong = one({ name: 'm', provider: 'openai', baseUrl: 'http://g/v1', apiKeyEnv: secret });
    expect(wrong.problems.join('\n')).not.toContain(secret);
    expect(wrong.problems[0]).toMatch(/apiKeyEnv: must name an environment variable/);
    const inline = one({ name: 'm', provider: 'openai', baseUrl: 'http://g/v1', apiKey: secret });
    expect(inline.problems.join('\n')).not.toContain(secret);
    expect(inline.problems[0]).toMatch(/apiKey \(ignored: never put a key in settings; .* apiKeyEnv\)/);
  });

  it('puts the provider and where the model runs into the answer fingerprint', () => {
    const base = answerFingerprint(one({ name: 'm', host: 'http://h:1' }).settings);
    expect(answerFingerprint(one({ name: 'm', provider: 'llama.cpp', host: 'http://h:1' }).settings)).not.toBe(base);
    expect(answerFingerprint(one({ name: 'm', host: 'http://h:2' }).settings)).not.toBe(base);
    expect(answerFingerprint(one({ name: 'm', host: 'http://h:1', concurrency: 4 }).settings)).toBe(base);
  });

  it('has llama-server settings with defaults', () => {
    expect(validateSettings({}, {}).settings.llamaCpp).toEqual({ contextSize: 4096, args: [] });
    expect(validateSettings({ llamaCpp: { serverPath: '/opt/llama/bin/llama-server', threads: 4 } }, {}).settings.llamaCpp).toEqual({ serverPath: '/opt/llama/bin/llama-server', threads: 4, contextSize: 4096, args: [] });
  });
});
