import { describe, expect, it } from 'vitest';
import {
  EXPORT_FORMATS,
  exportRows,
  newExportSummary,
  toJsonLine,
  type ExportFormat,
  type ExportSummary,
} from '../../../server/feedback/export.js';
import type { FeedbackRecord } from '../../../server/feedback/record.js';
import { accepted, model, noCode, record, rejected, retention } from './records.js';

function run<F extends ExportFormat>(records: FeedbackRecord[], format: F, options: { since?: number; language?: string; model?: string } = {}) {
  const summary = newExportSummary(format);
  const rows = [...exportRows(records, { format, ...options }, summary)];
  return { rows, summary };
}

/** The column contract of each TRL format: exact keys and types. */
const CONTRACT: Record<'sft' | 'kto' | 'dpo', Record<string, 'string' | 'boolean'>> = {
  sft: { prompt: 'string', completion: 'string' },
  kto: { prompt: 'string', completion: 'string', label: 'boolean' },
  dpo: { prompt: 'string', chosen: 'string', rejected: 'string' },
};

function expectContract(format: 'sft' | 'kto' | 'dpo', row: object): void {
  const contract = CONTRACT[format];
  expect(Object.keys(row).sort()).toEqual(Object.keys(contract).sort());
  for (const [key, type] of Object.entries(contract)) expect(typeof (row as Record<string, unknown>)[key]).toBe(type);
  // Survives a JSONL round trip unchanged (what TRL's load_dataset('json') reads).
  const line = toJsonLine(row as never);
  expect(line.endsWith('\n')).toBe(true);
  expect(line.slice(0, -1)).not.toContain('\n');
  expect(JSON.parse(line)).toEqual(row);
}

/** A mixed set: every label, retention states, captures, several models. */
function mixed(): FeedbackRecord[] {
  return [
    accepted({ chosen: 'return a + b;', models: [model('a', { candidate: 'return a + b;' }), model('b', { candidate: 'throw new Error("x");' })] }, 0.1),
    accepted({ chosen: 'const x = 1;', captured: 'const x = 2;' }, 0.2, 0.9),
    { ...record({ chosen: 'foo(bar, baz);' }), label: 'partlyAccepted', acceptedLength: 4, retention: retention(0) },
    rejected({ chosen: 'console.log(1);', captured: 'logger.info("started");' }),
    rejected({ chosen: 'x++;' }),
    record({ chosen: 'ignored();' }),
    record({ chosen: 'ignored();', captured: 'somethingElseEntirely(42);' }),
    noCode(accepted({ chosen: 'secret();' }, 0)),
  ];
}

describe('exportRows: column contracts', () => {
  for (const format of ['sft', 'kto', 'dpo'] as const) {
    it(`${format}: every row has exactly TRL's columns with their types`, () => {
      const { rows } = run(mixed(), format);
      expect(rows.length).toBeGreaterThan(2);
      for (const row of rows) expectContract(format, row);
    });
  }

  it('jsonl: the full records, as stored', () => {
    const records = mixed();
    const { rows, summary } = run(records, 'jsonl');
    expect(rows).toEqual(records);
    expect(rows[0]).toBe(records[0]);
    expect(summary).toMatchObject({ read: records.length, rows: records.length });
    expect(JSON.parse(toJsonLine(rows[3]!))).toEqual(records[3]);
  });

  it('rejects an unknown format by name', () => {
    expect(() => exportRows([], { format: 'csv' as ExportFormat })).toThrow(/csv.*sft, kto, dpo, jsonl/);
    expect(EXPORT_FORMATS).toEqual(['sft', 'kto', 'dpo', 'jsonl']);
  });
});

describe('exportRows: prompt', () => {
  it("is the exact prompt of the model named by `model`, else of the first configured model", () => {
    const r = accepted({ chosen: 'ok();', chosenModel: 'b', models: [model('a', { prompt: '<fim_prefix>A' }), model('b', { candidate: 'ok();', prompt: '<PRE>B' })] }, 0);
    expect(run([r], 'sft', { model: 'b' }).rows).toEqual([{ prompt: '<PRE>B', completion: 'ok();' }]);
    expect(run([r], 'sft').rows).toEqual([{ prompt: '<fim_prefix>A', completion: 'ok();' }]);
  });

  it('skips (noPrompt) a record whose model entry has no prompt; excludes (model) one that did not ask it', () => {
    const noPrompt = accepted({ models: [model('a', { prompt: undefined }), model('b')] }, 0);
    const { rows, summary } = run([noPrompt, accepted({ models: [model('b')] }, 0)], 'sft', { model: 'a' });
    expect(rows).toEqual([]);
    expect(summary.skipped.noPrompt).toBe(1);
    expect(summary.excluded.model).toBe(1);
  });

  it('exports text as stored (no redaction, no trimming)', () => {
    const text = '  key = "[REDACTED]"; // sk-not-a-key\n';
    const r = accepted({ chosen: text, models: [model('a', { candidate: text, prompt: 'api_key=sk-123\n<fim>' })] }, 0);
    expect(run([r], 'sft').rows).toEqual([{ prompt: 'api_key=sk-123\n<fim>', completion: text }]);
  });
});

describe('exportRows: SFT', () => {
  it('completion = the kept text: the retained accept, the part taken, else the capture', () => {
    const { rows, summary } = run(mixed(), 'sft');
    expect(rows.map((r) => r.completion)).toEqual([
      'return a + b;', // accepted, retained
      'const x = 2;', // accepted, not retained at the last check: the capture
      'foo(', // partly accepted: the part taken
      'logger.info("started");', // rejected: the capture
      'somethingElseEntirely(42);', // ignored: the capture
    ]);
    expect(summary.skipped).toMatchObject({ noCode: 1, noKeptText: 2 });
    expect(summary.rows).toBe(5);
    expect(summary.read).toBe(8);
  });

  it('skips blank kept text (emptyKeptText)', () => {
    const { rows, summary } = run([rejected({ captured: '  \n' })], 'sft');
    expect(rows).toEqual([]);
    expect(summary.skipped.emptyKeptText).toBe(1);
  });
});

describe('exportRows: KTO labels', () => {
  const label = (r: FeedbackRecord) => {
    const rows = run([r], 'kto').rows;
    return rows.length === 0 ? 'skipped' : rows[0]!.label;
  };

  it('accepted and retained at 30 s → true; accepted and not retained at 30 s → false', () => {
    expect(label(accepted({}, 0.5))).toBe(true);
    expect(label(accepted({}, 0.51))).toBe(false);
  });

  it('reads the 30 s check, not a later one', () => {
    expect(label(accepted({}, 0.1, 0.9, 1))).toBe(true);
    expect(label(accepted({}, 0.9, 0.1))).toBe(false);
    // Checks out of order: still the 30 s one.
    expect(label(accepted({ retention: [{ afterS: 120, distanceRatio: 0, retained: true }, { afterS: 30, distanceRatio: 1, retained: false }] }))).toBe(false);
  });

  it('accepted with no retention check yet → true (the accept is the evidence)', () => {
    expect(label(accepted({}))).toBe(true);
  });

  it('rejected → false, even when the capture is close', () => {
    expect(label(rejected({ chosen: 'x++;', captured: 'x++;' }))).toBe(false);
  });

  it('ignored: skipped without a capture (noDecision); with one, wanted when the capture is close', () => {
    const { summary } = run([record({})], 'kto');
    expect(summary.skipped.noDecision).toBe(1);
    expect(label(record({ chosen: 'return total;', captured: 'return total;' }))).toBe(true);
    expect(label(record({ chosen: 'return total;', captured: 'throw new Error("nope")' }))).toBe(false);
    // The stored similarity wins over recomputing.
    expect(label(record({ chosen: 'return total;', captured: 'return total;', capturedSimilarity: 0.1 }))).toBe(false);
  });

  it('completion = the suggestion shown; for a partial accept, the part taken', () => {
    const rows = run(mixed(), 'kto').rows;
    expect(rows).toEqual([
      { prompt: '<a>', completion: 'return a + b;', label: true },
      { prompt: '<a>', completion: 'const x = 1;', label: true }, // retained at 30 s (not at 2 min)
      { prompt: '<a>', completion: 'foo(', label: true },
      { prompt: '<a>', completion: 'console.log(1);', label: false },
      { prompt: '<a>', completion: 'x++;', label: false },
      { prompt: '<a>', completion: 'ignored();', label: false },
    ]);
  });
});

describe('exportRows: DPO pairs', () => {
  it('chosen is never (whitespace-)equal to rejected', () => {
    const { rows } = run(mixed(), 'dpo');
    expect(rows.length).toBeGreaterThan(2);
    for (const row of rows) expect(row.chosen.replace(/\s+/g, ' ').trim()).not.toBe(row.rejected.replace(/\s+/g, ' ').trim());
  });

  it('a rejected suggestion is the rejected side, against what the user wrote', () => {
    const { rows } = run([rejected({ chosen: 'console.log(1);', captured: 'logger.info("started");' })], 'dpo');
    expect(rows).toEqual([{ prompt: '<a>', chosen: 'logger.info("started");', rejected: 'console.log(1);' }]);
  });

  it('an accept not retained at the last check: the shown text against the capture', () => {
    const { rows } = run([accepted({ chosen: 'const x = 1;', captured: 'let y = compute();' }, 0.2, 0.9)], 'dpo');
    expect(rows).toEqual([{ prompt: '<a>', chosen: 'let y = compute();', rejected: 'const x = 1;' }]);
  });

  it('a partial accept: the part taken beats the whole suggestion', () => {
    const { rows } = run([{ ...record({ chosen: 'foo(bar, baz);' }), label: 'partlyAccepted' as const, acceptedLength: 4 }], 'dpo');
    expect(rows).toEqual([{ prompt: '<a>', chosen: 'foo(', rejected: 'foo(bar, baz);' }]);
  });

  it('a retained accept: the least similar other candidate under 0.5, never a near one', () => {
    const models = [
      model('a', { candidate: 'return a + b;' }),
      model('b', { candidate: 'return a + c;' }), // close: not a safe negative
      model('c', { candidate: 'throw new Error("unsupported");' }),
      model('d', { candidate: 'return null;' }),
    ];
    const { rows } = run([accepted({ chosen: 'return a + b;', models }, 0)], 'dpo');
    expect(rows).toEqual([{ prompt: '<a>', chosen: 'return a + b;', rejected: 'throw new Error("unsupported");' }]);
  });

  it('a retained accept the user touched up is not a negative of its own edit', () => {
    const r = accepted({ chosen: 'return a + b;', captured: 'return a + b + c;', models: [model('a', { candidate: 'return a + b;' })] }, 0.3);
    const { rows, summary } = run([r], 'dpo');
    expect(rows).toEqual([]);
    expect(summary.skipped.noPair).toBe(1);
  });

  it('no pair when every candidate is close to the kept text, or only whitespace differs (noPair)', () => {
    const records = [
      accepted({ chosen: 'return a + b;', models: [model('a', { candidate: 'return a + b;' }), model('b', { candidate: 'return a+ b;' })] }, 0),
      rejected({ chosen: 'return  a + b;', captured: 'return a + b;\n', models: [model('a', { candidate: 'return  a + b;' })] }),
    ];
    const { rows, summary } = run(records, 'dpo');
    expect(rows).toEqual([]);
    expect(summary.skipped.noPair).toBe(2);
  });

  it('nothing kept: skipped (noKeptText)', () => {
    const { summary } = run([rejected({})], 'dpo');
    expect(summary.skipped.noKeptText).toBe(1);
  });
});

describe('exportRows: filters and noCode', () => {
  const records = [
    accepted({ time: 1000, language: 'typescript', models: [model('a', { candidate: 'return value;' }), model('b')] }, 0),
    accepted({ time: 2000, language: 'python', chosenModel: 'b', models: [model('b', { candidate: 'return value;' })] }, 0),
    accepted({ time: 3000, language: 'typescript', models: [model('a', { candidate: 'return value;' })] }, 0),
    noCode(accepted({ time: 4000, language: 'typescript' }, 0)),
  ];

  it('since keeps time ≥ since', () => {
    const { rows, summary } = run(records, 'jsonl', { since: 2000 });
    expect(rows.map((r) => r.time)).toEqual([2000, 3000, 4000]);
    expect(summary.excluded.since).toBe(1);
  });

  it('language keeps that languageId', () => {
    const { rows, summary } = run(records, 'jsonl', { language: 'python' });
    expect(rows.map((r) => r.time)).toEqual([2000]);
    expect(summary.excluded.language).toBe(3);
  });

  it('model keeps the records that asked it (not only those it won)', () => {
    expect(run(records, 'jsonl', { model: 'b' }).rows.map((r) => r.time)).toEqual([1000, 2000]);
    expect(run(records, 'sft', { model: 'b' }).rows).toEqual([
      { prompt: '<b>', completion: 'return value;' },
      { prompt: '<b>', completion: 'return value;' },
    ]);
  });

  it('filters combine; each drop counted once, under the first filter it fails', () => {
    const { rows, summary } = run(records, 'jsonl', { since: 1500, language: 'typescript', model: 'a' });
    expect(rows.map((r) => r.time)).toEqual([3000, 4000]);
    expect(summary.excluded).toEqual({ since: 1, language: 1, model: 0 });
  });

  for (const format of ['sft', 'kto', 'dpo'] as const) {
    it(`${format} skips noCode records and counts them`, () => {
      const { summary } = run(records, format);
      expect(summary.skipped.noCode).toBe(1);
      expect(summary.read).toBe(4);
    });
  }

  it('read = rows + excluded + skipped', () => {
    for (const format of EXPORT_FORMATS) {
      const { summary } = run([...mixed(), ...records], format, { since: 1500 });
      const excluded = Object.values(summary.excluded).reduce((a, b) => a + b, 0);
      const skipped = Object.values(summary.skipped).reduce((a, b) => a + b, 0);
      expect(summary.read).toBe(summary.rows + excluded + skipped);
    }
  });
});

describe('exportRows: streaming', () => {
  function* endless(pulled: { count: number }): Generator<FeedbackRecord> {
    for (;;) {
      // Bounded, so that an exporter reading ahead fails here instead of hanging the suite.
      if (++pulled.count > 1000) throw new Error('exportRows read the whole input');
      // Every record gives a row in every format (a rejected suggestion with what the user wrote instead).
      yield rejected({ time: pulled.count, chosen: 'console.log(x);', captured: 'logger.info(x);' });
    }
  }

  for (const format of EXPORT_FORMATS) {
    it(`${format}: the first row comes without exhausting an endless input`, () => {
      const pulled = { count: 0 };
      const rows = exportRows(endless(pulled), { format });
      const first = rows.next();
      expect(first.done).toBe(false);
      expect(pulled.count).toBe(1);
      rows.next();
      expect(pulled.count).toBe(2);
    });
  }

  it('returns the summary as the generator value, and fills a given one during a for…of', () => {
    const summary: ExportSummary = newExportSummary('sft');
    const gen = exportRows([accepted({}, 0), rejected({})], { format: 'sft' }, summary);
    let result = gen.next();
    while (!result.done) result = gen.next();
    expect(result.value).toBe(summary);
    expect(summary).toMatchObject({ read: 2, rows: 1, skipped: { noKeptText: 1 } });
  });
});
