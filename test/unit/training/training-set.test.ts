import { describe, expect, it } from 'vitest';
import { buildTrainingSet } from '../../../server/training/training-set.js';
import { accepted, model, noCode, record, rejected } from '../feedback/records.js';

/** A user who always keeps `1` after "x = " and rejects `2`, over `count` completions in time order. */
function history(count: number) {
  return Array.from({ length: count }, (_, i) =>
    i % 2 === 0
      ? accepted({ time: 1000 + i, chosen: `${i}`, models: [model('a', { candidate: `${i}` }), model('b', { candidate: `other ${i}` })] }, 0)
      : rejected({ time: 1000 + i, chosen: `no ${i}` }),
  );
}

describe('the training set', () => {
  it('holds out the newest rows, in time order, by the share asked', () => {
    const set = buildTrainingSet(history(60), { objective: 'kto', heldOut: 0.25 });
    expect(set.ok).toBe(true);
    if (!set.ok) return;
    expect(set.train.length + set.heldOut.length).toBe(set.summary.rows);
    expect(set.heldOut.length).toBe(Math.round(set.summary.rows * 0.25));
    // The held-out rows are the last ones exported: the newest records.
    const completions = [...set.train, ...set.heldOut].map((r) => (r as { completion: string }).completion);
    expect(set.heldOut.map((r) => (r as { completion: string }).completion)).toEqual(completions.slice(-set.heldOut.length));
  });

  it('uses the export rows of the objective (the same code as xencode feedback export)', () => {
    const dpo = buildTrainingSet(history(80), { objective: 'dpo', minTrain: 8 });
    expect(dpo.ok).toBe(true);
    if (dpo.ok) for (const row of [...dpo.train, ...dpo.heldOut]) expect(Object.keys(row).sort()).toEqual(['chosen', 'prompt', 'rejected']);
    const sft = buildTrainingSet(history(80), { objective: 'sft', minTrain: 8 });
    if (sft.ok) for (const row of sft.train) expect(Object.keys(row).sort()).toEqual(['completion', 'prompt']);
  });

  it('refuses too little data, saying how much there is, what was not usable and what to do', () => {
    const set = buildTrainingSet([...history(6), ...Array.from({ length: 5 }, () => noCode(record()))], { objective: 'dpo' });
    expect(set.ok).toBe(false);
    if (set.ok) return;
    expect(set.problem).toMatch(/^Too little data to train dpo: \d+ usable records? of 11 read, 20 needed \(16 to train, 4 held out/);
    expect(set.problem).toContain('5 recorded at feedback.level "noCode"');
    expect(set.problem).toMatch(/--objective kto or sft/);
    expect(set.problem).toContain('xencode feedback stats');
  });

  it('names the filters that narrowed the data', () => {
    const set = buildTrainingSet(history(40), { objective: 'sft', language: 'rust', since: Date.UTC(2026, 0, 1) });
    expect(set.ok).toBe(false);
    if (!set.ok) expect(set.problem).toMatch(/\(language rust, since 2026-01-01\)/);
  });
});

describe('rows from a file', () => {
  it('takes the rows of the objective in file order, keeping only its columns', async () => {
    const { parseRows, splitRows } = await import('../../../server/training/training-set.js');
    const text = Array.from({ length: 25 }, (_, i) => JSON.stringify({ prompt: `p${i}`, chosen: `c${i}`, rejected: `r${i}`, extra: 1 })).join('\n') + '\n\n';
    const parsed = parseRows(text, 'dpo', 'pairs.jsonl');
    expect('rows' in parsed && parsed.rows[3]).toEqual({ prompt: 'p3', chosen: 'c3', rejected: 'r3' });
    const split = 'rows' in parsed ? splitRows(parsed.rows, {}) : undefined;
    expect(split?.heldOut.map((r) => (r as { prompt: string }).prompt)).toEqual(['p20', 'p21', 'p22', 'p23', 'p24']);
  });

  it('names the line that is not a row of the objective', async () => {
    const { parseRows } = await import('../../../server/training/training-set.js');
    expect(parseRows('{"prompt":"a","completion":"b"}\n{"prompt":"a"}\n', 'sft', 'x.jsonl')).toEqual({
      problem: expect.stringMatching(/^x\.jsonl:2 is not a sft row: it needs prompt \(string\), completion \(string\); completion is missing/),
    });
    expect(parseRows('not json\n', 'kto', 'x.jsonl')).toEqual({ problem: expect.stringMatching(/^x\.jsonl:1 is not JSON/) });
  });
});
