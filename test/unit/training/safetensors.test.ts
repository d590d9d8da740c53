import { describe, expect, it } from 'vitest';
import { floatToHalf, halfToFloat, readSafetensors, writeSafetensors } from '../../../server/training/safetensors.js';

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.3 + i * 1.7) * (1 + i));

describe('safetensors', () => {
  it('round-trips F32 tensors and the metadata, byte-exact values, in the layout the format specifies', () => {
    const a = values(8 * 64, 1);
    const b = values(64 * 8, 2);
    const bytes = writeSafetensors([['x.lora_A.weight', { shape: [8, 64], data: a }], ['x.lora_B.weight', { shape: [64, 8], data: b }]], { format: 'pt' });
    // The format itself: u64 header length, a JSON header, data offsets relative to its end.
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.toString('utf8', 8, 8 + headerLength));
    expect(header.__metadata__).toEqual({ format: 'pt' });
    expect(header['x.lora_B.weight']).toEqual({ dtype: 'F32', shape: [64, 8], data_offsets: [a.length * 4, (a.length + b.length) * 4] });
    expect(bytes.readFloatLE(8 + headerLength + a.length * 4 + 12)).toBe(b[3]);

    const read = readSafetensors(bytes);
    expect(read.metadata).toEqual({ format: 'pt' });
    expect([...read.tensors.keys()]).toEqual(['x.lora_A.weight', 'x.lora_B.weight']);
    expect(read.tensors.get('x.lora_A.weight')!.shape).toEqual([8, 64]);
    expect(read.tensors.get('x.lora_A.weight')!.data).toEqual(a);
    expect(read.tensors.get('x.lora_B.weight')!.data).toEqual(b);
  });

  it('reads F16 and BF16 to within their precision', () => {
    const data = values(100, 3);
    for (const [dtype, tolerance] of [['F16', 2 ** -10], ['BF16', 2 ** -7]] as const) {
      const read = readSafetensors(writeSafetensors([['t', { shape: [10, 10], data, dtype }]])).tensors.get('t')!;
      expect(read.dtype).toBe(dtype);
      for (let i = 0; i < data.length; i++) expect(Math.abs(read.data[i]! - data[i]!)).toBeLessThanOrEqual(Math.abs(data[i]!) * tolerance + 1e-7);
    }
  });

  it('converts halves exactly where they are exact (normal, subnormal, infinity)', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 2 ** -24, -(2 ** -20), 3.140625]) expect(halfToFloat(floatToHalf(v))).toBe(v);
    expect(halfToFloat(floatToHalf(1e6))).toBe(Number.POSITIVE_INFINITY);
    expect(halfToFloat(0x3c00)).toBe(1);
  });

  it('says what is wrong with a file that is not safetensors', () => {
    expect(() => readSafetensors(Buffer.from('GGUF'), 'a.bin')).toThrow(/a.bin is not a safetensors file: it is only 4 bytes/);
    const big = Buffer.alloc(16);
    big.writeBigUInt64LE(1000n);
    expect(() => readSafetensors(big)).toThrow(/header length 1000 does not fit/);
    const json = Buffer.from('{"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}');
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    expect(() => readSafetensors(Buffer.concat([length, json, Buffer.alloc(8)]))).toThrow(/tensor t is I64; only F32, F16 and BF16/);
  });
});
