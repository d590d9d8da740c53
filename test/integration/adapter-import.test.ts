// `xencode adapter import` (the built CLI) against the Ollama stand-in: the adapter goes up once as a blob (a second
// import finds it with HEAD), /api/create gets `from` and `adapters` with its digest, and every refusal is a message
// and exit code 1 with nothing sent that should not be. And the llama.cpp form: arguments and settings printed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { peftToGguf } from '../../server/training/gguf-adapter.js';
import { tinyModel } from '../support/llama.js';
import { CLI } from '../support/lsp-client.js';
import { OllamaStub } from '../support/ollama-stub.js';
import { randomPeftTensors } from '../support/peft-adapter.js';

const BASE = 'codellama:7b-code'; // a llama-family model, as the adapter is
const work = mkdtempSync(join(tmpdir(), 'xencode-import-'));
const adapterDir = join(work, 'run');
mkdirSync(adapterDir);
writeFileSync(join(adapterDir, 'adapter.gguf'), peftToGguf({ r: 2, lora_alpha: 4 }, randomPeftTensors({ layers: 2, r: 2, alpha: 4, modules: { q_proj: [64, 64], v_proj: [64, 64] } }), { architecture: 'llama', headCount: 4 }));
const DIGEST = `sha256:${createHash('sha256').update(readFileSync(join(adapterDir, 'adapter.gguf'))).digest('hex')}`;

let stub: OllamaStub;

beforeEach(async () => {
  stub = new OllamaStub({ models: [{ name: BASE, defaultAnswer: 'x' }, { name: 'qwen2.5-coder:1.5b-base' }], pullStepMs: 1 });
  await stub.start();
});
afterEach(() => stub.stop());

/** The CLI in a child process (asynchronously: the stand-in answers from this process's event loop). */
function xencode(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'adapter', 'import', ...args], { env: { ...process.env, OLLAMA_HOST: stub.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('xencode adapter import (Ollama)', () => {
  it('uploads the adapter once, creates the model from the base with it, and prints the ensemble entry', async () => {
    const first = await xencode('--base', BASE, '--adapter', adapterDir, '--name', 'codellama-mine');
    expect(first.status, first.stderr).toBe(0);
    expect(stub.blobRequests().map((r) => [r.method, r.path, r.status])).toEqual([
      ['HEAD', `/api/blobs/${DIGEST}`, 404],
      ['POST', `/api/blobs/${DIGEST}`, 201],
    ]);
    expect(stub.createRequests()).toHaveLength(1);
    expect(stub.createRequests()[0]!.body).toMatchObject({ model: 'codellama-mine', from: BASE, adapters: { 'adapter.gguf': DIGEST } });
    expect(first.stderr).toMatch(/xencode: writing manifest\nxencode: success\n/);
    expect(first.stdout).toContain(`"models": ${JSON.stringify([BASE, 'codellama-mine'])}`);
    expect(stub.model('codellama-mine')).toBeDefined();

    stub.reset();
    const second = await xencode('--base', BASE, '--adapter', join(adapterDir, 'adapter.gguf'), '--name', 'codellama-again', '--json');
    expect(second.status, second.stderr).toBe(0);
    expect(stub.blobRequests().map((r) => [r.method, r.status])).toEqual([['HEAD', 200]]);
    expect(JSON.parse(second.stdout)).toMatchObject({ name: 'codellama-again', digest: DIGEST, uploaded: false, settings: { models: [BASE, 'codellama-again'] } });
    expect(stub.createRequests('codellama-again')[0]!.body.adapters).toEqual({ 'adapter.gguf': DIGEST });
  });

  it('refuses a model GGUF given as the adapter, and sends nothing', async () => {
    const result = await xencode('--base', BASE, '--adapter', tinyModel(1), '--name', 'x');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/is a model \(tiny-random-llama\), not a LoRA adapter .*pass the adapter.gguf/);
    expect(stub.requests).toHaveLength(0);
  });

  it('refuses a file that is not GGUF, and a folder without adapter.gguf', async () => {
    writeFileSync(join(work, 'notes.txt'), 'hello, not an adapter');
    const text = await xencode('--base', BASE, '--adapter', join(work, 'notes.txt'), '--name', 'x');
    expect(text.status).toBe(1);
    expect(text.stderr).toMatch(/notes.txt is not a GGUF file \(it starts with the text "hello, n/);
    const empty = await xencode('--base', BASE, '--adapter', work, '--name', 'x');
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/has no adapter.gguf/);
    expect(stub.requests).toHaveLength(0);
  });

  it('says so when Ollama is not running', async () => {
    await stub.goDown();
    const result = await xencode('--base', BASE, '--adapter', adapterDir, '--name', 'x');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`Cannot reach Ollama at ${stub.url} (connection refused). Start it with \`ollama serve\``);
  });

  it('says which base is missing (Ollama\'s 404) or of another architecture, before uploading anything', async () => {
    const missing = await xencode('--base', 'codellama:13b', '--adapter', adapterDir, '--name', 'x');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/The base model codellama:13b is not on the Ollama server .*`ollama pull codellama:13b`/);
    const qwen = await xencode('--base', 'qwen2.5-coder:1.5b-base', '--adapter', adapterDir, '--name', 'x');
    expect(qwen.status).toBe(1);
    expect(qwen.stderr).toMatch(/adapts a llama model, but qwen2.5-coder:1.5b-base is qwen2/);
    expect(stub.blobRequests()).toHaveLength(0);
    expect(stub.createRequests()).toHaveLength(0);
  });

  it('tells an Ollama that no longer takes adapters (0.34.1 on) apart from other failures', async () => {
    await stub.stop();
    stub = new OllamaStub({ models: [{ name: BASE }], version: '0.34.2' });
    await stub.start();
    const result = await xencode('--base', BASE, '--adapter', adapterDir, '--name', 'x');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/This Ollama \(version 0.34.2\) no longer accepts LoRA adapters .*--provider llama.cpp/);
    expect(stub.model('x')).toBeUndefined();
  });
});

describe('xencode adapter import (llama.cpp)', () => {
  it('prints the --lora argument and the settings for a base GGUF file, and checks both files', async () => {
    const base = tinyModel(1);
    const result = await xencode('--base', base, '--adapter', adapterDir, '--name', 'tiny-mine', '--json');
    expect(result.status, result.stderr).toBe(0);
    const adapter = join(adapterDir, 'adapter.gguf');
    expect(JSON.parse(result.stdout)).toMatchObject({
      provider: 'llama.cpp',
      llamaServerArgs: ['-m', base, '--lora', adapter],
      settings: { managed: { models: [{ name: 'tiny-mine', gguf: base }], llamaCpp: { args: ['--lora', adapter] } } },
    });
    expect(stub.requests).toHaveLength(0);
  });
});
