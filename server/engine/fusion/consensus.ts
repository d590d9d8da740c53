/**
 * CONSENSUS: answer only what enough of the ensemble agrees on; abstain otherwise.
 *
 * 1. Agreement. Candidate c's weighted agreement is `Σ_{m: sim(c, y_m) ≥ agreeThreshold} w_m / Σ w` (c counts
 *    itself). The candidate with the highest agreement (ties by weight, then speed) is answered whole when its
 *    agreement reaches `threshold` (rule 'agreement').
 * 2. Prefix. Otherwise the longest token prefix shared by a weighted majority: candidates weighing strictly more
 *    than `prefixMajority` (0.5) of the total, and at least two of them (one heavy candidate alone shares nothing).
 *    Texts are compared token by token, whitespace-normalised (like `normalize`: any run of whitespace between
 *    tokens matches any other, leading whitespace is ignored), so the prefix always ends after a complete token,
 *    never mid-identifier or mid-number. The cut prefers a line end: the last line end within the shared tokens
 *    (the end of the representative's text counts), then earlier line ends, then the whole shared part. A cut
 *    must hold at least one word, number or string (not only punctuation) and pass `syntaxOk` when given; the
 *    first cut that does is answered (rule 'prefix') with the representative's original formatting (the majority
 *    member from the highest-weight, then fastest model).
 * 3. Otherwise null: abstaining is a feature.
 */
import { Pool, compareScores, unitOption } from './similarity.js';
import { isSubstantive, lex, type Token } from './tokens.js';
import {
  DEFAULT_AGREE_THRESHOLD,
  DEFAULT_CONSENSUS_THRESHOLD,
  DEFAULT_PREFIX_MAJORITY,
  type ConsensusOptions,
  type FusionCandidate,
  type FusionResult,
} from './types.js';

export function consensus(candidates: readonly FusionCandidate[], options: ConsensusOptions = {}): FusionResult | null {
  const n = candidates.length;
  if (n === 0) return null;
  if (n === 1) return { text: candidates[0]!.text, method: 'consensus', rule: 'single', agreeing: [candidates[0]!.model], score: 1 };
  const pool = new Pool(candidates);
  const agreeThreshold = unitOption(options.agreeThreshold, DEFAULT_AGREE_THRESHOLD);
  const threshold = unitOption(options.threshold, DEFAULT_CONSENSUS_THRESHOLD);
  const majority = unitOption(options.prefixMajority, DEFAULT_PREFIX_MAJORITY);

  const agreement = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < n; j++) if (pool.sim(i, j) >= agreeThreshold) sum += pool.weights[j]!;
    agreement[i] = sum / pool.totalWeight;
  }
  const best = pool.best(agreement);
  if (compareScores(agreement[best]!, threshold) >= 0) {
    return {
      text: candidates[best]!.text,
      method: 'consensus',
      rule: 'agreement',
      agreeing: pool.agreeingWithCandidate(best, agreeThreshold),
      score: agreement[best]!,
    };
  }
  return sharedPrefix(pool, majority, options.syntaxOk);
}

/** Whitespace-normalised identity of token k: its text, and whether whitespace separates it from the one before. */
function keyOf(tokens: readonly Token[], k: number): string {
  const token = tokens[k]!;
  return k > 0 && token.ws !== '' ? ' ' + token.text : token.text;
}

interface Bucket {
  readonly members: number[];
  weight: number;
  bestRank: number;
}

function sharedPrefix(pool: Pool, majority: number, syntaxOk: ((text: string) => boolean) | undefined): FusionResult | null {
  const { candidates, n } = pool;
  const tokens = candidates.map((c) => lex(c.text).tokens);
  const needed = majority * pool.totalWeight;

  // Walk down the token trie: the group sharing the first `depth` tokens narrows as the prefix grows.
  let members = Array.from({ length: n }, (_, i) => i);
  let depth = 0;
  for (;;) {
    const buckets = new Map<string, Bucket>();
    for (const m of members) {
      if (depth >= tokens[m]!.length) continue;
      const key = keyOf(tokens[m]!, depth);
      let bucket = buckets.get(key);
      if (bucket === undefined) buckets.set(key, (bucket = { members: [], weight: 0, bestRank: pool.rank[m]! }));
      bucket.members.push(m);
      bucket.weight += pool.weights[m]!;
      bucket.bestRank = Math.min(bucket.bestRank, pool.rank[m]!);
    }
    // With prefixMajority ≥ 0.5 at most one bucket qualifies; below that, the heaviest (then best-ranked) one.
    let next: Bucket | undefined;
    for (const bucket of buckets.values()) {
      if (bucket.members.length < 2 || compareScores(bucket.weight, needed) <= 0) continue;
      const byWeight = next === undefined ? 1 : compareScores(bucket.weight, next.weight);
      if (byWeight > 0 || (byWeight === 0 && bucket.bestRank < next!.bestRank)) next = bucket;
    }
    if (next === undefined) break;
    members = next.members;
    depth++;
  }
  if (depth === 0) return null;

  let representative = members[0]!;
  for (const m of members) if (pool.rank[m]! < pool.rank[representative]!) representative = m;
  const repTokens = tokens[representative]!;
  const repText = candidates[representative]!.text;

  // Cut points (token counts), most preferred first: line ends from the last one back, then the whole shared part.
  const cuts: number[] = [];
  for (let j = depth; j >= 1; j--) {
    if (j === repTokens.length || /[\n\r]/.test(repTokens[j]!.ws)) cuts.push(j);
  }
  if (cuts[0] !== depth) cuts.push(depth);

  for (const cut of cuts) {
    if (!repTokens.slice(0, cut).some(isSubstantive)) continue;
    const text = repText.slice(0, repTokens[cut - 1]!.end);
    if (syntaxOk !== undefined && !syntaxOk(text)) continue;
    const sharers: number[] = [];
    let weight = 0;
    for (let i = 0; i < n; i++) {
      if (startsWithTokens(tokens[i]!, repTokens, cut)) {
        sharers.push(i);
        weight += pool.weights[i]!;
      }
    }
    return { text, method: 'consensus', rule: 'prefix', agreeing: pool.models(sharers), score: weight / pool.totalWeight };
  }
  return null;
}

function startsWithTokens(tokens: readonly Token[], prefix: readonly Token[], count: number): boolean {
  if (tokens.length < count) return false;
  for (let k = 0; k < count; k++) if (keyOf(tokens, k) !== keyOf(prefix, k)) return false;
  return true;
}
