/**
 * VOTE: plurality over whitespace-normalised candidates (self-consistency). A group needs at least two members;
 * the group with the most members wins, ties by summed model weight, then by its fastest member. The answer is
 * the group's representative (its member from the highest-weight, then fastest model), with original formatting.
 * With no group of two, the medoid answers: the candidate with the highest summed similarity to the others
 * (minimum Bayes risk), ties by weight, then speed.
 */
import { Pool, compareScores } from './similarity.js';
import type { FusionCandidate, FusionResult } from './types.js';

interface Group {
  readonly members: number[];
  weight: number;
  fastest: number;
  /** Lowest rank among the members: the representative, and the last tie-break. */
  bestRank: number;
  representative: number;
}

export function vote(candidates: readonly FusionCandidate[]): FusionResult | null {
  const n = candidates.length;
  if (n === 0) return null;
  const pool = new Pool(candidates);
  if (n === 1) return { text: candidates[0]!.text, method: 'vote', rule: 'single', agreeing: [candidates[0]!.model], score: 1 };

  const groups = new Map<string, Group>();
  for (let i = 0; i < n; i++) {
    const key = pool.normalized[i]!;
    const latency = Number.isFinite(candidates[i]!.latencyMs) ? candidates[i]!.latencyMs : Number.POSITIVE_INFINITY;
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, { members: [i], weight: pool.weights[i]!, fastest: latency, bestRank: pool.rank[i]!, representative: i });
    } else {
      group.members.push(i);
      group.weight += pool.weights[i]!;
      group.fastest = Math.min(group.fastest, latency);
      if (pool.rank[i]! < group.bestRank) {
        group.bestRank = pool.rank[i]!;
        group.representative = i;
      }
    }
  }

  let winner: Group | undefined;
  for (const group of groups.values()) {
    if (group.members.length < 2) continue;
    if (winner === undefined || better(group, winner)) winner = group;
  }
  if (winner !== undefined) {
    return {
      text: candidates[winner.representative]!.text,
      method: 'vote',
      rule: 'plurality',
      agreeing: pool.models(winner.members),
      score: winner.members.length / n,
    };
  }

  // Everyone disagrees: the medoid, by summed similarity to the others.
  const total = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const s = pool.sim(i, j);
      total[i] += s;
      total[j] += s;
    }
  }
  const medoid = pool.best(total);
  return {
    text: candidates[medoid]!.text,
    method: 'vote',
    rule: 'medoid',
    agreeing: pool.models([medoid]),
    score: total[medoid]! / (n - 1),
  };
}

function better(a: Group, b: Group): boolean {
  if (a.members.length !== b.members.length) return a.members.length > b.members.length;
  const byWeight = compareScores(a.weight, b.weight);
  if (byWeight !== 0) return byWeight > 0;
  if (a.fastest !== b.fastest) return a.fastest < b.fastest;
  return a.bestRank < b.bestRank;
}
