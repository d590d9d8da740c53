import { describe, expect, it } from 'vitest';
import { permuteHfToGguf } from '../../../server/training/qk-permute.js';
import { swapAxes12 } from '../../support/peft-adapter.js';

// The reference is written independently of the module: transformers' reverse_permute_weights (GGUF → HF) as the
// numpy it is, reshape(heads, d/2, 2, cols).swapaxes(1, 2).reshape(rows, cols), done with generic index arithmetic.
const ggufToHf = (w: Float32Array, rows: number, cols: number, heads: number) => swapAxes12(w, [heads, rows / heads / 2, 2, cols]);

const random = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453 % 1);

/** llama.cpp's RoPE (GGML_ROPE_TYPE_NORM): rotates adjacent pairs (2i, 2i+1) of each head. */
function ropeAdjacent(x: Float32Array, headDim: number, pos: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let h = 0; h < x.length / headDim; h++) for (let i = 0; i < headDim / 2; i++) {
    const theta = pos * 10000 ** (-(2 * i) / headDim);
    const [p, q] = [h * headDim + 2 * i, h * headDim + 2 * i + 1];
    out[p] = x[p]! * Math.cos(theta) - x[q]! * Math.sin(theta);
    out[q] = x[p]! * Math.sin(theta) + x[q]! * Math.cos(theta);
  }
  return out;
}
/** Hugging Face's RoPE (rotate_half): rotates (i, i + d/2) of each head. */
function ropeHalves(x: Float32Array, headDim: number, pos: number): Float32Array {
  const out = new Float32Array(x.length);
  const half = headDim / 2;
  for (let h = 0; h < x.length / headDim; h++) for (let i = 0; i < half; i++) {
    const theta = pos * 10000 ** (-(2 * i) / headDim);
    const [p, q] = [h * headDim + i, h * headDim + i + half];
    out[p] = x[p]! * Math.cos(theta) - x[q]! * Math.sin(theta);
    out[q] = x[p]! * Math.sin(theta) + x[q]! * Math.cos(theta);
  }
  return out;
}
const matVec = (w: Float32Array, rows: number, cols: number, x: Float32Array) =>
  Float32Array.from({ length: rows }, (_, r) => x.reduce((s, v, c) => s + w[r * cols + c]! * v, 0));

describe('q/k permutation (Hugging Face → GGUF)', () => {
  it('undoes what transformers does to a GGUF q weight, and is not the identity', () => {
    for (const [rows, cols, heads] of [[64, 64, 4], [32, 64, 2], [64, 4, 8]] as const) {
      const gguf = random(rows * cols, rows + heads);
      const hf = ggufToHf(gguf, rows, cols, heads);
      expect(hf).not.toEqual(gguf);
      expect(permuteHfToGguf(hf, rows, cols, heads)).toEqual(gguf);
    }
  });

  it('makes llama.cpp\'s adjacent-pair RoPE of the permuted projection equal HF\'s rotate-half RoPE of the original', () => {
    const [rows, cols, heads] = [64, 16, 4];
    const wHf = random(rows * cols, 5);
    const x = random(cols, 9);
    const wGguf = permuteHfToGguf(wHf, rows, cols, heads);
    for (const pos of [1, 7]) {
      const viaHf = permuteHfToGguf(ropeHalves(matVec(wHf, rows, cols, x), rows / heads, pos), rows, 1, heads);
      const viaGguf = ropeAdjacent(matVec(wGguf, rows, cols, x), rows / heads, pos);
      for (let i = 0; i < rows; i++) expect(viaGguf[i]).toBeCloseTo(viaHf[i]!, 5);
      // Without the permutation the rotations disagree.
      const unpermuted = ropeAdjacent(matVec(wHf, rows, cols, x), rows / heads, pos);
      expect(Math.max(...unpermuted.map((v, i) => Math.abs(v - viaHf[i]!)))).toBeGreaterThan(1e-3);
    }
  });

  it('refuses a row count that does not split into heads of even size', () => {
    expect(() => permuteHfToGguf(new Float32Array(30), 30, 1, 4)).toThrow(/30 rows for 4 heads/);
  });
});
