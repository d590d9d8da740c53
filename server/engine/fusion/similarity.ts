/**
 * Normalisation, edit similarity, and the per-call pool every method starts from: normalised texts, sanitised
 * weights, the tie-break rank (higher weight, then faster, then earlier in the input) and a lazily filled
 * similarity matrix (each pair is computed at most once per call).
 */
import { distance } from 'fastest-levenshtein';
import type { FusionCandidate } from './types.js';

/** Whitespace-normalised text: runs of whitespace collapse to one space, then trimmed. */
export function normalize(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * Levenshtein distance (fastest-levenshtein), after dropping the common prefix and suffix: that leaves the
 * distance unchanged and, as candidates mostly share their start and end, makes most calls cost microseconds.
 */
export function editDistance(a: string, b: string): number {
  let start = 0;
  const shorter = Math.min(a.length, b.length);
  while (start < shorter && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a.charCodeAt(endA - 1) === b.charCodeAt(endB - 1)) {
    endA--;
    endB--;
  }
  if (endA === start) return endB - start;
  if (endB === start) return endA - start;
  return distance(a.slice(start, endA), b.slice(start, endB));
}

/** Edit similarity of two already normalised texts: 1 - levenshtein / max length; 1 for two empty strings. */
export function normalizedSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  const max = Math.max(a.length, b.length);
  if (max === 0) return 1;
  return 1 - editDistance(a, b) / max;
}

/** `1 - levenshtein(a', b') / max(|a'|, |b'|)` on whitespace-normalised text; 1 for two empty strings. */
export function similarity(a: string, b: string): number {
  return normalizedSimilarity(normalize(a), normalize(b));
}

/** Relative tolerance under which two scores count as tied (sums in a different order may differ in the last bits). */
const EPSILON = 1e-9;

/** 1 if a is better than b, -1 if worse, 0 if tied (within a relative tolerance). */
export function compareScores(a: number, b: number): number {
  const tolerance = EPSILON * Math.max(1, Math.abs(a), Math.abs(b));
  if (a > b + tolerance) return 1;
  if (b > a + tolerance) return -1;
  return 0;
}

export class Pool {
  readonly n: number;
  readonly normalized: readonly string[];
  /** Sanitised weights: non-finite or negative count as 0; if all are 0, every candidate weighs 1. */
  readonly weights: Float64Array;
  readonly totalWeight: number;
  /** rank[i]: candidate i's place in the tie-break order (0 = highest weight, then fastest, then earliest). */
  readonly rank: Int32Array;
  /** Candidate indices in tie-break order. */
  readonly order: readonly number[];
  private readonly matrix: Float64Array;

  constructor(readonly candidates: readonly FusionCandidate[]) {
    const n = candidates.length;
    this.n = n;
    this.normalized = candidates.map((c) => normalize(c.text));
    const weights = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = candidates[i]!.weight;
      weights[i] = Number.isFinite(w) && w > 0 ? w : 0;
      total += weights[i]!;
    }
    if (total <= 0) {
      weights.fill(1);
      total = n;
    }
    this.weights = weights;
    this.totalWeight = total;
    const latency = candidates.map((c) => (Number.isFinite(c.latencyMs) ? c.latencyMs : Number.POSITIVE_INFINITY));
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => weights[b]! - weights[a]! || latency[a]! - latency[b]! || a - b);
    this.order = order;
    this.rank = new Int32Array(n);
    order.forEach((index, place) => (this.rank[index] = place));
    this.matrix = new Float64Array(n * n).fill(-1);
  }

  /** Similarity between candidates i and j (normalised text), computed once. */
  sim(i: number, j: number): number {
    if (i === j) return 1;
    const n = this.n;
    let s = this.matrix[i * n + j]!;
    if (s < 0) {
      s = normalizedSimilarity(this.normalized[i]!, this.normalized[j]!);
      this.matrix[i * n + j] = s;
      this.matrix[j * n + i] = s;
    }
    return s;
  }

  /** The index with the best score; ties go to the lower rank (higher weight, then faster, then earlier). */
  best(score: ArrayLike<number>): number {
    let best = 0;
    for (let i = 1; i < this.n; i++) {
      const c = compareScores(score[i]!, score[best]!);
      if (c > 0 || (c === 0 && this.rank[i]! < this.rank[best]!)) best = i;
    }
    return best;
  }

  /** The models of the given candidates, each once, in candidate order. */
  models(indices: Iterable<number>): string[] {
    const chosen = new Uint8Array(this.n);
    for (const i of indices) chosen[i] = 1;
    const seen = new Set<string>();
    const out: string[] = [];
    for (let i = 0; i < this.n; i++) {
      if (!chosen[i]) continue;
      const model = this.candidates[i]!.model;
      if (!seen.has(model)) {
        seen.add(model);
        out.push(model);
      }
    }
    return out;
  }

  /** Models whose candidate is at least `threshold` similar to the normalised text. */
  agreeingWith(text: string, threshold: number): string[] {
    const target = normalize(text);
    const indices: number[] = [];
    for (let i = 0; i < this.n; i++) {
      if (normalizedSimilarity(this.normalized[i]!, target) >= threshold) indices.push(i);
    }
    return this.models(indices);
  }

  /** Models whose candidate is at least `threshold` similar to candidate k. */
  agreeingWithCandidate(k: number, threshold: number): string[] {
    const indices: number[] = [];
    for (let i = 0; i < this.n; i++) if (this.sim(k, i) >= threshold) indices.push(i);
    return this.models(indices);
  }

  /** exp(meanLogprob) per candidate (clamped to [0, 1]) when every candidate has a finite one; else null. */
  confidences(): Float64Array | null {
    const out = new Float64Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const lp = this.candidates[i]!.meanLogprob;
      if (lp === undefined || !Number.isFinite(lp)) return null;
      out[i] = Math.min(1, Math.max(0, Math.exp(lp)));
    }
    return out;
  }
}

/** A probability-like option: NaN/undefined take the default; the value is clamped to [0, 1]. */
export function unitOption(value: number | undefined, fallback: number): number {
  if (value === undefined || Number.isNaN(value)) return fallback;
  return Math.min(1, Math.max(0, value));
}
