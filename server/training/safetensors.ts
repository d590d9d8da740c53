/**
 * The safetensors format (Hugging Face's, what PEFT saves adapters in): an 8-byte little-endian header length, a JSON
 * header `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { string: string } }`, then the raw
 * little-endian data, offsets relative to the end of the header. Written here rather than taken from npm: no
 * maintained Node package reads and writes it, and the format is these few lines.
 */

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export interface Tensor {
  /** Row-major, as PyTorch saves it: `[out, in]` for a linear layer's weight. */
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface SafetensorsFile {
  readonly tensors: ReadonlyMap<string, Tensor & { readonly dtype: SafetensorsDtype }>;
  readonly metadata: Readonly<Record<string, string>>;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** safetensors' own limit on the header (100 MB): a larger length means the file is something else. */
const MAX_HEADER_BYTES = 100_000_000;

/** Reads every tensor as float32. Throws an Error whose message says what is wrong with the bytes. */
export function readSafetensors(bytes: Buffer, what = 'the file'): SafetensorsFile {
  if (bytes.length < 8) throw new Error(`${what} is not a safetensors file: it is only ${bytes.length} bytes long`);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) {
    throw new Error(`${what} is not a safetensors file (its header length ${headerLength} does not fit in ${bytes.length} bytes)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(bytes.toString('utf8', 8, 8 + headerLength)) as Record<string, unknown>;
  } catch {
    throw new Error(`${what} is not a safetensors file: its header is not JSON`);
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, Tensor & { dtype: SafetensorsDtype }>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES)) throw new Error(`${what}: tensor ${name} is ${dtype}; only F32, F16 and BF16 are read (save the adapter in float32)`);
    const count = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = offsets;
    const size = BYTES[dtype as SafetensorsDtype];
    if (end - begin !== count * size || dataStart + end > bytes.length) {
      throw new Error(`${what}: tensor ${name} (${dtype} ${JSON.stringify(shape)}) has data_offsets [${begin}, ${end}] that do not match its size or the file`);
    }
    tensors.set(name, { dtype: dtype as SafetensorsDtype, shape, data: decode(bytes.subarray(dataStart + begin, dataStart + end), dtype as SafetensorsDtype, count) });
  }
  return { tensors, metadata };
}

/** Writes tensors in the given order (F32 by default), 8-byte aligned as the reference writer pads its header. */
export function writeSafetensors(
  tensors: ReadonlyArray<readonly [string, Tensor & { readonly dtype?: SafetensorsDtype }]>,
  metadata: Readonly<Record<string, string>> = {},
): Buffer {
  const header: Record<string, unknown> = Object.keys(metadata).length > 0 ? { __metadata__: metadata } : {};
  const blobs: Buffer[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const dtype = tensor.dtype ?? 'F32';
    const blob = encode(tensor.data, dtype);
    header[name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + blob.length] };
    blobs.push(blob);
    offset += blob.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, ...blobs]);
}

function decode(raw: Buffer, dtype: SafetensorsDtype, count: number): Float32Array {
  const out = new Float32Array(count);
  if (dtype === 'F32') {
    for (let i = 0; i < count; i++) out[i] = raw.readFloatLE(i * 4);
  } else if (dtype === 'F16') {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(raw.readUInt16LE(i * 2));
  } else {
    // bfloat16 is the top half of a float32.
    const word = new Uint32Array(1);
    const asFloat = new Float32Array(word.buffer);
    for (let i = 0; i < count; i++) {
      word[0] = raw.readUInt16LE(i * 2) << 16;
      out[i] = asFloat[0]!;
    }
  }
  return out;
}

function encode(data: Float32Array, dtype: SafetensorsDtype): Buffer {
  const out = Buffer.alloc(data.length * BYTES[dtype]);
  const word = new Uint32Array(1);
  const asFloat = new Float32Array(word.buffer);
  for (let i = 0; i < data.length; i++) {
    if (dtype === 'F32') out.writeFloatLE(data[i]!, i * 4);
    else if (dtype === 'F16') out.writeUInt16LE(floatToHalf(data[i]!), i * 2);
    else {
      asFloat[0] = data[i]!;
      // Round to nearest even on the dropped 16 bits (NaN stays NaN: its top bits are kept).
      const bits = word[0]!;
      const rounded = Number.isNaN(data[i]) ? bits : bits + 0x7fff + ((bits >>> 16) & 1);
      out.writeUInt16LE((rounded >>> 16) & 0xffff, i * 2);
    }
  }
  return out;
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** IEEE half, round to nearest even. */
export function floatToHalf(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - exp;
    let h = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && (h & 1))) h++;
    return sign | h;
  }
  let h = sign | (exp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return h;
}
