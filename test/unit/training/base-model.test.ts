import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBase } from '../../../server/training/base-model.js';
import { OllamaStub } from '../../support/ollama-stub.js';
import { tinyModel, freePort } from '../../support/llama.js';

let folder: string;
let stub: OllamaStub;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'xencode-base-'));
  stub = new OllamaStub({ models: [{ name: 'qwen2.5-coder:1.5b-base' }] });
  await stub.start();
});

afterAll(async () => {
  await stub.stop();
});

describe('the base model of xencode train', () => {
  it('takes a Hugging Face folder (with config.json) and a GGUF file', async () => {
    const hf = join(folder, 'hf');
    mkdirSync(hf);
    writeFileSync(join(hf, 'config.json'), '{}');
    expect(await resolveBase(hf, { ollamaHost: stub.url })).toEqual({ ok: true, base: { kind: 'hf', path: hf, label: hf } });
    const gguf = tinyModel(1);
    expect(await resolveBase(gguf, { ollamaHost: stub.url })).toMatchObject({ ok: true, base: { kind: 'gguf', path: gguf } });
  });

  it('refuses a folder that is no model, a file that is not GGUF, and a path that does not exist', async () => {
    const empty = join(folder, 'empty');
    mkdirSync(empty);
    expect(await resolveBase(empty, { ollamaHost: stub.url })).toMatchObject({ ok: false, problem: expect.stringMatching(/no config\.json/) });
    const text = join(folder, 'notes.gguf');
    writeFileSync(text, 'not a model');
    expect(await resolveBase(text, { ollamaHost: stub.url })).toMatchObject({ ok: false, problem: expect.stringMatching(/not a GGUF/) });
    expect(await resolveBase('./nope/model.gguf', { ollamaHost: stub.url })).toMatchObject({ ok: false, problem: expect.stringMatching(/no such file or folder/) });
  });

  it("finds an Ollama model's file through /api/show, and says when it is not on this machine, missing, or Ollama is down", async () => {
    const remote = await resolveBase('qwen2.5-coder:1.5b-base', { ollamaHost: stub.url });
    expect(remote).toMatchObject({ ok: false, problem: expect.stringMatching(/keeps its weights at \/root\/\.ollama\/models\/blobs\/sha256-[0-9a-f]+, which is not on this machine/) });
    expect(stub.requests.some((r) => r.path === '/api/show')).toBe(true);
    expect(await resolveBase('starcoder2:3b', { ollamaHost: stub.url })).toMatchObject({ ok: false, problem: expect.stringMatching(/ollama pull starcoder2:3b/) });
    const down = `http://127.0.0.1:${await freePort()}`;
    expect(await resolveBase('starcoder2:3b', { ollamaHost: down })).toMatchObject({ ok: false, problem: expect.stringMatching(/cannot be reached.*ollama serve/) });
  });
});
