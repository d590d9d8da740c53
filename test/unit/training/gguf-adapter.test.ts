import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ggufKind, readGgufHeader } from '../../../server/models/gguf-metadata.js';
import { baseModelInfo, convertPeftDir, peftToGguf } from '../../../server/training/gguf-adapter.js';
import { permuteHfToGguf } from '../../../server/training/qk-permute.js';
import { tinyModel } from '../../support/llama.js';
import { ggufTensorF32, peftName, randomPeftTensors, writePeftDir } from '../../support/peft-adapter.js';

const dir = mkdtempSync(join(tmpdir(), 'xencode-adapter-'));
const LLAMA = { architecture: 'llama', headCount: 4, headCountKv: 2 };

async function header(bytes: Buffer, name: string) {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  const read = await readGgufHeader(file);
  if (!read.ok) throw new Error(read.problem);
  return { file, header: read.header };
}

describe('PEFT adapter → adapter.gguf', () => {
  const spec = { layers: 2, r: 4, alpha: 8, modules: { q_proj: [64, 64], k_proj: [64, 32], v_proj: [64, 32], o_proj: [64, 64], gate_proj: [64, 128], up_proj: [64, 128], down_proj: [128, 64] } } as const;
  const tensors = randomPeftTensors(spec);

  it('writes the metadata llama.cpp reads and one lora_a/lora_b pair per module, in ggml dims', async () => {
    const { header: h } = await header(peftToGguf({ r: 4, lora_alpha: 8 }, tensors, LLAMA), 'all.gguf');
    expect(h.version).toBe(3);
    expect(ggufKind(h)).toBe('lora-adapter');
    expect(h.metadata.get('general.architecture')).toBe('llama');
    expect(h.metadata.get('general.type')).toBe('adapter');
    expect(h.metadata.get('adapter.type')).toBe('lora');
    expect(h.metadata.get('adapter.lora.alpha')).toBe(8);
    const byName = new Map(h.tensors.map((t) => [t.name, t]));
    expect(h.tensors).toHaveLength(2 * 7 * 2);
    expect(byName.get('blk.1.attn_q.weight.lora_a')).toMatchObject({ dims: [64, 4], type: 0 });
    expect(byName.get('blk.1.attn_q.weight.lora_b')).toMatchObject({ dims: [4, 64], type: 0 });
    expect(byName.get('blk.0.attn_k.weight.lora_b')!.dims).toEqual([4, 32]);
    expect(byName.get('blk.0.attn_output.weight.lora_a')!.dims).toEqual([64, 4]);
    expect(byName.get('blk.0.ffn_gate.weight.lora_b')!.dims).toEqual([4, 128]);
    expect(byName.get('blk.0.ffn_down.weight.lora_a')!.dims).toEqual([128, 4]);
    for (const t of h.tensors) expect(t.offset % 32).toBe(0);
  });

  it('copies A and the B of v/o/MLP as they are, and permutes the rows of q\'s and k\'s B per (KV) head', async () => {
    const { file, header: h } = await header(peftToGguf({ r: 4, lora_alpha: 8 }, tensors, LLAMA), 'data.gguf');
    const get = (name: string) => ggufTensorF32(file, h, name);
    expect(get('blk.1.attn_q.weight.lora_a')).toEqual(tensors.get(peftName(1, 'q_proj', 'A'))!.data);
    expect(get('blk.1.attn_v.weight.lora_b')).toEqual(tensors.get(peftName(1, 'v_proj', 'B'))!.data);
    expect(get('blk.0.ffn_down.weight.lora_b')).toEqual(tensors.get(peftName(0, 'down_proj', 'B'))!.data);
    const qB = tensors.get(peftName(0, 'q_proj', 'B'))!.data;
    expect(get('blk.0.attn_q.weight.lora_b')).toEqual(permuteHfToGguf(qB, 64, 4, 4));
    expect(get('blk.0.attn_q.weight.lora_b')).not.toEqual(qB);
    expect(get('blk.0.attn_k.weight.lora_b')).toEqual(permuteHfToGguf(tensors.get(peftName(0, 'k_proj', 'B'))!.data, 32, 4, 2));
  });

  it('leaves q/k alone for architectures whose converter does not permute them (qwen2)', async () => {
    const { file, header: h } = await header(peftToGguf({ r: 4, lora_alpha: 8 }, tensors, { architecture: 'qwen2', headCount: 4, headCountKv: 2 }), 'qwen.gguf');
    expect(h.metadata.get('general.architecture')).toBe('qwen2');
    expect(ggufTensorF32(file, h, 'blk.0.attn_q.weight.lora_b')).toEqual(tensors.get(peftName(0, 'q_proj', 'B'))!.data);
  });

  it('stores alpha·√r for rsLoRA, so llama.cpp\'s alpha/r scale is rsLoRA\'s alpha/√r', async () => {
    const { header: h } = await header(peftToGguf({ r: 4, lora_alpha: 8, use_rslora: true }, tensors, LLAMA), 'rs.gguf');
    expect(h.metadata.get('adapter.lora.alpha')).toBe(16);
  });

  it('converts a folder as PEFT saves it, reading the base model\'s architecture and head counts from its GGUF', async () => {
    const base = await baseModelInfo(tinyModel(1));
    expect(base).toEqual({ architecture: 'llama', headCount: 4, headCountKv: 4 });
    const peft = join(dir, 'peft');
    writePeftDir(peft, { layers: 2, r: 2, alpha: 4, modules: { q_proj: [64, 64], v_proj: [64, 64] } });
    const out = await convertPeftDir(peft, base);
    expect(out).toBe(join(peft, 'adapter.gguf'));
    const read = await readGgufHeader(out);
    expect(read.ok && read.header.tensors.map((t) => t.name)).toEqual([
      'blk.0.attn_q.weight.lora_a', 'blk.0.attn_q.weight.lora_b', 'blk.0.attn_v.weight.lora_a', 'blk.0.attn_v.weight.lora_b',
      'blk.1.attn_q.weight.lora_a', 'blk.1.attn_q.weight.lora_b', 'blk.1.attn_v.weight.lora_a', 'blk.1.attn_v.weight.lora_b',
    ]);
    const model = await readGgufHeader(tinyModel(1));
    expect(model.ok && ggufKind(model.header)).toBe('model');
  });

  it('says what it cannot convert', () => {
    const only = (name: string) => new Map([[name, tensors.get(peftName(0, 'q_proj', 'A'))!]]);
    expect(() => peftToGguf({ r: 4, lora_alpha: 8 }, only(peftName(0, 'q_proj', 'A')), LLAMA)).toThrow(/layer 0 q_proj has lora_B missing/);
    expect(() => peftToGguf({ r: 4, lora_alpha: 8 }, only('base_model.model.lm_head.weight'), LLAMA)).toThrow(/lm_head.weight is not a LoRA A\/B weight/);
    expect(() => peftToGguf({ r: 4, lora_alpha: 8 }, only(peftName(0, 'q_proj', 'A').replace('q_proj', 'qkv_proj')), LLAMA)).toThrow(/module qkv_proj has no llama.cpp tensor/);
    expect(() => peftToGguf({ r: 4, lora_alpha: 8, use_dora: true }, tensors, LLAMA)).toThrow(/DoRA/);
  });
});
