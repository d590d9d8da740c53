import { describe, expect, it } from 'vitest';
import { similarity } from '../../../server/engine/fusion/similarity.js';
import type { FeedbackRecord } from '../../../server/feedback/record.js';
import { feedbackStats, formatStatsTable, type FeedbackStats } from '../../../server/feedback/stats.js';
import { accepted, model, noCode, record, rejected } from './records.js';

const T0 = Date.UTC(2026, 10, 1);

/** Six records with known figures (lengths in the comments). */
function handBuilt(): FeedbackRecord[] {
  return [
    // 13 chars, accepted, 30 s check 0.1 → retained; distance round(1.3) = 1 → 12 retained characters.
    accepted(
      {
        time: T0 + 5000,
        chosen: 'return a + b;',
        models: [model('a', { candidate: 'return a + b;', latencyMs: 100 }), model('b', { candidate: 'throw new Error("x");', latencyMs: 300 })],
      },
      0.1,
    ),
    // 12 chars by model b, python, vote; checks 0.2 then 0.75 → not retained at the last; 12 − 9 = 3 retained.
    accepted({ time: T0, chosen: 'const x = 1;', chosenModel: 'b', language: 'python', method: 'vote' }, 0.2, 0.75),
    // 14 chars shown, 4 taken, no check yet: pending, in neither side of retention.
    { ...record({ time: T0 + 1000, chosen: 'foo(bar, baz);' }), label: 'partlyAccepted', acceptedLength: 4 },
    // 4 chars, rejected.
    rejected({ time: T0 + 2000, chosen: 'x++;' }),
    // 10 chars, ignored, python, served from memory.
    record({ time: T0 + 3000, chosen: 'ignored();', language: 'python', method: 'memory' }),
    // 9 chars at noCode, accepted, retained whole.
    noCode(accepted({ time: T0 + 4000, chosen: 'secret();' }, 0)),
  ];
}

describe('feedbackStats: totals', () => {
  const stats = feedbackStats(handBuilt());

  it('counts by label, and the acceptance rate', () => {
    expect(stats).toMatchObject({ shown: 6, accepted: 3, partlyAccepted: 1, rejected: 1, ignored: 1 });
    expect(stats.acceptanceRate).toBeCloseTo(4 / 6, 12);
    expect(stats.firstTime).toBe(T0);
    expect(stats.lastTime).toBe(T0 + 5000);
  });

  it('characters shown and accepted (noCode records count: lengths are kept)', () => {
    expect(stats.shownChars).toBe(13 + 12 + 14 + 4 + 10 + 9);
    expect(stats.acceptedChars).toBe(13 + 12 + 4 + 9);
  });

  it('accepted-and-retained characters at the last check; pending accepts in neither side', () => {
    expect(stats.checkedAccepts).toBe(3);
    expect(stats.retainedAccepts).toBe(2);
    expect(stats.checkedAcceptedChars).toBe(13 + 12 + 9);
    expect(stats.retainedChars).toBe(12 + 3 + 9);
    expect(stats.retentionRate).toBeCloseTo(24 / 34, 12);
  });

  it('retained characters never go below 0 nor above what was taken', () => {
    const s = feedbackStats([accepted({ chosen: 'abcd' }, 3), accepted({ chosen: 'efgh' }, 0)]);
    expect(s.retainedChars).toBe(4);
    expect(s.checkedAcceptedChars).toBe(8);
  });

  it('a checked partial accept counts the characters taken, not those shown', () => {
    const s = feedbackStats([{ ...accepted({ chosen: 'abcdefgh' }, 0.5), label: 'partlyAccepted', acceptedLength: 4 }]);
    expect(s).toMatchObject({ acceptedChars: 4, checkedAcceptedChars: 4, retainedChars: 2, retentionRate: 0.5, retainedAccepts: 1 });
  });
});

describe('feedbackStats: breakdowns', () => {
  const stats = feedbackStats(handBuilt());

  it('byModel counts the records whose text the model showed', () => {
    expect(Object.keys(stats.byModel)).toEqual(['a', 'b']);
    expect(stats.byModel.a).toMatchObject({ shown: 5, accepted: 2, partlyAccepted: 1, rejected: 1, ignored: 1, acceptedChars: 13 + 4 + 9, retainedChars: 12 + 9 });
    expect(stats.byModel.b).toMatchObject({ shown: 1, accepted: 1, retainedChars: 3, checkedAcceptedChars: 12 });
    expect(stats.byModel.b!.retentionRate).toBeCloseTo(3 / 12, 12);
  });

  it('byModel.candidates: calls, outcomes, latency and similarity to the kept text', () => {
    const a = stats.byModel.a!.candidates;
    // Compared: record 1 (kept = its own candidate: 1) and record 3 (kept 'foo(' vs 'foo(bar, baz);': 4/14).
    expect(a).toMatchObject({ calls: 5, answered: 5, failed: 0, compared: 2, close: 1 });
    expect(a.meanSimilarity).toBeCloseTo((1 + 4 / 14) / 2, 12);
    expect(a.closeRate).toBe(0.5);
    const b = stats.byModel.b!.candidates;
    // Record 2 was not retained and nothing was captured: no kept text to compare with.
    expect(b).toMatchObject({ calls: 2, compared: 1, close: 0 });
    expect(b.meanSimilarity).toBeCloseTo(similarity('throw new Error("x");', 'return a + b;'), 12);
    expect(b.meanLatencyMs).toBe(200);
  });

  it('counts call outcomes per model, including a model that never showed its text', () => {
    const s = feedbackStats([
      record({ models: [model('a'), model('c', { outcome: 'failed', candidate: undefined, latencyMs: undefined }), model('c', { outcome: 'late', sample: 1 })] }),
      record({ models: [model('a'), model('c', { outcome: 'filtered', candidate: undefined })] }),
    ]);
    expect(s.byModel.c).toMatchObject({ shown: 0, accepted: 0, acceptanceRate: null });
    expect(s.byModel.c!.candidates).toMatchObject({ calls: 3, answered: 0, failed: 1, late: 1, filtered: 1, cancelled: 0, meanLatencyMs: 100 });
  });

  it('byLanguage and byMethod', () => {
    expect(stats.byLanguage.typescript).toMatchObject({ shown: 4, accepted: 2, partlyAccepted: 1, rejected: 1 });
    expect(stats.byLanguage.python).toMatchObject({ shown: 2, accepted: 1, ignored: 1 });
    expect(stats.byMethod).toMatchObject({ hybrid: { shown: 4 }, vote: { shown: 1, accepted: 1 }, memory: { shown: 1, ignored: 1 } });
    expect(stats.byMethod.hybrid!.acceptanceRate).toBeCloseTo(3 / 4, 12);
  });
});

describe('feedbackStats: the JSON contract', () => {
  it('numbers at the top level beside the breakdowns; survives JSON', () => {
    const stats = feedbackStats(handBuilt());
    for (const key of ['shown', 'accepted', 'partlyAccepted', 'rejected', 'ignored', 'acceptedChars', 'retainedChars'] as const) {
      expect(typeof stats[key]).toBe('number');
    }
    expect(stats.version).toBe(1);
    expect(Object.keys(stats)).toEqual(expect.arrayContaining(['byModel', 'byLanguage', 'byMethod']));
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
  });

  it('no records: zeros, and null rates (no division by zero)', () => {
    const stats = feedbackStats([]);
    expect(stats).toMatchObject({ shown: 0, accepted: 0, acceptanceRate: null, retentionRate: null, firstTime: null, byModel: {} });
    expect(formatStatsTable(stats)).toContain('Feedback: 0 completions shown');
  });

  it('passes the learned state through, and only when given', () => {
    const learned = { models: { a: { weight: 1.2, wins: 3 } }, methods: { hybrid: 0.7 } };
    expect(feedbackStats([], learned).learned).toBe(learned);
    expect('learned' in feedbackStats([])).toBe(false);
  });

  it('reads its input once (a generator)', () => {
    let pulled = 0;
    function* once() {
      for (const r of handBuilt()) {
        pulled++;
        yield r;
      }
    }
    expect(feedbackStats(once()).shown).toBe(6);
    expect(pulled).toBe(6);
  });
});

describe('formatStatsTable', () => {
  const stats: FeedbackStats = feedbackStats(handBuilt(), { models: { a: { weight: 1.25, wins: 3 }, b: { weight: 0.75, wins: 1 } }, methods: { hybrid: 0.7 } });
  const text = formatStatsTable(stats);

  it('plain text: no colour codes, no trailing spaces', () => {
    expect(text).not.toMatch(/\x1b\[/);
    for (const line of text.split('\n')) expect(line).toBe(line.trimEnd());
  });

  it('shows the figures, with the sections', () => {
    expect(text).toContain('Feedback: 6 completions shown, 2026-11-01 to 2026-11-01');
    for (const title of ['By model (text shown)', 'By model (as a candidate', 'By language', 'By method', 'Learned models', 'Learned methods']) {
      expect(text).toContain(title);
    }
    const all = text.split('\n').find((l) => l.startsWith('all'))!;
    expect(all.trim().split(/\s+/)).toEqual(['all', '6', '3', '1', '1', '1', '66.7%', '38', '24', '70.6%']);
    const python = text.split('\n').find((l) => l.startsWith('python'))!;
    expect(python.trim().split(/\s+/)).toEqual(['python', '2', '1', '0', '0', '1', '50.0%', '12', '3', '25.0%']);
    expect(text).toMatch(/^a +5 +5 +0 +0 +0 +0 +100 +2 +0\.64 +50\.0%$/m);
    expect(text).toMatch(/^a +1\.250 +3$/m);
  });

  it('aligns every table: the header, rule and rows end their columns at the same place', () => {
    const blocks = text.split('\n\n').filter((b) => b.includes('---'));
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    for (const block of blocks) {
      const lines = block.split('\n');
      const at = lines.findIndex((l) => /^[\s-]+$/.test(l) && l.includes('-'));
      const rule = lines[at]!;
      const runs = [...rule.matchAll(/-+/g)].map((m) => m.index! + m[0].length);
      // The first column is left-aligned (and has no rule when it has no heading): check the right-aligned ones.
      const ends = rule.startsWith('-') ? runs.slice(1) : runs;
      const body = lines.slice(at + 1);
      expect(body.length).toBeGreaterThan(0);
      for (const line of body) {
        for (const end of ends) {
          expect(line[end - 1]).toMatch(/\S/);
          expect(line[end] ?? ' ').toBe(' ');
        }
      }
    }
  });
});
