/**
 * Reads a GGUF file's header: its metadata (key → value) and its tensor list, without reading the tensor data. Used
 * to tell a LoRA adapter from a model (`general.type`, `adapter.type`) and to read a base model's architecture and
 * attention head counts. Only the header is read, growing the read until it fits, so a multi-GB model costs MBs.
 */
import { open } from 'node:fs/promises';
import { checkGgufFile } from './gguf-file.js';

export type GgufScalar = number | bigint | boolean | string;
export type GgufMetadataValue = GgufScalar | GgufScalar[];

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml order (ne[0] first). */
  readonly dims: number[];
  /** ggml_type: 0 F32, 1 F16, … */
  readonly type: number;
  /** Relative to the start of the data section. */
  readonly offset: number;
}

export interface GgufHeader {
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufMetadataValue>;
  readonly tensors: readonly GgufTensorInfo[];
  /** Where the data section starts in the file. */
  readonly dataOffset: number;
}

class NeedMore extends Error {}

class Cursor {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  private take(n: number): number {
    if (this.pos + n > this.buf.length) throw new NeedMore();
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8 = () => this.buf.readUInt8(this.take(1));
  i8 = () => this.buf.readInt8(this.take(1));
  u16 = () => this.buf.readUInt16LE(this.take(2));
  i16 = () => this.buf.readInt16LE(this.take(2));
  u32 = () => this.buf.readUInt32LE(this.take(4));
  i32 = () => this.buf.readInt32LE(this.take(4));
  f32 = () => this.buf.readFloatLE(this.take(4));
  f64 = () => this.buf.readDoubleLE(this.take(8));
  u64 = () => this.buf.readBigUInt64LE(this.take(8));
  i64 = () => this.buf.readBigInt64LE(this.take(8));
  /** A u64 that is a count or a size: a number (a count past 2^53 means a damaged file). */
  size(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`a size of ${v} bytes`);
    return Number(v);
  }
  str(): string {
    const n = this.size();
    const at = this.take(n);
    return this.buf.toString('utf8', at, at + n);
  }
}

function scalar(c: Cursor, type: number): GgufScalar {
  switch (type) {
    case 0: return c.u8();
    case 1: return c.i8();
    case 2: return c.u16();
    case 3: return c.i16();
    case 4: return c.u32();
    case 5: return c.i32();
    case 6: return c.f32();
    case 7: return c.u8() !== 0;
    case 8: return c.str();
    case 10: return c.u64();
    case 11: return c.i64();
    case 12: return c.f64();
    default: throw new Error(`an unknown metadata type ${type}`);
  }
}

function parse(buf: Buffer): GgufHeader {
  const c = new Cursor(buf);
  c.u32(); // magic, checked by checkGgufFile
  const version = c.u32();
  const tensorCount = c.size();
  const kvCount = c.size();
  const metadata = new Map<string, GgufMetadataValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.str();
    const type = c.u32();
    if (type === 9) {
      const itemType = c.u32();
      const n = c.size();
      const items: GgufScalar[] = [];
      for (let j = 0; j < n; j++) items.push(scalar(c, itemType));
      metadata.set(key, items);
    } else metadata.set(key, scalar(c, type));
  }
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = c.str();
    const nDims = c.u32();
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.size());
    tensors.push({ name, dims, type: c.u32(), offset: c.size() });
  }
  const alignment = typeof metadata.get('general.alignment') === 'number' ? (metadata.get('general.alignment') as number) : 32;
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  return { version, metadata, tensors, dataOffset };
}

export type GgufHeaderResult = { readonly ok: true; readonly header: GgufHeader } | { readonly ok: false; readonly problem: string };

/** The header of the GGUF file at `path`; `problem` says what is wrong (not a GGUF file, damaged header). */
export async function readGgufHeader(path: string, setting = '--adapter'): Promise<GgufHeaderResult> {
  const check = await checkGgufFile(path, setting);
  if (!check.ok) return check;
  const file = await open(path, 'r');
  try {
    for (let size = Math.min(check.bytes, 1 << 20); ; size = Math.min(check.bytes, size * 4)) {
      const buf = Buffer.alloc(size);
      const { bytesRead } = await file.read(buf, 0, size, 0);
      try {
        return { ok: true, header: parse(buf.subarray(0, bytesRead)) };
      } catch (err) {
        if (!(err instanceof NeedMore)) return { ok: false, problem: `${path} is a damaged GGUF file: its header has ${(err as Error).message}` };
        if (size >= check.bytes) return { ok: false, problem: `${path} is a truncated GGUF file: its header runs past the end of the file (${check.bytes} bytes)` };
      }
    }
  } finally {
    await file.close();
  }
}

/** A metadata value as a string, or undefined. */
export function metaString(header: GgufHeader, key: string): string | undefined {
  const v = header.metadata.get(key);
  return typeof v === 'string' ? v : undefined;
}

/** A numeric metadata value as a number, or undefined. */
export function metaNumber(header: GgufHeader, key: string): number | undefined {
  const v = header.metadata.get(key);
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
}

/** What a GGUF file is: a LoRA adapter, another kind of adapter, or a model (`general.type` absent or "model"). */
export function ggufKind(header: GgufHeader): 'lora-adapter' | 'other-adapter' | 'model' {
  if (metaString(header, 'general.type') !== 'adapter') return 'model';
  return metaString(header, 'adapter.type') === 'lora' ? 'lora-adapter' : 'other-adapter';
}
