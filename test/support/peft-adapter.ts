// PEFT-style LoRA adapters made in tests (random A and B, F32, PEFT's tensor names and adapter_config.json), and
// reading a GGUF tensor's F32 data back, for checks against plain math.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GgufHeader } from '../../server/models/gguf-metadata.js';
import { writeSafetensors, type Tensor } from '../../server/training/safetensors.js';

/** mulberry32 + Box-Muller: the same seed gives the same adapter. */
export function normals(seed: number): () => number {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

export interface PeftSpec {
  readonly layers: number;
  /** module → [in, out], e.g. { q_proj: [64, 64], v_proj: [64, 64] } */
  readonly modules: Readonly<Record<string, readonly [number, number]>>;
  readonly r: number;
  readonly alpha: number;
  readonly std?: number;
  readonly seed?: number;
}

export const peftName = (layer: number, module: string, side: 'A' | 'B') =>
  `base_model.model.model.layers.${layer}.${/proj$/.test(module) && !/^(gate|up|down)/.test(module) ? 'self_attn' : 'mlp'}.${module}.lora_${side}.weight`;

/** The tensors of a random adapter, by PEFT name. */
export function randomPeftTensors(spec: PeftSpec): Map<string, Tensor> {
  const rand = normals(spec.seed ?? 7);
  const std = spec.std ?? 0.3;
  const fill = (n: number) => Float32Array.from({ length: n }, () => rand() * std);
  const tensors = new Map<string, Tensor>();
  for (let layer = 0; layer < spec.layers; layer++) {
    for (const [module, [inputs, outputs]] of Object.entries(spec.modules)) {
      tensors.set(peftName(layer, module, 'A'), { shape: [spec.r, inputs], data: fill(spec.r * inputs) });
      tensors.set(peftName(layer, module, 'B'), { shape: [outputs, spec.r], data: fill(outputs * spec.r) });
    }
  }
  return tensors;
}

/** Writes DIR/adapter_model.safetensors and DIR/adapter_config.json as PEFT saves them. */
export function writePeftDir(dir: string, spec: PeftSpec, tensors = randomPeftTensors(spec)): Map<string, Tensor> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'adapter_model.safetensors'), writeSafetensors([...tensors], { format: 'pt' }));
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({
    peft_type: 'LORA', task_type: 'CAUSAL_LM', r: spec.r, lora_alpha: spec.alpha, lora_dropout: 0,
    target_modules: Object.keys(spec.modules), bias: 'none', use_rslora: false, use_dora: false, fan_in_fan_out: false,
  }, null, 2));
  return tensors;
}

/** An F32 tensor's data from a GGUF file whose header has been read. */
export function ggufTensorF32(path: string, header: GgufHeader, name: string): Float32Array {
  const info = header.tensors.find((t) => t.name === name);
  if (!info || info.type !== 0) throw new Error(`${path} has no F32 tensor ${name}`);
  const count = info.dims.reduce((a, b) => a * b, 1);
  const bytes = readFileSync(path).subarray(header.dataOffset + info.offset, header.dataOffset + info.offset + count * 4);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/**
 * numpy's `x.reshape(shape).swapaxes(1, 2)` on a 4-D shape, flattened again: the reference for the q/k
 * permutation, written as the converters write it rather than as the module's index formula.
 */
export function swapAxes12(data: Float32Array, shape: readonly [number, number, number, number]): Float32Array {
  const [a, b, c, d] = shape;
  const out = new Float32Array(data.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let k = 0; k < c; k++) for (let l = 0; l < d; l++) {
    out[((i * c + k) * b + j) * d + l] = data[((i * b + j) * c + k) * d + l]!;
  }
  return out;
}
