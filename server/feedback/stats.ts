/**
 * Aggregates over feedback records in one pass (constant memory apart from one entry per model, language and
 * method), for `xencode feedback stats [--json]`. Pure: no I/O, no clock.
 *
 * The JSON shape (`FeedbackStats`) is a public contract; fields are only ever added.
 *
 * ```
 * {
 *   version: 1,
 *   firstTime, lastTime,           // ms since the epoch of the earliest and latest record shown; null if none
 *   ...Counts,                     // every record
 *   byModel: { [model]: Counts & { candidates: CandidateStats } },
 *   byLanguage: { [languageId]: Counts },
 *   byMethod: { [fusion method]: Counts },
 *   learned?: { models?, methods? } // what the caller passed, as passed
 * }
 * ```
 *
 * `Counts` (records at both privacy levels count: lengths are kept at `noCode`):
 * - `shown`, and by label `accepted`, `partlyAccepted`, `rejected`, `ignored` (they sum to `shown`).
 * - `acceptanceRate` = (accepted + partlyAccepted) / shown.
 * - `shownChars` = Σ chosenLength; `acceptedChars` = Σ characters taken (acceptedLength, else chosenLength) over
 *   accepted and partly accepted records.
 * - Retention, over the accepts whose retention was checked at least once (`checkedAccepts`; an accept with no
 *   check yet is still pending and counts in neither side): `retainedAccepts` = those whose last check says
 *   retained; `checkedAcceptedChars` = their characters taken; `retainedChars` = Σ max(0, taken − distance) with
 *   distance = the last check's distanceRatio × taken, rounded — the accepted characters the edits since have not undone
 *   (GitHub's "accepted and retained characters", measured at the last check, continuous rather than all-or-nothing
 *   at the 0.5 threshold). `retentionRate` = retainedChars / checkedAcceptedChars.
 * - Rates are null where the denominator is 0.
 * In `byModel` the counts are those of the records whose shown text came from that model (`chosenModel`).
 *
 * `CandidateStats`, per model as a participant in every request that asked it (samples counted apiece):
 * `calls`; by outcome `answered`, `filtered`, `failed`, `late`, `cancelled`; `meanLatencyMs` over calls that report
 * one; `compared` = candidates compared with the kept text (`keptText`: full level, something kept);
 * `meanSimilarity` = their mean whitespace-normalised edit similarity to it; `close` = how many of them were at
 * least 0.5 similar (would have counted as retained); `closeRate` = close / compared.
 */
import { normalize, normalizedSimilarity } from '../engine/fusion/similarity.js';
import { keptText, type FeedbackRecord, type ModelRecord } from './record.js';

export interface Counts {
  shown: number;
  accepted: number;
  partlyAccepted: number;
  rejected: number;
  ignored: number;
  acceptanceRate: number | null;
  shownChars: number;
  acceptedChars: number;
  checkedAccepts: number;
  retainedAccepts: number;
  checkedAcceptedChars: number;
  retainedChars: number;
  retentionRate: number | null;
}

export interface CandidateStats {
  calls: number;
  answered: number;
  filtered: number;
  failed: number;
  late: number;
  cancelled: number;
  meanLatencyMs: number | null;
  compared: number;
  meanSimilarity: number | null;
  close: number;
  closeRate: number | null;
}

export type ModelStats = Counts & { candidates: CandidateStats };

export interface FeedbackStats extends Counts {
  version: 1;
  firstTime: number | null;
  lastTime: number | null;
  byModel: Record<string, ModelStats>;
  byLanguage: Record<string, Counts>;
  byMethod: Record<string, Counts>;
  learned?: { models?: unknown; methods?: unknown };
}

/** A candidate at least this similar to the kept text counts as `close` (the retention threshold, 1 − 0.5). */
export const CLOSE_SIMILARITY = 0.5;

type CountsAcc = Counts;
interface CandidateAcc {
  calls: number;
  answered: number;
  filtered: number;
  failed: number;
  late: number;
  cancelled: number;
  latencySum: number;
  latencyCount: number;
  compared: number;
  similaritySum: number;
  close: number;
}

function newCounts(): CountsAcc {
  return {
    shown: 0,
    accepted: 0,
    partlyAccepted: 0,
    rejected: 0,
    ignored: 0,
    acceptanceRate: null,
    shownChars: 0,
    acceptedChars: 0,
    checkedAccepts: 0,
    retainedAccepts: 0,
    checkedAcceptedChars: 0,
    retainedChars: 0,
    retentionRate: null,
  };
}

function newCandidates(): CandidateAcc {
  return { calls: 0, answered: 0, filtered: 0, failed: 0, late: 0, cancelled: 0, latencySum: 0, latencyCount: 0, compared: 0, similaritySum: 0, close: 0 };
}

/** What one record adds to a `Counts`, computed once per record and added to each breakdown it belongs to. */
interface Contribution {
  label: FeedbackRecord['label'];
  shownChars: number;
  taken: number;
  checked: boolean;
  retained: boolean;
  retainedChars: number;
}

function contribution(record: FeedbackRecord): Contribution {
  const shownChars = finite(record.chosenLength);
  const isAccept = record.label === 'accepted' || record.label === 'partlyAccepted';
  const taken = isAccept ? finite(record.acceptedLength ?? record.chosenLength) : 0;
  const last = isAccept ? record.retention?.at(-1) : undefined;
  const checked = last !== undefined;
  const ratio = last === undefined ? 1 : Math.max(0, finite(last.distanceRatio, 1));
  return {
    label: record.label,
    shownChars,
    taken,
    checked,
    retained: last?.retained === true,
    retainedChars: checked ? Math.max(0, taken - Math.round(ratio * taken)) : 0,
  };
}

function add(counts: CountsAcc, c: Contribution): void {
  counts.shown++;
  if (c.label === 'accepted' || c.label === 'partlyAccepted' || c.label === 'rejected' || c.label === 'ignored') counts[c.label]++;
  counts.shownChars += c.shownChars;
  counts.acceptedChars += c.taken;
  if (c.checked) {
    counts.checkedAccepts++;
    if (c.retained) counts.retainedAccepts++;
    counts.checkedAcceptedChars += c.taken;
    counts.retainedChars += c.retainedChars;
  }
}

function finishCounts<T extends Counts>(counts: T): T {
  counts.acceptanceRate = rate(counts.accepted + counts.partlyAccepted, counts.shown);
  counts.retentionRate = rate(counts.retainedChars, counts.checkedAcceptedChars);
  return counts;
}

function addCall(acc: CandidateAcc, m: ModelRecord): void {
  acc.calls++;
  if (m.outcome === 'answered' || m.outcome === 'filtered' || m.outcome === 'failed' || m.outcome === 'late' || m.outcome === 'cancelled') acc[m.outcome]++;
  if (m.latencyMs !== undefined && Number.isFinite(m.latencyMs)) {
    acc.latencySum += m.latencyMs;
    acc.latencyCount++;
  }
}

/** Aggregates the records in one pass; `learned` (the learner's state) is passed through as given. */
export function feedbackStats(records: Iterable<FeedbackRecord>, learned?: { models?: unknown; methods?: unknown }): FeedbackStats {
  const total = newCounts();
  const byModel = new Map<string, CountsAcc>();
  const candidates = new Map<string, CandidateAcc>();
  const byLanguage = new Map<string, CountsAcc>();
  const byMethod = new Map<string, CountsAcc>();
  let firstTime: number | null = null;
  let lastTime: number | null = null;

  for (const record of records) {
    const c = contribution(record);
    add(total, c);
    add(entry(byModel, record.chosenModel, newCounts), c);
    add(entry(byLanguage, record.language, newCounts), c);
    add(entry(byMethod, record.method, newCounts), c);
    if (Number.isFinite(record.time)) {
      if (firstTime === null || record.time < firstTime) firstTime = record.time;
      if (lastTime === null || record.time > lastTime) lastTime = record.time;
    }
    const kept = record.level === 'full' ? keptText(record) : undefined;
    const target = kept === undefined ? undefined : normalize(kept);
    for (const m of record.models) {
      const acc = entry(candidates, m.model, newCandidates);
      addCall(acc, m);
      if (target !== undefined && m.candidate !== undefined) {
        const sim = normalizedSimilarity(normalize(m.candidate), target);
        acc.compared++;
        acc.similaritySum += sim;
        if (sim >= CLOSE_SIMILARITY) acc.close++;
      }
    }
  }

  const models: Record<string, ModelStats> = {};
  for (const name of [...new Set([...byModel.keys(), ...candidates.keys()])].sort()) {
    const counts = finishCounts(byModel.get(name) ?? newCounts());
    models[name] = { ...counts, candidates: finishCandidates(candidates.get(name) ?? newCandidates()) };
  }
  const stats: FeedbackStats = {
    version: 1,
    firstTime,
    lastTime,
    ...finishCounts(total),
    byModel: models,
    byLanguage: finishAll(byLanguage),
    byMethod: finishAll(byMethod),
  };
  if (learned !== undefined) stats.learned = learned;
  return stats;
}

function finishCandidates(acc: CandidateAcc): CandidateStats {
  return {
    calls: acc.calls,
    answered: acc.answered,
    filtered: acc.filtered,
    failed: acc.failed,
    late: acc.late,
    cancelled: acc.cancelled,
    meanLatencyMs: acc.latencyCount === 0 ? null : acc.latencySum / acc.latencyCount,
    compared: acc.compared,
    meanSimilarity: rate(acc.similaritySum, acc.compared),
    close: acc.close,
    closeRate: rate(acc.close, acc.compared),
  };
}

function finishAll(map: Map<string, CountsAcc>): Record<string, Counts> {
  const out: Record<string, Counts> = {};
  for (const key of [...map.keys()].sort()) out[key] = finishCounts(map.get(key)!);
  return out;
}

function entry<T>(map: Map<string, T>, key: string, make: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

function rate(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

function finite(value: number | undefined, fallback = 0): number {
  return value !== undefined && Number.isFinite(value) ? value : fallback;
}

// ---------------------------------------------------------------------------------------------------------------
// The terminal table

const COUNT_COLUMNS: readonly [string, (c: Counts) => string][] = [
  ['shown', (c) => int(c.shown)],
  ['accepted', (c) => int(c.accepted)],
  ['partly', (c) => int(c.partlyAccepted)],
  ['rejected', (c) => int(c.rejected)],
  ['ignored', (c) => int(c.ignored)],
  ['accept %', (c) => percent(c.acceptanceRate)],
  ['accepted chars', (c) => int(c.acceptedChars)],
  ['retained chars', (c) => int(c.retainedChars)],
  ['retained %', (c) => percent(c.retentionRate)],
];

const CANDIDATE_COLUMNS: readonly [string, (c: CandidateStats) => string][] = [
  ['calls', (c) => int(c.calls)],
  ['answered', (c) => int(c.answered)],
  ['filtered', (c) => int(c.filtered)],
  ['failed', (c) => int(c.failed)],
  ['late', (c) => int(c.late)],
  ['cancelled', (c) => int(c.cancelled)],
  ['mean ms', (c) => (c.meanLatencyMs === null ? '-' : String(Math.round(c.meanLatencyMs)))],
  ['compared', (c) => int(c.compared)],
  ['mean similarity', (c) => (c.meanSimilarity === null ? '-' : c.meanSimilarity.toFixed(2))],
  ['close %', (c) => percent(c.closeRate)],
];

/** The stats as aligned plain-text tables (no colour), for the terminal. */
export function formatStatsTable(stats: FeedbackStats): string {
  const out: string[] = [];
  const period = stats.firstTime === null || stats.lastTime === null ? '' : `, ${isoDay(stats.firstTime)} to ${isoDay(stats.lastTime)}`;
  out.push(`Feedback: ${int(stats.shown)} completions shown${period}`);
  out.push('');
  out.push(countsTable('', [['all', stats]]));
  const models = Object.entries(stats.byModel);
  const shownModels = models.filter(([, m]) => m.shown > 0);
  if (shownModels.length > 0) section(out, 'By model (text shown)', countsTable('model', shownModels));
  if (models.length > 0) section(out, 'By model (as a candidate; similarity to the kept text)', table('model', CANDIDATE_COLUMNS, models.map(([name, m]) => [name, m.candidates])));
  const languages = Object.entries(stats.byLanguage);
  if (languages.length > 0) section(out, 'By language', countsTable('language', languages));
  const methods = Object.entries(stats.byMethod);
  if (methods.length > 0) section(out, 'By method', countsTable('method', methods));
  if (stats.learned !== undefined) {
    for (const key of ['models', 'methods'] as const) {
      const value = stats.learned[key];
      if (value !== undefined) section(out, `Learned ${key}`, learnedTable(value));
    }
  }
  out.push(
    '',
    'accept % = (accepted + partly) / shown. retained chars = accepted characters minus the edit distance to what stands',
    'there at the last retention check, over checked accepts; retained % = retained chars / their accepted chars.',
  );
  return out.join('\n') + '\n';
}

function section(out: string[], title: string, body: string): void {
  out.push('', title, body);
}

function countsTable(head: string, rows: readonly [string, Counts][]): string {
  return table(head, COUNT_COLUMNS, rows);
}

/** First column left-aligned, the others right-aligned, two spaces apart, a dashed rule under the header. */
function table<T>(head: string, columns: readonly [string, (row: T) => string][], rows: readonly [string, T][]): string {
  const header = [head, ...columns.map(([name]) => name)];
  const body = rows.map(([name, row]) => [name, ...columns.map(([, cell]) => cell(row))]);
  return align([header, header.map((h) => '-'.repeat(h.length)), ...body]);
}

function align(rows: readonly string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

/** A learned state: an object's entries as `key  value` (objects of primitives as columns), anything else as JSON. */
function learnedTable(value: unknown): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return JSON.stringify(value) ?? String(value);
  const entries = Object.entries(value as Record<string, unknown>);
  const flat = entries.every(([, v]) => v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(isPrimitive));
  if (flat && entries.length > 0) {
    const keys = [...new Set(entries.flatMap(([, v]) => Object.keys(v as object)))];
    const rows = entries.map(([name, v]) => [name, ...keys.map((k) => cellOf((v as Record<string, unknown>)[k]))]);
    return align([['', ...keys], ['', ...keys.map((k) => '-'.repeat(k.length))], ...rows]);
  }
  return align(entries.map(([k, v]) => [k, cellOf(v)]));
}

function isPrimitive(v: unknown): boolean {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}

function cellOf(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(3);
  if (typeof v === 'string') return v;
  return JSON.stringify(v) ?? String(v);
}

function int(n: number): string {
  return String(n);
}

function percent(r: number | null): string {
  return r === null ? '-' : `${(r * 100).toFixed(1)}%`;
}

function isoDay(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString().slice(0, 10);
}
