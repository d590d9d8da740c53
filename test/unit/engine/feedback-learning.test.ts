import { afterEach, describe, expect, it } from 'vitest';
import type { OpenDocument } from '../../../server/documents/document-store.js';
import type { CompletionAnswer } from '../../../server/engine/engine.js';
import { startHarness, unsure, type Harness } from './feedback-harness.js';

// What the engine learns from the feedback signals, at its boundary: the models' weights (Hedge, per language)
// and `ensemble.method: "auto"` (per language), taught by the 30 s capture of what the user kept, and used by the
// next completion. Every completion is in a document of its own content, so no answer comes from the cache unless
// the test means it to. The scripted answers are the same in both languages; only what the user keeps differs.

const ALPHA = 'alpha:7b';
const BETA = 'beta:7b';
const GAMMA = 'gamma:7b';
/** Two models that never agree: alpha's text, beta's text. */
const ALPHA_TEXT = 'a + b';
const BETA_TEXT = 'sum((a, b))';
const MIN_RECORDS = 3;

let h: Harness | undefined;

afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

const python = (name: string) => `def ${name}(a, b):\n    return `;
const typescript = (name: string) => `export function ${name}(a: number, b: number): number {\n  return \n}\n`;

function cursorOf(doc: OpenDocument): number {
  const text = doc.textDocument.getText();
  return text.indexOf('return ') + 'return '.length;
}

/** Shows a completion in a new document; the caller says what the user does with it. */
async function showIn(harness: Harness, path: string, language: 'python' | 'typescript', name: string) {
  const doc = harness.open(path, language, language === 'python' ? python(name) : typescript(name));
  const answer = await harness.complete(doc, cursorOf(doc));
  return { doc, answer };
}

/** The user types `kept` over the suggestion (seen for a while), and the 30 s capture teaches it. */
function keepTyped(harness: Harness, shown: { doc: OpenDocument; answer: CompletionAnswer }, kept: string): void {
  const start = harness.clock.t;
  harness.clock.advance(400);
  harness.typeKeys(shown.doc, cursorOf(shown.doc), kept, 70);
  harness.clock.advanceTo(start + 30_000);
}

/** The user takes the suggestion (an edit inserting it), and the 30 s capture teaches it. */
function keepShown(harness: Harness, shown: { doc: OpenDocument; answer: CompletionAnswer }): void {
  const start = harness.clock.t;
  harness.clock.advance(400);
  const at = cursorOf(shown.doc);
  expect(harness.edit(shown.doc, at, at, shown.answer.text)).toEqual([shown.answer.id]);
  harness.clock.advanceTo(start + 30_000);
}

type WeightsRow = { language: string; records: number; active: boolean; models: { model: string; multiplier: number; records: number }[] };
type MethodsRow = { language: string; records: number; chosen?: string };

function learnedWeights(harness: Harness, language: string): WeightsRow | undefined {
  return (harness.engine.stats().recording!.learnedWeights as WeightsRow[]).find((row) => row.language === language);
}

function multiplier(row: WeightsRow | undefined, model: string): number {
  const entry = row?.models.find((m) => m.model.startsWith(`${model} `));
  expect(entry, `${model} in ${JSON.stringify(row)}`).toBeDefined();
  return entry!.multiplier;
}

function methods(harness: Harness, language: string): MethodsRow | undefined {
  return (harness.engine.stats().recording!.methods as MethodsRow[]).find((row) => row.language === language);
}

/**
 * Alpha (configured 1.2) and beta (1) under WEIGHTED. With two disagreeing candidates WEIGHTED takes the heavier
 * model's, so as configured every pick is alpha's, deterministically (equal weights would leave the pick to the
 * tie-break on measured latency); learned weights flip it once beta's multiplier is 1.2 times alpha's.
 */
async function weightedPair(options: { cache?: boolean } = {}): Promise<Harness> {
  h = await startHarness({
    models: [
      { name: ALPHA, defaultAnswer: unsure(ALPHA_TEXT) },
      { name: BETA, defaultAnswer: unsure(BETA_TEXT) },
    ],
    settings: {
      models: [{ name: ALPHA, weight: 1.2 }, { name: BETA, weight: 1 }],
      ensemble: { method: 'weighted' },
      cache: { enabled: options.cache ?? false },
      feedback: { minRecords: MIN_RECORDS },
    },
  });
  return h;
}

describe('learned weights (Hedge) through the engine', () => {
  it('move toward the model whose candidates the user keeps, per language; the next WEIGHTED pick follows; cached answers stay', async () => {
    const harness = await weightedPair({ cache: true });

    // An answer cached before anything is learned (the document is closed unanswered: it teaches nothing).
    const cached = await showIn(harness, 'cached.py', 'python', 'cached');
    expect(cached.answer).toMatchObject({ text: ALPHA_TEXT, provenance: { method: 'weighted', model: ALPHA } });
    expect(cached.answer.provenance.reused).toBeUndefined();
    harness.engine.forget(cached.doc.uri);
    harness.documents.close(cached.doc.uri);

    // Python: the user writes beta's text over alpha's pick, every time.
    for (let i = 0; i < MIN_RECORDS; i++) {
      const shown = await showIn(harness, `p${i}.py`, 'python', `py${i}`);
      // Until the language has minRecords labelled records, the configured weights pick.
      expect(shown.answer).toMatchObject({ text: ALPHA_TEXT, provenance: { model: ALPHA } });
      expect(shown.answer.provenance.reused).toBeUndefined();
      keepTyped(harness, shown, BETA_TEXT);
      expect(harness.engine.stats().recording!.learnedFrom).toBe(i + 1);
      expect(learnedWeights(harness, 'python')).toMatchObject({ records: i + 1, active: i + 1 >= MIN_RECORDS });
    }
    // TypeScript: the user takes alpha's pick, every time.
    for (let i = 0; i < MIN_RECORDS; i++) {
      const shown = await showIn(harness, `t${i}.ts`, 'typescript', `ts${i}`);
      expect(shown.answer).toMatchObject({ text: ALPHA_TEXT, provenance: { model: ALPHA } });
      keepShown(harness, shown);
    }
    expect(harness.engine.stats().feedback).toMatchObject({ accepted: MIN_RECORDS, rejected: MIN_RECORDS });

    // (a) The report: beta above alpha in Python, and the other way round in TypeScript.
    const py = learnedWeights(harness, 'python');
    const ts = learnedWeights(harness, 'typescript');
    expect(py).toMatchObject({ records: MIN_RECORDS, active: true });
    expect(ts).toMatchObject({ records: MIN_RECORDS, active: true });
    expect(multiplier(py, BETA)).toBeGreaterThan(multiplier(py, ALPHA));
    expect(multiplier(ts, ALPHA)).toBeGreaterThan(multiplier(ts, BETA));
    // Enough to outweigh alpha's configured 1.2 : 1.
    expect(multiplier(py, BETA) / multiplier(py, ALPHA)).toBeGreaterThan(1.2);

    // (b) The next Python completion picks beta's candidate; TypeScript still picks alpha's.
    const nextPy = await showIn(harness, 'p-next.py', 'python', 'pyNext');
    expect(nextPy.answer).toMatchObject({ text: BETA_TEXT, provenance: { method: 'weighted', model: BETA } });
    expect(nextPy.answer.provenance.reused).toBeUndefined();
    const nextTs = await showIn(harness, 't-next.ts', 'typescript', 'tsNext');
    expect(nextTs.answer).toMatchObject({ text: ALPHA_TEXT, provenance: { method: 'weighted', model: ALPHA } });

    // (c) Learning does not change the cache fingerprint: the answer cached before it is still a hit (and it is
    // alpha's, which the learned weights would no longer pick).
    const hitsBefore = harness.engine.stats().cache!.memoryHits;
    const again = await showIn(harness, 'cached-again.py', 'python', 'cached');
    expect(again.answer.provenance.reused).toBe('memory');
    expect(again.answer.text).toBe(ALPHA_TEXT);
    expect(harness.engine.stats().cache!.memoryHits).toBe(hitsBefore + 1);

    // The records say which weights the ensemble used: configured before, learned after.
    const records = await harness.closeAndReadRecords();
    const weightsOf = (id: string) => Object.fromEntries(records.find((r) => r.id === id)!.models.map((m) => [m.model, m.weight]));
    expect(weightsOf(cached.answer.id)).toEqual({ [ALPHA]: 1.2, [BETA]: 1 });
    const used = weightsOf(nextPy.answer.id);
    expect(used[BETA]!).toBeGreaterThan(used[ALPHA]!);
    // Learned weights keep the configured total.
    expect(used[ALPHA]! + used[BETA]!).toBeCloseTo(2.2, 10);
  });
});

describe('ensemble.method "auto" through the engine', () => {
  it('chooses, per language, the method whose picks the user keeps once it has minRecords records; HYBRID before', async () => {
    // Alpha and beta agree on one text, gamma (three times their weight) says another. HYBRID and VOTE answer the
    // agreeing pair's text, WEIGHTED gamma's (3 outweighs 1 + 1).
    h = await startHarness({
      models: [
        { name: ALPHA, defaultAnswer: unsure(ALPHA_TEXT) },
        { name: BETA, defaultAnswer: unsure(ALPHA_TEXT) },
        { name: GAMMA, defaultAnswer: unsure(BETA_TEXT) },
      ],
      settings: {
        models: [ALPHA, BETA, { name: GAMMA, weight: 3 }],
        ensemble: { method: 'auto' },
        cache: { enabled: false },
        feedback: { minRecords: MIN_RECORDS },
      },
    });
    const harness = h;

    // Python: the user keeps gamma's text (WEIGHTED's pick), typed over the pair's that HYBRID showed.
    for (let i = 0; i < MIN_RECORDS; i++) {
      const shown = await showIn(harness, `p${i}.py`, 'python', `py${i}`);
      expect(shown.answer).toMatchObject({ text: ALPHA_TEXT, provenance: { method: 'hybrid', rule: 'agreement' } });
      expect(shown.answer.provenance.answeredInTime).toHaveLength(3);
      keepTyped(harness, shown, BETA_TEXT);
      const row = methods(harness, 'python');
      expect(row).toMatchObject({ records: i + 1 });
      if (i + 1 < MIN_RECORDS) expect(row!.chosen).toBeUndefined();
    }
    expect(methods(harness, 'python')!.chosen).toBe('weighted');
    const nextPy = await showIn(harness, 'p-next.py', 'python', 'pyNext');
    expect(nextPy.answer).toMatchObject({ text: BETA_TEXT, provenance: { method: 'weighted', model: GAMMA } });

    // TypeScript knows nothing yet: HYBRID.
    const firstTs = await showIn(harness, 't0.ts', 'typescript', 'ts0');
    expect(firstTs.answer.provenance.method).toBe('hybrid');
    expect(methods(harness, 'typescript')).toBeUndefined();
    // The user keeps the pair's text (HYBRID's and VOTE's pick): at equal quality HYBRID stays, as it answers sooner.
    keepShown(harness, firstTs);
    for (let i = 1; i < MIN_RECORDS; i++) keepShown(harness, await showIn(harness, `t${i}.ts`, 'typescript', `ts${i}`));
    expect(methods(harness, 'typescript')).toMatchObject({ records: MIN_RECORDS, chosen: 'hybrid' });
    const nextTs = await showIn(harness, 't-next.ts', 'typescript', 'tsNext');
    expect(nextTs.answer).toMatchObject({ text: ALPHA_TEXT, provenance: { method: 'hybrid' } });
    // And Python keeps its own choice.
    const laterPy = await showIn(harness, 'p-later.py', 'python', 'pyLater');
    expect(laterPy.answer.provenance.method).toBe('weighted');
  });
});

describe('what the learner keeps', () => {
  it('an accept whose document is closed before its 30 s capture still teaches its accepted text', async () => {
    const harness = await weightedPair();
    const shown = await showIn(harness, 'a.py', 'python', 'closedSoon');
    expect(shown.answer.text).toBe(ALPHA_TEXT);
    harness.clock.advance(400);
    const at = cursorOf(shown.doc);
    expect(harness.edit(shown.doc, at, at, ALPHA_TEXT)).toEqual([shown.answer.id]);
    harness.clock.advance(3_000);
    harness.engine.forget(shown.doc.uri);
    harness.documents.close(shown.doc.uri);
    // No capture will come: the accepted text is what the user kept.
    expect(harness.engine.stats().recording!.learnedFrom).toBe(1);
    const row = learnedWeights(harness, 'python');
    expect(row).toMatchObject({ records: 1 });
    expect(multiplier(row, ALPHA)).toBeGreaterThan(multiplier(row, BETA));
  });

  it('learned weights survive a restart on the same data directory, an accept still within its 30 s included', async () => {
    const harness = await weightedPair();
    for (let i = 0; i < MIN_RECORDS; i++) keepTyped(harness, await showIn(harness, `p${i}.py`, 'python', `py${i}`), BETA_TEXT);
    expect(learnedWeights(harness, 'python')).toMatchObject({ records: MIN_RECORDS, active: true });
    // Now beta's text is shown, and taken; the server stops 2 s later, before the capture.
    const taken = await showIn(harness, 'taken.py', 'python', 'taken');
    expect(taken.answer).toMatchObject({ text: BETA_TEXT, provenance: { model: BETA } });
    harness.clock.advance(400);
    const at = cursorOf(taken.doc);
    expect(harness.edit(taken.doc, at, at, BETA_TEXT)).toEqual([taken.answer.id]);
    harness.clock.advance(2_000);
    await harness.restart();
    const row = learnedWeights(harness, 'python');
    expect(row).toMatchObject({ records: MIN_RECORDS + 1, active: true });
    expect(multiplier(row, BETA)).toBeGreaterThan(multiplier(row, ALPHA));
    const next = await showIn(harness, 'after-restart.py', 'python', 'afterRestart');
    expect(next.answer).toMatchObject({ text: BETA_TEXT, provenance: { method: 'weighted', model: BETA } });
  });
});
