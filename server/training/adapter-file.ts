/**
 * The adapter file `xencode adapter import` is given: a GGUF LoRA adapter, or a folder holding `adapter.gguf` (what
 * `xencode train --out DIR` writes). Every refusal says what the file is and what to pass instead.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ggufKind, metaString, readGgufHeader } from '../models/gguf-metadata.js';

export interface AdapterFile {
  readonly path: string;
  readonly bytes: number;
  /** general.architecture (llama, qwen2, …): the base model's must be the same. */
  readonly architecture: string | undefined;
}

export type AdapterCheck = { readonly ok: true; readonly adapter: AdapterFile } | { readonly ok: false; readonly problem: string };

export async function checkAdapterFile(given: string): Promise<AdapterCheck> {
  let path = given;
  try {
    if ((await stat(given)).isDirectory()) {
      path = join(given, 'adapter.gguf');
      const inside = await stat(path).catch(() => undefined);
      if (!inside) {
        const peft = await stat(join(given, 'adapter_model.safetensors')).catch(() => undefined);
        return {
          ok: false,
          problem: peft
            ? `${given} holds a PEFT adapter (adapter_model.safetensors) but no adapter.gguf: write it with \`xencode adapter convert --base BASE --adapter ${given}\`, then import again.`
            : `${given} has no adapter.gguf: pass the folder \`xencode train --out\` wrote, or the adapter's .gguf file, to --adapter.`,
        };
      }
    }
  } catch {
    /* a missing path is worded by readGgufHeader */
  }
  const read = await readGgufHeader(path, '--adapter');
  if (!read.ok) return { ok: false, problem: read.problem.replace('model file', 'file') };
  const kind = ggufKind(read.header);
  if (kind === 'model') {
    const name = metaString(read.header, 'general.name');
    return {
      ok: false,
      problem: `${path} is a model${name ? ` (${name})` : ''}, not a LoRA adapter (its general.type is "${metaString(read.header, 'general.type') ?? 'model'}"): pass the adapter.gguf \`xencode train\` wrote as --adapter, and the model it adapts as --base.`,
    };
  }
  if (kind === 'other-adapter') {
    return { ok: false, problem: `${path} is a "${metaString(read.header, 'adapter.type') ?? '?'}" adapter; only LoRA adapters (adapter.type "lora") can be served.` };
  }
  return { ok: true, adapter: { path, bytes: (await stat(path)).size, architecture: metaString(read.header, 'general.architecture') } };
}

/** 'sha256:HEX' of a file, read as a stream. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}
