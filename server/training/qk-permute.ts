/**
 * Hugging Face's llama q_proj/k_proj rows are ordered for rotate-half RoPE (per head: the first halves of the rotary
 * pairs, then the second halves); GGUF's attn_q/attn_k rows are ordered for llama.cpp's adjacent-pair RoPE. llama.cpp's
 * convert_hf_to_gguf.py permutes q/k when it converts a llama model, and transformers undoes it when it loads a GGUF.
 * A LoRA's B matrix is the output side of ΔW = B·A, so its rows must be permuted the same way before it is written
 * into a GGUF adapter; A (the input side) and v/o/MLP weights keep their order.
 */

/** GGUF architectures whose q/k weights llama.cpp's converter permutes (LlamaModel.permute). */
export const PERMUTED_ARCHITECTURES: readonly string[] = ['llama'];

/**
 * Rows of a row-major `[rows, cols]` matrix from Hugging Face order to GGUF order, per head of `rows / heads` rows:
 * GGUF row `h·d + 2i + j` is HF row `h·d + j·d/2 + i` (convert_hf_to_gguf.py: reshape(heads, 2, d/2, cols),
 * swapaxes(1, 2)). `heads` is the head count for q, the KV head count for k.
 */
export function permuteHfToGguf(data: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  if (rows % heads !== 0 || (rows / heads) % 2 !== 0) {
    throw new Error(`cannot permute ${rows} rows for ${heads} heads: each head needs an even number of rows`);
  }
  const headDim = rows / heads;
  const half = headDim / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const from = (h * headDim + j * half + i) * cols;
        const to = (h * headDim + 2 * i + j) * cols;
        out.set(data.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}
