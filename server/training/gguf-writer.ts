/**
 * A small GGUF v3 writer: metadata (strings, numbers, booleans, arrays of them) and F32 tensors, the data section
 * aligned to `general.alignment` (32). Enough for LoRA adapters; models come from llama.cpp's own tools.
 */

/** GGUF metadata value types (gguf.h `gguf_type`). */
export const GGUF_TYPE = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 } as const;
export type GgufScalarType = Exclude<(typeof GGUF_TYPE)[keyof typeof GGUF_TYPE], 9>;

export type GgufValue =
  | { readonly type: GgufScalarType; readonly value: number | bigint | boolean | string }
  | { readonly type: typeof GGUF_TYPE.ARRAY; readonly itemType: GgufScalarType; readonly value: ReadonlyArray<number | bigint | boolean | string> };

export interface GgufTensorInput {
  readonly name: string;
  /** ggml order: ne[0] first, the fastest-varying dimension (a row-major `[rows, cols]` matrix is `[cols, rows]`). */
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const GGML_TYPE_F32 = 0;
export const GGUF_ALIGNMENT = 32;

/** Helpers for the common value types. */
export const gguf = {
  str: (value: string): GgufValue => ({ type: GGUF_TYPE.STRING, value }),
  u32: (value: number): GgufValue => ({ type: GGUF_TYPE.U32, value }),
  f32: (value: number): GgufValue => ({ type: GGUF_TYPE.F32, value }),
  bool: (value: boolean): GgufValue => ({ type: GGUF_TYPE.BOOL, value }),
};

class Out {
  private readonly chunks: Buffer[] = [];
  length = 0;
  push(buf: Buffer): void {
    this.chunks.push(buf);
    this.length += buf.length;
  }
  num(size: number, write: (b: Buffer) => void): void {
    const b = Buffer.alloc(size);
    write(b);
    this.push(b);
  }
  u32(v: number): void {
    this.num(4, (b) => b.writeUInt32LE(v));
  }
  u64(v: number | bigint): void {
    this.num(8, (b) => b.writeBigUInt64LE(BigInt(v)));
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad(): void {
    const rest = this.length % GGUF_ALIGNMENT;
    if (rest !== 0) this.push(Buffer.alloc(GGUF_ALIGNMENT - rest));
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

function writeScalar(out: Out, type: GgufScalarType, v: number | bigint | boolean | string): void {
  switch (type) {
    case GGUF_TYPE.U8: return out.num(1, (b) => b.writeUInt8(Number(v)));
    case GGUF_TYPE.I8: return out.num(1, (b) => b.writeInt8(Number(v)));
    case GGUF_TYPE.U16: return out.num(2, (b) => b.writeUInt16LE(Number(v)));
    case GGUF_TYPE.I16: return out.num(2, (b) => b.writeInt16LE(Number(v)));
    case GGUF_TYPE.U32: return out.u32(Number(v));
    case GGUF_TYPE.I32: return out.num(4, (b) => b.writeInt32LE(Number(v)));
    case GGUF_TYPE.F32: return out.num(4, (b) => b.writeFloatLE(Number(v)));
    case GGUF_TYPE.BOOL: return out.num(1, (b) => b.writeUInt8(v ? 1 : 0));
    case GGUF_TYPE.STRING: return out.str(String(v));
    case GGUF_TYPE.U64: return out.u64(BigInt(v));
    case GGUF_TYPE.I64: return out.num(8, (b) => b.writeBigInt64LE(BigInt(v)));
    case GGUF_TYPE.F64: return out.num(8, (b) => b.writeDoubleLE(Number(v)));
  }
}

/** The whole file in memory (adapters are megabytes). `general.alignment` is written when the metadata lacks it. */
export function writeGguf(metadata: ReadonlyArray<readonly [string, GgufValue]>, tensors: readonly GgufTensorInput[]): Buffer {
  const kv = metadata.some(([k]) => k === 'general.alignment') ? metadata : [...metadata, ['general.alignment', gguf.u32(GGUF_ALIGNMENT)] as const];
  const out = new Out();
  out.u32(GGUF_MAGIC);
  out.u32(3);
  out.u64(tensors.length);
  out.u64(kv.length);
  for (const [key, value] of kv) {
    out.str(key);
    out.u32(value.type);
    if (value.type === GGUF_TYPE.ARRAY) {
      out.u32(value.itemType);
      out.u64(value.value.length);
      for (const item of value.value) writeScalar(out, value.itemType, item);
    } else writeScalar(out, value.type, value.value);
  }
  let offset = 0;
  for (const t of tensors) {
    const count = t.dims.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`tensor ${t.name}: dims ${JSON.stringify(t.dims)} hold ${count} values, data has ${t.data.length}`);
    out.str(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(GGML_TYPE_F32);
    out.u64(offset);
    offset += Math.ceil((count * 4) / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;
  }
  out.pad();
  for (const t of tensors) {
    out.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    out.pad();
  }
  return out.concat();
}
