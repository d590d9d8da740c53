// A PEFT-style LoRA adapter converted by training/gguf-adapter.ts on the REAL llama-server: it loads with --lora,
// /lora-adapters lists it, a request with scale 0 is the base model's answer and scale 1 another. For llama q_proj,
// the converted adapter gives what the model with ΔW merged into attn_q gives (merged here in plain TS, with the
// q/k permutation written as llama.cpp's converter writes it), and the same adapter written unpermuted does not.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader, type GgufHeader } from '../../server/models/gguf-metadata.js';
import { baseModelInfo, convertPeftDir } from '../../server/training/gguf-adapter.js';
import { startLlamaServer, tinyModel, type RunningLlamaServer } from '../support/llama.js';
import { ggufTensorF32, peftName, swapAxes12, writePeftDir } from '../support/peft-adapter.js';

// The tiny model of scripts/tiny-gguf.mjs: 2 layers, 64 wide, 4 heads of 16.
const LAYERS = 2;
const EMBD = 64;
const HEADS = 4;
const RANK = 4;
const ALPHA = 8;

const dir = mkdtempSync(join(tmpdir(), 'xencode-lora-'));
const running: RunningLlamaServer[] = [];
const start = async (model: string, args: string[] = []) => {
  const server = await startLlamaServer({ model, args });
  running.push(server);
  return server;
};

interface Probability { id: number; logprob: number }
interface Completion { content: string; completion_probabilities: (Probability & { top_logprobs: Probability[] })[] }

/** Greedy, several prompt tokens (at position 0 alone q cannot matter: one key, softmax 1), no prompt cache. */
async function complete(host: string, extra: object = {}): Promise<Completion> {
  const res = await fetch(`${host}/completion`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'function add(a, b) { return', n_predict: 8, ignore_eos: true, temperature: 0, top_k: 1, n_probs: 5, cache_prompt: false, ...extra }),
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as Completion;
}

/** The largest logprob difference over the same top tokens (Infinity when the tokens differ). Steps are per piece
 *  of text, so answers of different tokens may have different step counts. */
function distance(a: Completion, b: Completion): number {
  if (a.completion_probabilities.length !== b.completion_probabilities.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  a.completion_probabilities.forEach((step, i) => {
    const other = b.completion_probabilities[i]!;
    step.top_logprobs.forEach((p, k) => {
      const q = other.top_logprobs[k]!;
      worst = Math.max(worst, p.id === q.id ? Math.abs(p.logprob - q.logprob) : Number.POSITIVE_INFINITY);
    });
  });
  return worst;
}

let base: RunningLlamaServer;
const model = tinyModel(1);

beforeAll(async () => {
  base = await start(model);
});

afterAll(async () => {
  await Promise.all(running.map((s) => s.stop()));
});

describe('adapter.gguf on llama-server', () => {
  it('loads with --lora, is listed, gives the base answer at scale 0 and another at scale 1', async () => {
    const peft = join(dir, 'qv');
    writePeftDir(peft, { layers: LAYERS, r: RANK, alpha: ALPHA, std: 0.5, modules: { q_proj: [EMBD, EMBD], v_proj: [EMBD, EMBD] } });
    const adapter = await convertPeftDir(peft, await baseModelInfo(model));
    const server = await start(model, ['--lora', adapter]);

    const listed = (await (await fetch(`${server.host}/lora-adapters`)).json()) as { id: number; path: string; scale: number }[];
    expect(listed).toEqual([expect.objectContaining({ id: 0, path: adapter, scale: 1 })]);

    const expected = await complete(base.host);
    const off = await complete(server.host, { lora: [{ id: 0, scale: 0 }] });
    const on = await complete(server.host, { lora: [{ id: 0, scale: 1 }] });
    expect(off.content).toBe(expected.content);
    expect(distance(off, expected)).toBeLessThan(1e-4);
    expect(distance(on, expected)).toBeGreaterThan(1e-2);
    expect(server.log()).not.toMatch(/failed to apply lora|error/i);
  });

  it('q_proj: the permuted adapter matches ΔW merged into attn_q; written unpermuted it does not', async () => {
    const peft = join(dir, 'q');
    const tensors = writePeftDir(peft, { layers: LAYERS, r: RANK, alpha: ALPHA, std: 0.5, seed: 21, modules: { q_proj: [EMBD, EMBD] } });
    const info = await baseModelInfo(model);
    const right = await convertPeftDir(peft, info, join(dir, 'right.gguf'));
    const wrong = await convertPeftDir(peft, info, join(dir, 'wrong.gguf'), { skipQkPermutation: true });

    // The reference: attn_q + P(α/r · B·A), P as convert_hf_to_gguf.py permutes a HF q weight:
    // reshape(heads, 2, d/2, cols).swapaxes(1, 2).
    const merged = join(dir, 'merged.gguf');
    copyFileSync(model, merged);
    const read = await readGgufHeader(model);
    if (!read.ok) throw new Error(read.problem);
    const bytes = readFileSync(merged);
    for (let layer = 0; layer < LAYERS; layer++) {
      const A = tensors.get(peftName(layer, 'q_proj', 'A'))!.data;
      const B = tensors.get(peftName(layer, 'q_proj', 'B'))!.data;
      const delta = new Float32Array(EMBD * EMBD);
      for (let o = 0; o < EMBD; o++) for (let i = 0; i < EMBD; i++) {
        let sum = 0;
        for (let k = 0; k < RANK; k++) sum += B[o * RANK + k]! * A[k * EMBD + i]!;
        delta[o * EMBD + i] = (ALPHA / RANK) * sum;
      }
      const permuted = swapAxes12(delta, [HEADS, 2, EMBD / HEADS / 2, EMBD]);
      const name = `blk.${layer}.attn_q.weight`;
      const weight = ggufTensorF32(model, read.header, name);
      const at = tensorStart(read.header, name);
      for (let j = 0; j < weight.length; j++) bytes.writeFloatLE(weight[j]! + permuted[j]!, at + j * 4);
    }
    writeFileSync(merged, bytes);

    const [withAdapters, mergedServer] = await Promise.all([start(model, ['--lora', right, '--lora', wrong]), start(merged)]);
    const reference = await complete(mergedServer.host);
    const viaRight = await complete(withAdapters.host, { lora: [{ id: 0, scale: 1 }, { id: 1, scale: 0 }] });
    const viaWrong = await complete(withAdapters.host, { lora: [{ id: 0, scale: 0 }, { id: 1, scale: 1 }] });
    const baseline = await complete(base.host);

    expect(distance(reference, baseline)).toBeGreaterThan(1e-2); // the merge changed the model
    expect(viaRight.content).toBe(reference.content);
    expect(distance(viaRight, reference)).toBeLessThan(1e-3);
    expect(distance(viaWrong, reference)).toBeGreaterThan(1e-2);
  });
});

function tensorStart(header: GgufHeader, name: string): number {
  return header.dataOffset + header.tensors.find((t) => t.name === name)!.offset;
}
