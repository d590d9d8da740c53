import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { similarity } from '../../../server/engine/fusion/similarity.js';
import type { FeedbackRecord } from '../../../server/feedback/record.js';
import { T0, startHarness, unsure, type Harness } from './feedback-harness.js';

// The passive feedback signals at the engine's boundary: a completion shown by `engine.complete`, then what the
// user does as didChange edits (`DocumentStore.change` + `engine.edited`), on a clock the test drives. What the
// signals decide is read twice: the session counters (`engine.stats().feedback`) and the records committed to the
// data directory's LMDB (read back after the engine is closed).

const MODEL = 'alpha:7b';
const SOURCE = 'export function add(a: number, b: number): number {\n  return \n}\n';
const CURSOR = SOURCE.indexOf('return ') + 'return '.length;
const ANSWER = 'a + b;';

let h: Harness | undefined;

afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

async function start(feedback: Record<string, unknown> = {}, options: { declareRoot?: boolean; cache?: boolean } = {}): Promise<Harness> {
  h = await startHarness({
    models: [{ name: MODEL, defaultAnswer: unsure(ANSWER) }],
    // The cache off unless asked for: typed-ahead answers (a cache feature) are a test of their own.
    settings: { models: [MODEL], cache: { enabled: options.cache ?? false }, feedback },
    declareRoot: options.declareRoot,
  });
  return h;
}

/** Opens `path` with SOURCE and shows the completion at the cursor (at the clock's current time). */
async function show(harness: Harness, path = 'src/add.ts') {
  const doc = harness.open(path, 'typescript', SOURCE);
  const answer = await harness.complete(doc, CURSOR);
  expect(answer.text).toBe(ANSWER);
  return { doc, answer };
}

function counters(harness: Harness) {
  return harness.engine.stats().feedback;
}

function only(records: FeedbackRecord[], id: string): FeedbackRecord {
  expect(records.map((r) => r.id)).toEqual([id]);
  return records[0]!;
}

/** The line the cursor was on, as it reads now. */
function cursorLine(harness: Harness, uri: string): string {
  return harness.documents.get(uri)!.textDocument.getText().split('\n')[1]!;
}

describe('passive signals through the engine', () => {
  it('typing something else over a suggestion seen for 250 ms rejects it at 10 s, not before', async () => {
    const harness = await start();
    const { doc, answer } = await show(harness);
    harness.clock.advance(300);
    harness.typeKeys(doc, CURSOR, 'Math.max(a, b);', 60);
    expect(cursorLine(harness, doc.uri)).toBe('  return Math.max(a, b);');
    // Typed over, but the rule decides at the deadline: an accept could still come.
    harness.clock.advanceTo(T0 + 9_999);
    expect(counters(harness).rejected).toBe(0);
    harness.clock.advanceTo(T0 + 10_000);
    expect(counters(harness)).toMatchObject({ rejected: 1, accepted: 0, partiallyAccepted: 0 });
    harness.clock.advanceTo(T0 + 30_000);
    const record = only(await harness.closeAndReadRecords(), answer.id);
    expect(record).toMatchObject({ label: 'rejected', signal: 'typed-over', decidedAt: T0 + 10_000, chosen: ANSWER, captured: 'Math.max(a, b);' });
    expect(record.time).toBe(T0);
  });

  it('typing over a suggestion sooner than 250 ms after it appeared is no rejection (it was not read)', async () => {
    const harness = await start();
    const { doc, answer } = await show(harness);
    harness.clock.advance(150);
    harness.edit(doc, CURSOR, CURSOR, 'M');
    harness.typeKeys(doc, CURSOR + 1, 'ath.max(a, b);', 60);
    harness.clock.advanceTo(T0 + 30_000);
    expect(counters(harness).rejected).toBe(0);
    const record = only(await harness.closeAndReadRecords(), answer.id);
    expect(record.label).toBe('ignored');
    expect(record.signal).toBeUndefined();
    // What the user wrote there is still captured: it teaches as much as a rejection would.
    expect(record.captured).toBe('Math.max(a, b);');
  });

  it('typing along the suggestion, even to its end key by key, neither rejects nor accepts it', async () => {
    const harness = await start();
    const { doc, answer } = await show(harness);
    harness.clock.advance(400);
    harness.typeKeys(doc, CURSOR, 'a + ', 120);
    harness.clock.advanceTo(T0 + 10_000);
    expect(counters(harness)).toMatchObject({ rejected: 0, accepted: 0 });
    // A text typed out by hand is not an accept (each key brings one character of it).
    harness.typeKeys(doc, CURSOR + 4, 'b;', 120);
    expect(cursorLine(harness, doc.uri)).toBe('  return a + b;');
    harness.clock.advanceTo(T0 + 30_000);
    expect(counters(harness)).toMatchObject({ rejected: 0, accepted: 0, acceptedChars: 0 });
    const record = only(await harness.closeAndReadRecords(), answer.id);
    expect(record.label).toBe('ignored');
    expect(record.captured).toBe(ANSWER);
    expect(record.capturedSimilarity).toBe(1);
  });

  it('an edit that puts the text where it was offered accepts it (signal edit); retention follows later edits', async () => {
    const harness = await start();
    const { doc, answer } = await show(harness);
    harness.clock.advance(700);
    // Helix and Eglot insert the item without running its command: the edit is the accept.
    expect(harness.edit(doc, CURSOR, CURSOR, ANSWER)).toEqual([answer.id]);
    expect(counters(harness)).toMatchObject({ accepted: 1, partiallyAccepted: 0, rejected: 0, acceptedChars: ANSWER.length });
    // A small fix inside the accepted text: still retained (distance 1 of 6).
    harness.clock.advance(5_000);
    harness.edit(doc, CURSOR + 4, CURSOR + 4, 'b');
    expect(cursorLine(harness, doc.uri)).toBe('  return a + bb;');
    // More code after it is not part of what was accepted.
    harness.typeKeys(doc, CURSOR + ANSWER.length + 1, ' // sum', 50);
    harness.clock.advanceTo(T0 + 700 + 30_000);
    const record = only(await harness.closeAndReadRecords(), answer.id);
    expect(record).toMatchObject({ label: 'accepted', signal: 'edit', acceptedLength: ANSWER.length, decidedAt: T0 + 700, captured: 'a + bb;' });
    expect(record.retention).toEqual([{ afterS: 30, distanceRatio: 1 / ANSWER.length, retained: true }]);
  });

  it('an undo after the accept: the retention checks at 30 s, 2 min and 10 min find it gone', async () => {
    const harness = await start();
    const { doc, answer } = await show(harness);
    harness.clock.advance(500);
    expect(harness.edit(doc, CURSOR, CURSOR, ANSWER)).toEqual([answer.id]);
    harness.clock.advance(1_500);
    // Undo: the editor deletes what the accept inserted.
    harness.edit(doc, CURSOR, CURSOR + ANSWER.length, '');
    expect(harness.documents.get(doc.uri)!.textDocument.getText()).toBe(SOURCE);
    harness.clock.advanceTo(T0 + 500 + 30_000);
    expect(counters(harness)).toMatchObject({ accepted: 1, rejected: 0 });
    harness.clock.advanceTo(T0 + 500 + 600_000);
    const record = only(await harness.closeAndReadRecords(), answer.id);
    expect(record).toMatchObject({ label: 'accepted', signal: 'edit', captured: '' });
    expect(record.retention).toEqual([
      { afterS: 30, distanceRatio: 1, retained: false },
      { afterS: 120, distanceRatio: 1, retained: false },
      { afterS: 600, distanceRatio: 1, retained: false },
    ]);
  });

  it('a partial accept, then an edit that inserts the rest: accepted by the edit, counted once', async () => {
    const harness = await start();
    const { doc, answer } = await show(harness);
    harness.clock.advance(600);
    // A word accept: the editor inserts "a " and reports the accepted length.
    expect(harness.edit(doc, CURSOR, CURSOR, 'a ')).toEqual([]);
    expect(harness.engine.accept(answer.id, 2)).toBe(true);
    expect(counters(harness)).toMatchObject({ accepted: 0, partiallyAccepted: 1, acceptedChars: 2 });
    harness.clock.advance(900);
    // Then the rest of the item in one edit.
    expect(harness.edit(doc, CURSOR + 2, CURSOR + 2, '+ b;')).toEqual([answer.id]);
    expect(counters(harness)).toMatchObject({ accepted: 1, partiallyAccepted: 0, acceptedChars: ANSWER.length, rejected: 0 });
    harness.clock.advanceTo(T0 + 30_000);
    const record = only(await harness.closeAndReadRecords(), answer.id);
    expect(record).toMatchObject({ label: 'accepted', signal: 'edit', acceptedLength: ANSWER.length, decidedAt: T0 + 1_500, captured: ANSWER });
  });

  it('a partial accept, then the user writes something else after it: partly accepted, never rejected', async () => {
    const harness = await start();
    const { doc, answer } = await show(harness);
    harness.clock.advance(600);
    harness.edit(doc, CURSOR, CURSOR, 'a ');
    expect(harness.engine.accept(answer.id, 2)).toBe(true);
    harness.typeKeys(doc, CURSOR + 2, '- b;', 100);
    harness.clock.advanceTo(T0 + 600 + 30_000);
    expect(counters(harness)).toMatchObject({ accepted: 0, partiallyAccepted: 1, rejected: 0, acceptedChars: 2 });
    const record = only(await harness.closeAndReadRecords(), answer.id);
    expect(record).toMatchObject({ label: 'partlyAccepted', signal: 'partial', acceptedLength: 2, captured: 'a - b;' });
    // The accepted "a " still stands.
    expect(record.retention).toEqual([{ afterS: 30, distanceRatio: 0, retained: true }]);
  });

  it('an editor that inserts the item and then runs its accept command: counted once, the record says command', async () => {
    const harness = await start();
    const { doc, answer } = await show(harness);
    harness.clock.advance(800);
    expect(harness.edit(doc, CURSOR, CURSOR, ANSWER)).toEqual([answer.id]);
    expect(harness.engine.accept(answer.id)).toBe(true);
    expect(counters(harness)).toMatchObject({ accepted: 1, acceptedChars: ANSWER.length });
    harness.clock.advanceTo(T0 + 800 + 30_000);
    const record = only(await harness.closeAndReadRecords(), answer.id);
    expect(record).toMatchObject({ label: 'accepted', signal: 'command', acceptedLength: ANSWER.length, decidedAt: T0 + 800 });
    expect(record.retention).toEqual([{ afterS: 30, distanceRatio: 0, retained: true }]);
  });

  it('an explicit accept after a rejection wins: the session counters follow the label', async () => {
    const harness = await start();
    const { doc, answer } = await show(harness);
    harness.clock.advance(300);
    harness.typeKeys(doc, CURSOR, 'null;', 60);
    harness.clock.advanceTo(T0 + 10_000);
    expect(counters(harness)).toMatchObject({ rejected: 1, accepted: 0 });
    // The user takes it after all (it is still tracked until its capture).
    harness.clock.advance(2_000);
    expect(harness.engine.accept(answer.id)).toBe(true);
    expect(counters(harness)).toMatchObject({ rejected: 0, accepted: 1, acceptedChars: ANSWER.length });
    const record = only(await harness.closeAndReadRecords(), answer.id);
    expect(record).toMatchObject({ label: 'accepted', signal: 'command', decidedAt: T0 + 12_000 });
  });

  it('closing the document decides a typed-over suggestion at once', async () => {
    const harness = await start();
    const { doc, answer } = await show(harness);
    harness.clock.advance(300);
    harness.typeKeys(doc, CURSOR, 'null;', 100);
    // didClose, as the server handles it.
    harness.engine.forget(doc.uri);
    harness.documents.close(doc.uri);
    expect(counters(harness).rejected).toBe(1);
    harness.clock.advance(60_000);
    const record = only(await harness.closeAndReadRecords(), answer.id);
    expect(record).toMatchObject({ label: 'rejected', signal: 'typed-over', decidedAt: T0 + 800 });
    // No capture is made up after the close.
    expect(record.captured).toBeUndefined();
  });

  it('typing along, the rest shown from typed-ahead, then typed over: the rest is rejected, the model’s answer is not', async () => {
    const harness = await start({}, { cache: true });
    const { doc, answer } = await show(harness);
    harness.clock.advance(300);
    harness.typeKeys(doc, CURSOR, 'a + ', 100);
    // The editor asks again as the user types: the rest of the shown answer, without a model.
    const rest = await harness.complete(doc, CURSOR + 4);
    expect(rest).toMatchObject({ text: 'b;', provenance: { reused: 'typed-ahead' } });
    // Typed over 100 ms after the rest appeared: its text has been on screen since the first answer.
    harness.clock.advance(100);
    harness.typeKeys(doc, CURSOR + 4, 'c;', 100);
    harness.clock.advanceTo(T0 + 40_000);
    expect(counters(harness)).toMatchObject({ rejected: 1, accepted: 0 });
    const records = await harness.closeAndReadRecords();
    expect(records.map((r) => r.id).sort()).toEqual([answer.id, rest.id].sort());
    const first = records.find((r) => r.id === answer.id)!;
    const second = records.find((r) => r.id === rest.id)!;
    expect(second).toMatchObject({ served: 'typed-ahead', chosen: 'b;', label: 'rejected', signal: 'typed-over', decidedAt: T0 + 700 + 10_000, captured: 'c;' });
    // The model's answer left the screen when the rest replaced it; what the user wrote at its place is its capture.
    expect(first).toMatchObject({ served: 'model', label: 'ignored', captured: 'a + c;' });
    expect(first.signal).toBeUndefined();
  });

  it('the capture at 30 s is what the user typed at the place, corrections included, cut to the suggestion’s lines', async () => {
    const harness = await start();
    const { doc, answer } = await show(harness);
    harness.clock.advance(300);
    harness.typeKeys(doc, CURSOR, 'a -', 100);
    // Backspace, then the operator they meant.
    harness.clock.advance(200);
    harness.edit(doc, CURSOR + 2, CURSOR + 3, '');
    harness.typeKeys(doc, CURSOR + 2, '* b;', 100);
    // The next line, typed later, is not part of a one-line suggestion's capture.
    harness.typeKeys(doc, CURSOR + 6, '\n  // product', 50);
    harness.clock.advanceTo(T0 + 29_999);
    harness.clock.advanceTo(T0 + 30_000);
    expect(counters(harness)).toMatchObject({ rejected: 1, accepted: 0 });
    const record = only(await harness.closeAndReadRecords(), answer.id);
    expect(record).toMatchObject({ label: 'rejected', captured: 'a * b;' });
    expect(record.capturedSimilarity).toBeCloseTo(similarity(ANSWER, 'a * b;'), 10);
  });
});

describe('what is not recorded', () => {
  it('feedback.enabled false: nothing reaches the store and nothing is learned, the session counters still count', async () => {
    const harness = await start({ enabled: false, minRecords: 1 });
    const first = await show(harness, 'a.ts');
    harness.clock.advance(500);
    expect(harness.edit(first.doc, CURSOR, CURSOR, ANSWER)).toEqual([first.answer.id]);
    const second = await show(harness, 'b.ts');
    harness.clock.advance(500);
    harness.typeKeys(second.doc, CURSOR, 'null;', 50);
    harness.clock.advance(40_000);
    expect(counters(harness)).toMatchObject({ accepted: 1, rejected: 1, acceptedChars: ANSWER.length });
    expect(harness.engine.stats().recording!).toMatchObject({ enabled: false, shown: 0, learnedFrom: 0, learnedWeights: [], methods: [] });
    expect(await harness.closeAndReadRecords()).toEqual([]);
  });

  it('a file the workspace’s .gitignore ignores is never recorded; its signals still count', async () => {
    const harness = await start({}, { declareRoot: true });
    writeFileSync(join(harness.workspace, '.gitignore'), 'secret/\n*.local.ts\n');
    mkdirSync(join(harness.workspace, 'secret'));
    const hidden = await show(harness, 'secret/keys.ts');
    harness.clock.advance(500);
    expect(harness.edit(hidden.doc, CURSOR, CURSOR, ANSWER)).toEqual([hidden.answer.id]);
    const local = await show(harness, 'config.local.ts');
    harness.clock.advance(500);
    harness.typeKeys(local.doc, CURSOR, 'null;', 50);
    const kept = await show(harness, 'src/add.ts');
    harness.clock.advance(40_000);
    expect(counters(harness)).toMatchObject({ accepted: 1, rejected: 1 });
    expect(harness.engine.stats().recording!).toMatchObject({ shown: 1, ignoredFiles: 2 });
    const record = only(await harness.closeAndReadRecords(), kept.answer.id);
    expect(record.file).toBe('src/add.ts');
  });
});
