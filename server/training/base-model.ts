/**
 * What `xencode train --base MODEL` trains on: a Hugging Face model folder, a GGUF file, or the name of an Ollama
 * model, whose GGUF blob Ollama's /api/show names (FROM …) — usable when Ollama keeps it on this machine.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { checkGgufFile } from '../models/gguf-file.js';
import { baseModelInfo, type BaseModelInfo } from './gguf-adapter.js';

export type BaseModel =
  | { readonly kind: 'hf'; readonly path: string; readonly label: string }
  | { readonly kind: 'gguf'; readonly path: string; readonly label: string; readonly ollamaModel?: string };

export type BaseResolution = { readonly ok: true; readonly base: BaseModel } | { readonly ok: false; readonly problem: string };

export interface ResolveOptions {
  /** Where to ask for an Ollama model's file. */
  readonly ollamaHost: string;
  readonly fetch?: typeof fetch;
}

/** A path as users write it (relative, or under ~). */
function looksLikePath(base: string): boolean {
  return /^(\.{0,2}\/|~\/)/.test(base) || base.endsWith('.gguf') || base.includes('\\');
}

export async function resolveBase(base: string, options: ResolveOptions): Promise<BaseResolution> {
  const path = resolve(base.startsWith('~/') ? join(process.env.HOME ?? '', base.slice(2)) : base);
  if (existsSync(path)) return fromPath(path, base);
  if (looksLikePath(base)) return { ok: false, problem: `--base ${base}: no such file or folder. Give a Hugging Face model folder, a .gguf file, or an Ollama model name.` };
  return fromOllama(base, options);
}

async function fromPath(path: string, given: string): Promise<BaseResolution> {
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, 'config.json'))) return { ok: true, base: { kind: 'hf', path, label: given } };
    return { ok: false, problem: `--base ${given}: the folder has no config.json, so it is not a Hugging Face model folder. Give such a folder, or a .gguf file.` };
  }
  const gguf = await checkGgufFile(path, '--base');
  if (!gguf.ok) return { ok: false, problem: gguf.problem };
  return { ok: true, base: { kind: 'gguf', path, label: given } };
}

async function fromOllama(model: string, { ollamaHost, fetch: fetchFn = fetch }: ResolveOptions): Promise<BaseResolution> {
  let shown: { modelfile?: unknown };
  try {
    const res = await fetchFn(`${ollamaHost}/api/show`, { method: 'POST', body: JSON.stringify({ model }), signal: AbortSignal.timeout(10_000) });
    if (res.status === 404) return { ok: false, problem: `--base ${model}: Ollama at ${ollamaHost} has no model of that name (\`ollama pull ${model}\`), and it is no file or folder here.` };
    if (!res.ok) return { ok: false, problem: `--base ${model}: Ollama at ${ollamaHost} answered ${res.status} to /api/show: ${(await res.text()).slice(0, 200)}` };
    shown = (await res.json()) as { modelfile?: unknown };
  } catch (err) {
    return {
      ok: false,
      problem: `--base ${model}: not a file or folder here, and Ollama at ${ollamaHost} cannot be reached to find the model's file (${(err as Error).message}). Start \`ollama serve\` (or set OLLAMA_HOST), or give the .gguf file's path.`,
    };
  }
  const from = typeof shown.modelfile === 'string' ? /^FROM\s+(\S.*)$/m.exec(shown.modelfile)?.[1]?.trim() : undefined;
  if (!from || !from.startsWith('/'))
    return { ok: false, problem: `--base ${model}: Ollama's modelfile names no weights file (FROM ${from ?? 'nothing'}). Give the .gguf file's path instead.` };
  if (!existsSync(from))
    return {
      ok: false,
      problem: `--base ${model}: Ollama keeps its weights at ${from}, which is not on this machine (or not readable here). Train where Ollama's files are, or copy that blob here and pass its path as --base.`,
    };
  const gguf = await checkGgufFile(from, '--base');
  if (!gguf.ok) return { ok: false, problem: gguf.problem };
  return { ok: true, base: { kind: 'gguf', path: from, label: model, ollamaModel: model } };
}

/** Architecture and head counts for the adapter's GGUF: from the base GGUF, or from a Hugging Face config.json. */
export async function baseArchitecture(base: BaseModel): Promise<BaseModelInfo> {
  if (base.kind === 'gguf') return baseModelInfo(base.path);
  const file = join(base.path, 'config.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as { model_type?: string; num_attention_heads?: number; num_key_value_heads?: number };
  if (!config.model_type || !config.num_attention_heads) throw new Error(`${file} names no model_type or num_attention_heads`);
  return { architecture: config.model_type, headCount: config.num_attention_heads, headCountKv: config.num_key_value_heads ?? config.num_attention_heads };
}
