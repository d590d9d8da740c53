import { createHash } from 'node:crypto';
import { Ollama } from 'ollama';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CREATE_ERRORS } from '../support/ollama-stub-create.js';
import { OllamaStub } from '../support/ollama-stub.js';

const BASE = 'qwen2.5-coder:1.5b-base';
const ADAPTER = Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(60, 7)]);
const DIGEST = `sha256:${createHash('sha256').update(ADAPTER).digest('hex')}`;

let stub: OllamaStub;
let url: string;

beforeEach(async () => {
  stub = new OllamaStub({ models: [{ name: BASE, defaultAnswer: 'x' }], pullStepMs: 1 });
  url = await stub.start();
});
afterEach(() => stub.stop());

const blob = (method: 'HEAD' | 'POST', digest: string, body?: Buffer) => fetch(`${url}/api/blobs/${digest}`, { method, body });

describe('the stand-in\'s blobs and create (Ollama\'s API)', () => {
  it('HEAD is 404 until the blob is uploaded; POST stores it by digest (201), then HEAD and POST are 200', async () => {
    expect((await blob('HEAD', DIGEST)).status).toBe(404);
    expect((await blob('POST', DIGEST, ADAPTER)).status).toBe(201);
    expect((await blob('HEAD', DIGEST)).status).toBe(200);
    expect((await blob('POST', DIGEST, ADAPTER)).status).toBe(200);
    expect(stub.blobs.get(DIGEST)).toEqual(ADAPTER);
  });

  it('refuses a body whose sha256 is not the digest, and a malformed digest', async () => {
    const wrong = await blob('POST', DIGEST, Buffer.from('other bytes'));
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toMatch(/^digest mismatch, expected "sha256:[0-9a-f]{64}", got "sha256:[0-9a-f]{64}"$/);
    expect(stub.blobs.size).toBe(0);
    const bad = await blob('HEAD', 'sha256:1234');
    expect(bad.status).toBe(400);
  });

  it('create streams status lines through the ollama client, records the request, and installs the model', async () => {
    await blob('POST', DIGEST, ADAPTER);
    const client = new Ollama({ host: url });
    const statuses: string[] = [];
    for await (const part of await client.create({ model: 'mine', from: BASE, adapters: { 'adapter.gguf': DIGEST }, stream: true })) statuses.push(part.status);
    expect(statuses.at(-1)).toBe('success');
    expect(statuses).toContain(`using existing layer ${DIGEST}`);
    expect(stub.createRequests('mine')[0]!.body).toMatchObject({ from: BASE, adapters: { 'adapter.gguf': DIGEST } });
    expect((await client.list()).models.map((m) => m.name)).toContain('mine');
  });

  it('create fails in the stream for a base it cannot pull or a blob never uploaded; Ollama ≥ 0.34.1 refuses adapters', async () => {
    const client = new Ollama({ host: url });
    await expect(client.create({ model: 'a', from: 'nope:1b', adapters: { 'adapter.gguf': DIGEST } })).rejects.toThrow(CREATE_ERRORS.pullManifest);
    await expect(client.create({ model: 'a', from: BASE, adapters: { 'adapter.gguf': DIGEST } })).rejects.toThrow(/no such file or directory/);
    await stub.stop();
    stub = new OllamaStub({ models: [{ name: BASE }], version: '0.34.2' });
    const res = await fetch(`${await stub.start()}/api/create`, { method: 'POST', body: JSON.stringify({ model: 'a', from: BASE, adapters: { 'adapter.gguf': DIGEST } }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: CREATE_ERRORS.adaptersRemoved });
  });
});
