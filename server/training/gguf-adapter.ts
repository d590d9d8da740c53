/**
 * A PEFT LoRA adapter (adapter_model.safetensors + adapter_config.json) as the `adapter.gguf` llama.cpp loads with
 * `--lora` (and Ollama with ADAPTER): GGUF v3, `general.type = adapter`, `adapter.type = lora`, `adapter.lora.alpha`,
 * F32 tensors `blk.N.<tensor>.weight.lora_a` (ggml dims [in, r]) and `.lora_b` ([r, out]). ggml's dims are PyTorch's
 * shape reversed over the same row-major data, so A and B are copied as they are; only q/k's B rows are permuted
 * for llama (qk-permute.ts).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ggufKind, metaNumber, metaString, readGgufHeader } from '../models/gguf-metadata.js';
import { gguf, writeGguf, type GgufTensorInput } from './gguf-writer.js';
import { PERMUTED_ARCHITECTURES, permuteHfToGguf } from './qk-permute.js';
import { readSafetensors, type Tensor } from './safetensors.js';

/** What the conversion needs of the base model. */
export interface BaseModelInfo {
  /** GGUF `general.architecture` (llama, qwen2, …): llama.cpp refuses an adapter of another architecture. */
  readonly architecture: string;
  readonly headCount: number;
  /** Defaults to headCount (no grouped-query attention). */
  readonly headCountKv?: number;
}

/** PEFT's target module → llama.cpp's tensor name (llama-arch.cpp's LLM_TENSOR_* names). */
export const MODULE_TENSORS: Readonly<Record<string, string>> = {
  q_proj: 'attn_q',
  k_proj: 'attn_k',
  v_proj: 'attn_v',
  o_proj: 'attn_output',
  gate_proj: 'ffn_gate',
  up_proj: 'ffn_up',
  down_proj: 'ffn_down',
};

/** PEFT's names: base_model.model.model.layers.N.(self_attn|mlp).MODULE.lora_(A|B)[.default].weight */
const PEFT_NAME = /^base_model\.model\.model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.lora_([AB])(?:\.default)?\.weight$/;

export interface AdapterConfig {
  readonly r: number;
  readonly lora_alpha: number;
  readonly target_modules?: readonly string[] | string;
  readonly use_rslora?: boolean;
  readonly use_dora?: boolean;
  readonly fan_in_fan_out?: boolean;
  readonly rank_pattern?: Record<string, number>;
  readonly alpha_pattern?: Record<string, number>;
}

export interface ConvertOptions {
  /** Write B for q/k unpermuted (tests show that it matters); never for real use. */
  readonly skipQkPermutation?: boolean;
  readonly name?: string;
}

/** The adapter as GGUF bytes. Throws an Error whose message says what in the adapter is not supported. */
export function peftToGguf(config: AdapterConfig, tensors: ReadonlyMap<string, Tensor>, base: BaseModelInfo, options: ConvertOptions = {}): Buffer {
  checkConfig(config);
  const pairs = new Map<string, { layer: number; module: string; A?: Tensor; B?: Tensor }>();
  for (const [name, tensor] of tensors) {
    const m = PEFT_NAME.exec(name);
    if (!m) throw new Error(`adapter tensor ${name} is not a LoRA A/B weight of a decoder layer (modules_to_save and embedding adapters are not supported)`);
    const [, layer, module, side] = m as unknown as [string, string, string, 'A' | 'B'];
    if (!(module in MODULE_TENSORS)) throw new Error(`adapter tensor ${name}: module ${module} has no llama.cpp tensor (supported: ${Object.keys(MODULE_TENSORS).join(', ')})`);
    const key = `${layer}.${module}`;
    const pair = pairs.get(key) ?? { layer: Number(layer), module };
    pair[side] = tensor;
    pairs.set(key, pair);
  }
  if (pairs.size === 0) throw new Error('the adapter has no LoRA tensors');
  const permute = !options.skipQkPermutation && PERMUTED_ARCHITECTURES.includes(base.architecture);
  const out: GgufTensorInput[] = [];
  const sorted = [...pairs.values()].sort((a, b) => a.layer - b.layer || Object.keys(MODULE_TENSORS).indexOf(a.module) - Object.keys(MODULE_TENSORS).indexOf(b.module));
  for (const { layer, module, A, B } of sorted) {
    const where = `layer ${layer} ${module}`;
    if (!A || !B) throw new Error(`adapter ${where} has lora_${A ? 'B' : 'A'} missing`);
    if (A.shape.length !== 2 || B.shape.length !== 2 || A.shape[0] !== B.shape[1]) {
      throw new Error(`adapter ${where}: lora_A ${JSON.stringify(A.shape)} and lora_B ${JSON.stringify(B.shape)} are not [r, in] and [out, r]`);
    }
    const [rank, inputs] = A.shape as [number, number];
    const [outputs] = B.shape as [number, number];
    let bData = B.data;
    if (permute && (module === 'q_proj' || module === 'k_proj')) {
      const heads = module === 'q_proj' ? base.headCount : (base.headCountKv ?? base.headCount);
      bData = permuteHfToGguf(B.data, outputs, rank, heads);
    }
    const tensor = `blk.${layer}.${MODULE_TENSORS[module]}.weight`;
    out.push({ name: `${tensor}.lora_a`, dims: [inputs, rank], data: A.data }, { name: `${tensor}.lora_b`, dims: [rank, outputs], data: bData });
  }
  // llama.cpp scales by alpha / r; rsLoRA scales by alpha / sqrt(r), which is the same with alpha · sqrt(r).
  const alpha = config.use_rslora ? config.lora_alpha * Math.sqrt(config.r) : config.lora_alpha;
  return writeGguf(
    [
      ['general.architecture', gguf.str(base.architecture)],
      ['general.type', gguf.str('adapter')],
      ['general.name', gguf.str(options.name ?? 'xencode-lora')],
      ['adapter.type', gguf.str('lora')],
      ['adapter.lora.alpha', gguf.f32(alpha)],
    ],
    out,
  );
}

function checkConfig(config: AdapterConfig): void {
  if (!(config.r > 0) || !(config.lora_alpha > 0)) throw new Error('adapter_config.json needs a positive r and lora_alpha');
  if (config.use_dora) throw new Error('DoRA adapters (use_dora) have no llama.cpp form; train a plain LoRA');
  if (config.fan_in_fan_out) throw new Error('fan_in_fan_out adapters (GPT-2 style Conv1D) are not supported');
  if (Object.keys(config.rank_pattern ?? {}).length > 0 || Object.keys(config.alpha_pattern ?? {}).length > 0) {
    throw new Error('rank_pattern/alpha_pattern adapters are not supported: one alpha per adapter is what GGUF stores');
  }
}

/** Architecture and head counts from a base GGUF model file. */
export async function baseModelInfo(ggufPath: string): Promise<BaseModelInfo> {
  const read = await readGgufHeader(ggufPath, '--base');
  if (!read.ok) throw new Error(read.problem);
  if (ggufKind(read.header) !== 'model') throw new Error(`${ggufPath} is an adapter, not a base model`);
  const architecture = metaString(read.header, 'general.architecture');
  const headCount = architecture && metaNumber(read.header, `${architecture}.attention.head_count`);
  if (!architecture || !headCount) throw new Error(`${ggufPath} names no general.architecture or ${architecture ?? 'ARCH'}.attention.head_count`);
  return { architecture, headCount, headCountKv: metaNumber(read.header, `${architecture}.attention.head_count_kv`) ?? headCount };
}

/** Converts DIR/adapter_model.safetensors + DIR/adapter_config.json into `out` (default DIR/adapter.gguf). */
export async function convertPeftDir(dir: string, base: BaseModelInfo, out = join(dir, 'adapter.gguf'), options: ConvertOptions = {}): Promise<string> {
  let config: AdapterConfig;
  try {
    config = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8')) as AdapterConfig;
  } catch (err) {
    throw new Error(`cannot read ${join(dir, 'adapter_config.json')}: ${(err as Error).message}`);
  }
  const weights = join(dir, 'adapter_model.safetensors');
  const { tensors } = readSafetensors(await readFile(weights), weights);
  await writeFile(out, peftToGguf(config, tensors, base, options));
  return out;
}
