/**
 * ROVER (Fiscus, 1997) over code tokens: align the candidates' lexical tokens into slots, vote per slot, and
 * reassemble the winners with their original spacing.
 *
 * - Backbone: the best whole candidate, `options.base` or else WEIGHTED's pick. A base that is not one of the
 *   candidates' texts (a consensus prefix) is returned unchanged: fusing whole texts would undo that decision.
 * - Alignment (progressive): the backbone's tokens make the first slots; every other candidate, in tie-break order
 *   (weight, then speed), is aligned to the growing alignment by edit-distance dynamic programming. A token
 *   matches a slot for free when the slot already holds the same token (from any candidate); substituting costs 1
 *   (1.5 across token kinds, so punctuation lines up with punctuation); an insertion (a new slot, empty for
 *   everyone aligned before) or a deletion (an empty entry in an existing slot) costs 1. Equal-cost paths put the
 *   gaps as late as possible (tokens match early: completions share their start, not their end); tokens that match
 *   at the very start or end are aligned directly, the programme runs on the middle, and a middle longer than
 *   66 tokens on both sides is aligned within a band of ±32 tokens around its diagonal (bounded time; exact
 *   unless one side inserts a block of more than about 64 tokens there).
 * - Vote per slot: each distinct token, and the empty token, scores
 *   `alpha · (Σ weights of the candidates holding it / Σ w) + (1 - alpha) · (mean confidence of those)`, where a
 *   candidate's confidence is exp(meanLogprob); when some candidate has no meanLogprob, the frequency term alone.
 *   Ties go to the option held by the earliest candidate in alignment order (the backbone first). An empty winner
 *   emits nothing.
 * - Reassembly: each winning token with the whitespace it had in one of its holders: the best-ranked holder whose
 *   own previous token is the token emitted just before (so its spacing fits), else the best-ranked holder; a
 *   space is added where two word tokens would otherwise glue. The first emitted token takes the leading
 *   whitespace of its holder's text; the backbone's trailing whitespace ends the text.
 * - The fused text is kept only if `parsesNoWorse(fused, backbone)` (when given); otherwise the best whole candidate
 *   is returned with rule 'fallback'. Rule 'backbone' when the fused text is the backbone's own text.
 */
import { Pool, unitOption } from './similarity.js';
import { lex, wouldGlue, type Lexed, type TokenKind } from './tokens.js';
import { DEFAULT_AGREE_THRESHOLD, DEFAULT_ROVER_ALPHA, type FusionCandidate, type FusionResult, type RoverOptions } from './types.js';
import { weighted } from './weighted.js';

/** Costs, doubled to stay integral (a token the slot already holds matches at 0). */
const SUBSTITUTE = 2;
const SUBSTITUTE_OTHER_KIND = 3;
const GAP = 2;
/**
 * Half-width, in tokens, of the band a large middle is aligned in (beyond 2·BAND + 2 slots and tokens): the path
 * may stray that far from the diagonal, enough for a block of about 2·BAND tokens that only one side has.
 */
const BAND = 32;
const UNREACHABLE = 0x3fffffff;

const KIND_INDEX: Record<TokenKind, number> = { word: 0, number: 1, string: 2, comment: 3, punct: 4 };
const KIND_BIT: Record<TokenKind, number> = { word: 1, number: 2, string: 4, comment: 8, punct: 16 };

/** Slot s: for each candidate, the index of its token in this slot or -1 (empty). */
interface Slot {
  readonly cells: Int32Array;
  /** Distinct interned token ids present in the slot. */
  readonly ids: number[];
  kinds: number;
}

export function rover(candidates: readonly FusionCandidate[], options: RoverOptions = {}): FusionResult | null {
  const n = candidates.length;
  if (n === 0) return null;
  const agreeThreshold = unitOption(options.agreeThreshold, DEFAULT_AGREE_THRESHOLD);
  const base = options.base ?? weighted(candidates, { confidenceWeight: options.confidenceWeight, agreeThreshold });
  if (base === null) return null;
  if (n === 1) {
    if (base.text !== candidates[0]!.text) return base;
    return { text: candidates[0]!.text, method: 'rover', rule: 'single', agreeing: [candidates[0]!.model], score: 1 };
  }
  const pool = new Pool(candidates);

  let backbone = -1;
  for (const i of pool.order) {
    if (candidates[i]!.text === base.text) {
      backbone = i;
      break;
    }
  }
  if (backbone < 0) return base;
  const alpha = unitOption(options.alpha, DEFAULT_ROVER_ALPHA);

  const lexed = candidates.map((c) => lex(c.text));
  const interned = new Map<string, number>();
  const ids = lexed.map((l) =>
    l.tokens.map((t) => {
      let id = interned.get(t.text);
      if (id === undefined) interned.set(t.text, (id = interned.size));
      return id;
    }),
  );

  // Alignment order: the backbone, then the others by weight, then speed.
  const alignOrder = [backbone, ...pool.order.filter((i) => i !== backbone)];
  const alignRank = new Int32Array(n);
  alignOrder.forEach((index, place) => (alignRank[index] = place));

  let slots: Slot[] = lexed[backbone]!.tokens.map((token, k) => {
    const cells = new Int32Array(n).fill(-1);
    cells[backbone] = k;
    return { cells, ids: [ids[backbone]![k]!], kinds: KIND_BIT[token.kind] };
  });
  for (let a = 1; a < n; a++) slots = align(slots, alignOrder[a]!, lexed, ids, n, interned.size);

  const confidence = pool.confidences();
  const fused = vote(slots, { lexed, ids, pool, alignRank, alpha, confidence, backbone });
  const backboneText = candidates[backbone]!.text;
  if (fused.text.trim() === '') return fallback(base);
  if (fused.text !== backboneText && options.parsesNoWorse !== undefined && !options.parsesNoWorse(fused.text, backboneText)) {
    return fallback(base);
  }
  return {
    text: fused.text,
    method: 'rover',
    rule: fused.text === backboneText ? 'backbone' : 'fused',
    agreeing: pool.agreeingWith(fused.text, agreeThreshold),
    score: fused.score,
  };
}

function fallback(base: FusionResult): FusionResult {
  return { text: base.text, method: 'rover', rule: 'fallback', agreeing: base.agreeing, score: base.score };
}

function holds(slot: Slot, id: number): boolean {
  const present = slot.ids;
  for (let k = 0; k < present.length; k++) if (present[k] === id) return true;
  return false;
}

/**
 * Aligns candidate c's tokens to the slots (edit distance), returning the new slot list. Leading and trailing
 * tokens that match their slot are aligned directly (a free match at either end is part of an optimal alignment);
 * the dynamic programme runs on what is left between them.
 */
function align(
  slots: readonly Slot[],
  c: number,
  lexed: readonly Lexed[],
  ids: readonly (readonly number[])[],
  n: number,
  idCount: number,
): Slot[] {
  const tokens = lexed[c]!.tokens;
  const tokenIds = ids[c]!;
  const slotCount = slots.length;
  const m = tokens.length;
  let head = 0;
  while (head < slotCount && head < m && holds(slots[head]!, tokenIds[head]!)) head++;
  let tail = 0;
  while (tail < slotCount - head && tail < m - head && holds(slots[slotCount - 1 - tail]!, tokenIds[m - 1 - tail]!)) tail++;

  // The middle: slots [head, slotCount - tail) against tokens [head, m - tail).
  const rows = slotCount - head - tail + 1;
  const cols = m - head - tail + 1;
  const middleIds = new Int32Array(cols - 1);
  const middleKinds = new Int32Array(cols - 1);
  for (let j = 0; j < cols - 1; j++) {
    middleIds[j] = tokenIds[head + j]!;
    middleKinds[j] = KIND_INDEX[tokens[head + j]!.kind];
  }
  const cost = fillCosts(rows, cols, head, slots, middleIds, middleKinds, idCount);

  // Trace back from the end, taking gaps before matches on ties: the gaps end up as late as possible.
  const path: number[] = []; // 0 diagonal, 1 deletion (c empty in an existing slot), 2 insertion (new slot)
  for (let t = 0; t < tail; t++) path.push(0);
  let i = rows - 1;
  let j = cols - 1;
  while (i > 0 || j > 0) {
    const here = cost[i * cols + j]!;
    if (i > 0 && here === cost[(i - 1) * cols + j]! + GAP) {
      path.push(1);
      i--;
    } else if (j > 0 && here === cost[i * cols + j - 1]! + GAP) {
      path.push(2);
      j--;
    } else {
      path.push(0);
      i--;
      j--;
    }
  }
  for (let t = 0; t < head; t++) path.push(0);

  const next: Slot[] = [];
  i = 0;
  j = 0;
  for (let p = path.length - 1; p >= 0; p--) {
    const step = path[p]!;
    if (step === 2) {
      const cells = new Int32Array(n).fill(-1);
      cells[c] = j;
      next.push({ cells, ids: [tokenIds[j]!], kinds: KIND_BIT[tokens[j]!.kind] });
      j++;
      continue;
    }
    const slot = slots[i]!;
    if (step === 0) {
      slot.cells[c] = j;
      const id = tokenIds[j]!;
      if (!holds(slot, id)) slot.ids.push(id);
      slot.kinds |= KIND_BIT[tokens[j]!.kind];
      j++;
    }
    next.push(slot);
    i++;
  }
  return next;
}

/**
 * The edit-distance table of the middle part: cost[i·cols + j] is the cheapest alignment of slots
 * [head, head + i) with the middle's first j tokens (within the band, when the middle is large). The inner loop is kept free of branches: with unrelated
 * candidates, branches on token equality mispredict about half the time.
 */
function fillCosts(
  rows: number,
  cols: number,
  head: number,
  slots: readonly Slot[],
  middleIds: Int32Array,
  middleKinds: Int32Array,
  idCount: number,
): Int32Array {
  const gap = GAP;
  const kindSaving = SUBSTITUTE_OTHER_KIND - SUBSTITUTE;
  const cost = new Int32Array(rows * cols);
  // A large middle is filled only in a band around its diagonal; the cells outside stay unreachable.
  const banded = rows - 1 > 2 * BAND + 2 && cols - 1 > 2 * BAND + 2;
  const ratio = banded ? (cols - 1) / (rows - 1) : 0;
  const stride = Math.ceil(ratio);
  if (banded) cost.fill(UNREACHABLE);
  // stamp[id] === i: slot i holds token id.
  const stamp = new Int32Array(idCount).fill(-1);
  for (let j = 0; j < cols; j++) cost[j] = j * gap;
  for (let i = 1; i < rows; i++) {
    const slot = slots[head + i - 1]!;
    const kinds = slot.kinds;
    for (const id of slot.ids) stamp[id] = i;
    const row = i * cols;
    const above = row - cols;
    cost[row] = i * gap;
    // Row i's band reaches back to row i - 1's centre and forward past its own, so consecutive bands connect.
    // (`| 0` keeps the loop counter a small integer for the compiler.)
    const lo = (banded ? Math.max(1, Math.floor((i - 1) * ratio) - BAND) : 1) | 0;
    const hi = (banded ? Math.min(cols - 1, Math.floor(i * ratio) + stride + BAND) : cols - 1) | 0;
    let left = cost[row + lo - 1]!;
    for (let j = lo; j <= hi; j++) {
      // 0 when the slot holds the token, else by kind; as arithmetic, not branches.
      const miss = Math.min(1, Math.abs(stamp[middleIds[j - 1]!]! - i));
      const substitution = miss * (SUBSTITUTE_OTHER_KIND - ((kinds >>> middleKinds[j - 1]!) & 1) * kindSaving);
      left = Math.min(cost[above + j - 1]! + substitution, cost[above + j]! + gap, left + gap);
      cost[row + j] = left;
    }
  }
  return cost;
}

interface VoteContext {
  readonly lexed: readonly Lexed[];
  readonly ids: readonly (readonly number[])[];
  readonly pool: Pool;
  readonly alignRank: Int32Array;
  readonly alpha: number;
  readonly confidence: Float64Array | null;
  readonly backbone: number;
}

const EMPTY = -1;
const SCORE_TOLERANCE = 1e-9;

function vote(slots: readonly Slot[], context: VoteContext): { text: string; score: number } {
  const { lexed, ids, pool, alignRank, alpha, confidence } = context;
  const n = pool.n;
  const pieces: string[] = [];
  let lastText = '';
  let lastSlot = -1;
  let lastId = EMPTY;
  let scoreSum = 0;
  // The options of one slot (at most n + 1: each candidate's token and the empty token), reused slot to slot.
  const optionId = new Int32Array(n + 1);
  const optionWeight = new Float64Array(n + 1);
  const optionConfidence = new Float64Array(n + 1);
  const optionCount = new Int32Array(n + 1);
  /** The option's holder earliest in alignment order. */
  const optionHolder = new Int32Array(n + 1);
  for (let s = 0; s < slots.length; s++) {
    const slot = slots[s]!;
    let options = 0;
    for (let c = 0; c < n; c++) {
      const k = slot.cells[c]!;
      const id = k < 0 ? EMPTY : ids[c]![k]!;
      let o = 0;
      while (o < options && optionId[o] !== id) o++;
      if (o === options) {
        options++;
        optionId[o] = id;
        optionWeight[o] = 0;
        optionConfidence[o] = 0;
        optionCount[o] = 0;
        optionHolder[o] = c;
      }
      optionWeight[o] += pool.weights[c]!;
      optionCount[o]++;
      if (confidence !== null) optionConfidence[o] += confidence[c]!;
      if (alignRank[c]! < alignRank[optionHolder[o]!]!) optionHolder[o] = c;
    }
    let winner = -1;
    let winnerScore = -1;
    for (let o = 0; o < options; o++) {
      const frequency = optionWeight[o]! / pool.totalWeight;
      const score = confidence === null ? frequency : alpha * frequency + (1 - alpha) * (optionConfidence[o]! / optionCount[o]!);
      if (
        winner < 0 ||
        score > winnerScore + SCORE_TOLERANCE ||
        (score >= winnerScore - SCORE_TOLERANCE && alignRank[optionHolder[o]!]! < alignRank[optionHolder[winner]!]!)
      ) {
        winner = o;
        winnerScore = score;
      }
    }
    scoreSum += winnerScore;
    const winnerId = optionId[winner]!;
    if (winnerId === EMPTY) continue;

    // Spacing: from a holder whose own previous token is the one just emitted (its spacing fits), else from the
    // best-ranked holder.
    let source = -1;
    for (let c = 0; c < n; c++) {
      const k = slot.cells[c]!;
      if (k < 0 || ids[c]![k]! !== winnerId || (source >= 0 && alignRank[c]! >= alignRank[source]!)) continue;
      const follows = lastSlot < 0 ? k === 0 : k > 0 && slots[lastSlot]!.cells[c] === k - 1 && ids[c]![k - 1] === lastId;
      if (follows) source = c;
    }
    if (source < 0) source = optionHolder[winner]!;
    const sourceTokens = lexed[source]!.tokens;
    const token = sourceTokens[slot.cells[source]!]!;
    // The first token keeps its source's leading whitespace (how that candidate's text began).
    let ws = lastSlot < 0 ? sourceTokens[0]!.ws : token.ws;
    if (ws === '' && wouldGlue(lastText, token.text)) ws = ' ';
    pieces.push(ws, token.text);
    lastText = token.text;
    lastSlot = s;
    lastId = winnerId;
  }
  pieces.push(lexed[context.backbone]!.trailing);
  return { text: pieces.join(''), score: slots.length > 0 ? scoreSum / slots.length : 0 };
}
