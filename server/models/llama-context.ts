/**
 * Fitting a fill-in-the-middle request into a llama-server slot's context: the prefix is cut from the front and the
 * suffix from the back, at line boundaries, so that prompt + n_predict fit (a request that does not fit fails with
 * "exceeds the available context size"; /infill's own cuts follow the batch size, not the context).
 */

/** Tokens the FIM template adds around the parts (BOS, the FIM tokens, a file separator, a space prefix each). */
export const TEMPLATE_TOKENS = 16;

/** How many tokens a text takes, and how many of its UTF-8 bytes its first n tokens cover. */
export interface TokenMap {
  readonly count: number;
  bytesOfFirst(n: number): number;
}

/**
 * A bound that holds for every llama.cpp tokenizer with byte fallback: at most one token per UTF-8 byte, plus one
 * for the space some tokenizers put in front. (The tiny test models' vocabulary is bytes: it is nearly exact.)
 */
export function byteBound(text: string): TokenMap {
  const bytes = Buffer.byteLength(text);
  return { count: bytes === 0 ? 0 : bytes + 1, bytesOfFirst: (n) => Math.min(bytes, Math.max(0, n - 1)) };
}

/** The exact map from llama-server's /tokenize `with_pieces` answer (a piece is a string or, mid-character, bytes). */
export function pieceMap(text: string, pieces: readonly (string | readonly number[])[]): TokenMap {
  const ends: number[] = [];
  let total = 0;
  for (const piece of pieces) {
    total += typeof piece === 'string' ? Buffer.byteLength(piece) : piece.length;
    ends.push(total);
  }
  // What the tokenizer added (a leading space) is counted against the first token.
  const added = Math.max(0, total - Buffer.byteLength(text));
  return {
    count: pieces.length,
    bytesOfFirst: (n) => (n <= 0 ? 0 : Math.max(0, ends[Math.min(n, ends.length) - 1]! - added)),
  };
}

/** The text without its first tokens so that at most `budget` remain, cut at the start of a line where there is one. */
export function cutFront(text: string, map: TokenMap, budget: number): string {
  if (map.count <= budget) return text;
  if (budget <= 0) return '';
  const buf = Buffer.from(text);
  const least = map.bytesOfFirst(map.count - budget);
  // The first line start at or after `least` bytes.
  const newline = least === 0 ? -1 : buf.indexOf(0x0a, least - 1);
  const cut = newline >= 0 ? newline + 1 : charBoundary(buf, least);
  return buf.subarray(cut).toString();
}

/** The text's first `budget` tokens at most, cut at the end of a line where there is one. */
export function cutBack(text: string, map: TokenMap, budget: number): string {
  if (map.count <= budget) return text;
  if (budget <= 0) return '';
  const buf = Buffer.from(text);
  const most = map.bytesOfFirst(budget);
  const newline = most === 0 ? -1 : buf.lastIndexOf(0x0a, most - 1);
  const cut = newline >= 0 ? newline + 1 : charBoundary(buf, most);
  return buf.subarray(0, cut).toString();
}

/** The nearest offset at or after `at` that does not split a UTF-8 character. */
function charBoundary(buf: Buffer, at: number): number {
  let i = Math.min(at, buf.length);
  while (i < buf.length && (buf[i]! & 0xc0) === 0x80) i++;
  return i;
}

export interface FitBudget {
  /** The slot's context (llama-server /props default_generation_settings.n_ctx). */
  readonly contextTokens: number;
  readonly maxTokens: number;
}

/** Tokens left for prefix + suffix (+ extra context); never below a small floor, so a request is still made. */
export function partsBudget({ contextTokens, maxTokens }: FitBudget): number {
  return Math.max(16, contextTokens - maxTokens - TEMPLATE_TOKENS);
}

/**
 * Prefix and suffix cut to `budget` tokens together: the suffix keeps at most a quarter (what follows the cursor
 * matters less than what precedes it), the prefix the rest.
 */
export function fitParts(prefix: string, suffix: string, maps: { prefix: TokenMap; suffix: TokenMap }, budget: number): { prefix: string; suffix: string } {
  if (maps.prefix.count + maps.suffix.count <= budget) return { prefix, suffix };
  const suffixBudget = Math.min(maps.suffix.count, Math.floor(budget / 4));
  const prefixBudget = budget - suffixBudget;
  // A short prefix leaves its share to the suffix.
  const suffixShare = maps.prefix.count < prefixBudget ? budget - maps.prefix.count : suffixBudget;
  return { prefix: cutFront(prefix, maps.prefix, prefixBudget), suffix: cutBack(suffix, maps.suffix, suffixShare) };
}
