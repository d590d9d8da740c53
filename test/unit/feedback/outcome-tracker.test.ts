import { distance } from 'fastest-levenshtein';
import { describe, expect, it } from 'vitest';
import { similarity } from '../../../server/engine/fusion/similarity.js';
import {
  ACCEPT_BY_EDIT_MS,
  OutcomeTracker,
  applyOutcomePatch,
  type OutcomePatch,
  type OutcomeTrackerOptions,
  type TextEdit,
  type TrackedDocument,
} from '../../../server/feedback/outcome-tracker.js';
import type { FeedbackRecord } from '../../../server/feedback/record.js';
import { narrowReplacement } from '../../../server/feedback/region.js';

const T0 = 1_700_000_000_000;

class Doc implements TrackedDocument {
  version = 1;
  constructor(
    readonly uri: string,
    public text: string,
  ) {}
  getText(): string {
    return this.text;
  }
}

function baseRecord(id: string, chosen: string): FeedbackRecord {
  return {
    schema: 1,
    id,
    time: T0,
    language: 'typescript',
    file: 'a.ts',
    method: 'single',
    rule: 'single',
    chosenModel: 'm',
    chosen,
    chosenLength: chosen.length,
    served: 'model',
    latencyMs: 100,
    models: [],
    level: 'full',
    label: 'ignored',
  };
}

/** A tracker on a manual clock, with the patches it sends kept and merged into records. */
function setup(options: Partial<OutcomeTrackerOptions> = {}) {
  let clock = T0;
  const patches: { id: string; patch: OutcomePatch; at: number }[] = [];
  const records = new Map<string, FeedbackRecord>();
  const timers: { delay: number; fire: () => void; armed: boolean }[] = [];
  const tracker = new OutcomeTracker({
    now: () => clock,
    schedule: (delay, fire) => {
      const timer = { delay, fire, armed: true };
      timers.push(timer);
      return () => (timer.armed = false);
    },
    onUpdate: (id, patch) => {
      patches.push({ id, patch, at: clock });
      const record = records.get(id);
      if (record) records.set(id, applyOutcomePatch(record, patch));
    },
    ...options,
  });
  const h = {
    tracker,
    patches,
    timers,
    /** Sets the clock to T0 + ms and runs what is due. */
    at(ms: number) {
      clock = T0 + ms;
      tracker.runDue();
    },
    show(doc: Doc, id: string, text: string, offset: number, recordText = true) {
      records.set(id, baseRecord(id, text));
      expect(tracker.shown(doc, { id, text, offset, recordText })).toBe(true);
    },
    /** One didChange of one or more changes, applied in order. */
    edit(doc: Doc, ...changes: TextEdit[]): string[] {
      for (const c of changes) doc.text = doc.text.slice(0, c.start) + c.text + doc.text.slice(c.end);
      doc.version++;
      return tracker.edited(doc, changes);
    },
    /** Types `chars` one key at a time at `offset`, starting at `fromMs`, `stepMs` apart. */
    type(doc: Doc, offset: number, chars: string, fromMs: number, stepMs = 100): string[] {
      const accepted: string[] = [];
      [...chars].forEach((c, i) => {
        h.at(fromMs + i * stepMs);
        accepted.push(...h.edit(doc, { start: offset + i, end: offset + i, text: c }));
      });
      return accepted;
    },
    record(id: string): FeedbackRecord {
      return records.get(id)!;
    },
    of(id: string): OutcomePatch[] {
      return patches.filter((p) => p.id === id).map((p) => p.patch);
    },
  };
  return h;
}

const FN = 'function add(a: number, b: number) {\n  return \n}\n';
const AT = FN.indexOf('return ') + 'return '.length;

describe('typed over', () => {
  it('rejects a suggestion typed over after it was visible 300 ms, at 10 s after showing', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    h.show(doc, 's1', 'a + b;', AT);
    h.type(doc, AT, 'b', 300);
    h.at(9_999);
    expect(h.record('s1').label).toBe('ignored');
    expect(h.of('s1')).toEqual([]);
    h.at(10_000);
    expect(h.record('s1')).toMatchObject({ label: 'rejected', signal: 'typed-over', decidedAt: T0 + 10_000 });
  });

  it('does not reject one typed over 100 ms after it appeared (too quick to have been read), nor later', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    h.show(doc, 's1', 'a + b;', AT);
    h.type(doc, AT, 'b', 100);
    // More typing there once it would have been readable changes nothing: it is no longer on screen.
    h.type(doc, AT + 1, ' * 2;', 1_000);
    h.at(60_000);
    expect(h.record('s1').label).toBe('ignored');
    expect(h.of('s1').some((p) => p.label !== undefined)).toBe(false);
  });

  it('typing along its first characters is not a rejection; diverging after that is', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    h.show(doc, 'along', 'a + b;', AT);
    h.type(doc, AT, 'a + ', 500, 700);
    h.at(10_000);
    expect(h.record('along').label).toBe('ignored');

    const doc2 = new Doc('file:///b.ts', FN);
    h.show(doc2, 'diverge', 'a + b;', AT);
    h.type(doc2, AT, 'a + c', 10_100, 300);
    h.at(20_100);
    expect(h.record('diverge')).toMatchObject({ label: 'rejected', signal: 'typed-over' });
  });

  it('deleting at its place is not typing over', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    h.show(doc, 's1', 'a + b;', AT);
    h.at(1_000);
    h.edit(doc, { start: AT - 1, end: AT, text: '' });
    h.at(10_000);
    expect(h.record('s1').label).toBe('ignored');
  });

  it('the typed-ahead rest keeps the time its text was on screen; a different answer starts again', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    h.show(doc, 'first', 'a + b;', AT);
    h.type(doc, AT, 'a', 150);
    h.at(200);
    // Typed along: the server answers the rest from the first answer.
    h.show(doc, 'rest', ' + b;', AT + 1);
    h.type(doc, AT + 1, '-', 300);
    h.at(20_000);
    expect(h.record('rest')).toMatchObject({ label: 'rejected', signal: 'typed-over' });
    // The first was superseded by its rest: one rejection for what was on screen.
    expect(h.record('first').label).toBe('ignored');

    const doc2 = new Doc('file:///b.ts', FN);
    h.show(doc2, 'old', 'a + b;', AT);
    h.at(21_000);
    h.show(doc2, 'new', 'Math.max(a, b);', AT);
    h.type(doc2, AT, 'b', 21_100);
    h.at(40_000);
    expect(h.record('new').label).toBe('ignored');
    expect(h.record('old').label).toBe('ignored');
  });

  it('a newer suggestion elsewhere in the document takes it off screen: typing at its place later is not its rejection', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN + '\nconst x = \n');
    const other = doc.text.length - 1;
    h.show(doc, 'here', 'a + b;', AT);
    h.at(1_000);
    h.show(doc, 'there', '42;', other);
    expect(h.tracker.outcome('here')?.visible).toBe(false);
    expect(h.tracker.outcome('there')?.visible).toBe(true);
    h.type(doc, AT, 'b', 2_000);
    h.at(15_000);
    expect(h.record('here').label).toBe('ignored');
    expect(h.record('there').label).toBe('ignored');
  });

  it('an accept command within 10 s wins over typing over; after a rejection too', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    h.show(doc, 's1', 'a + b;', AT);
    h.type(doc, AT, 'x', 400);
    h.at(800);
    h.edit(doc, { start: AT, end: AT + 1, text: '' });
    h.edit(doc, { start: AT, end: AT, text: 'a + b;' });
    // The edit accepted it already; the command restates how.
    expect(h.record('s1')).toMatchObject({ label: 'accepted', signal: 'edit' });
    expect(h.tracker.accept('s1')).toBe(true);
    h.at(10_000);
    expect(h.record('s1')).toMatchObject({ label: 'accepted', signal: 'command', acceptedLength: 6 });

    const doc2 = new Doc('file:///b.ts', FN);
    h.show(doc2, 's2', 'a + b;', AT);
    h.type(doc2, AT, 'x', 10_400);
    h.at(20_000);
    expect(h.record('s2').label).toBe('rejected');
    h.at(21_000);
    expect(h.tracker.accept('s2')).toBe(true);
    expect(h.record('s2')).toMatchObject({ label: 'accepted', signal: 'command', decidedAt: T0 + 21_000 });
  });
});

describe('explicit signals', () => {
  it('a dismissal rejects once; it cannot undo an accept', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    h.show(doc, 's1', 'a + b;', AT);
    h.at(2_000);
    expect(h.tracker.reject('s1')).toBe(true);
    expect(h.record('s1')).toMatchObject({ label: 'rejected', signal: 'dismissed', decidedAt: T0 + 2_000 });
    expect(h.tracker.reject('s1')).toBe(false);
    h.show(doc, 's2', 'a * b;', AT);
    expect(h.tracker.accept('s2')).toBe(true);
    expect(h.tracker.reject('s2')).toBe(false);
    expect(h.record('s2').label).toBe('accepted');
    expect(h.tracker.accept('nope')).toBe(false);
    expect(h.tracker.reject('nope')).toBe(false);
  });

  it('partial accepts keep the longest, and one taken to its end is an accept', () => {
    const h = setup();
    const text = 'const total = items.length;';
    const doc = new Doc('file:///a.ts', 'function f(items: string[]) {\n  \n}\n');
    const at = doc.text.indexOf('\n  ') + 3;
    h.show(doc, 's1', text, at);
    h.at(1_000);
    h.edit(doc, { start: at, end: at, text: 'const' });
    expect(h.tracker.accept('s1', 5)).toBe(true);
    expect(h.record('s1')).toMatchObject({ label: 'partlyAccepted', acceptedLength: 5, signal: 'partial', decidedAt: T0 + 1_000 });
    h.at(2_000);
    h.edit(doc, { start: at + 5, end: at + 5, text: ' total' });
    h.tracker.accept('s1', 11);
    // A shorter report (a client repeating an older one) keeps the longest.
    h.tracker.accept('s1', 5);
    expect(h.record('s1')).toMatchObject({ label: 'partlyAccepted', acceptedLength: 11, decidedAt: T0 + 1_000 });
    expect(h.tracker.outcome('s1')?.region).toEqual({ start: at, end: at + 11 });
    // Word by word to the end: the last word is one character, so only the command says it was taken.
    h.edit(doc, { start: at + 11, end: at + 11, text: ' = items.length' });
    h.tracker.accept('s1', 26);
    h.at(3_000);
    expect(h.edit(doc, { start: at + 26, end: at + 26, text: ';' })).toEqual([]);
    expect(h.record('s1').label).toBe('partlyAccepted');
    h.tracker.accept('s1', 27);
    expect(h.record('s1')).toMatchObject({ label: 'accepted', acceptedLength: 27, signal: 'partial', decidedAt: T0 + 3_000 });
  });

  it('a partial accept, then the user edits: retention of the part taken, capture of what stands there', () => {
    const h = setup();
    const text = 'const total = items.length;';
    const doc = new Doc('file:///a.ts', 'function f(items: string[]) {\n  \n}\n');
    const at = doc.text.indexOf('\n  ') + 3;
    h.show(doc, 's1', text, at);
    h.at(1_000);
    h.edit(doc, { start: at, end: at, text: 'const total' });
    h.tracker.accept('s1', 11);
    // The user writes the rest themselves, then renames the variable.
    h.type(doc, at + 11, ' = 0;', 2_000);
    h.at(10_000);
    h.edit(doc, { start: at + 6, end: at + 11, text: 'sum' });
    expect(doc.text.slice(at, doc.text.indexOf('\n', at))).toBe('const sum = 0;');
    // Shown at 0, accepted at 1 s: the capture at 30 s, the first check at 31 s.
    h.at(30_000);
    expect(h.record('s1')).toMatchObject({ captured: 'const sum = 0;', capturedSimilarity: similarity(text, 'const sum = 0;') });
    expect(h.record('s1').retention).toBeUndefined();
    h.at(31_000);
    expect(h.record('s1').retention).toEqual([{ afterS: 30, distanceRatio: 5 / 11, retained: true }]);
    h.at(40_000);
    h.edit(doc, { start: at, end: at + 5, text: 'let' });
    h.at(121_000);
    expect(h.record('s1').retention!.at(-1)).toEqual({ afterS: 120, distanceRatio: distance('const total', 'let sum') / 11, retained: false });
  });
});

describe('accept by edit (Helix, Eglot)', () => {
  const LINE = 'function f(items: string[]) {\n  const n = it;\n}\n';
  const cursor = LINE.indexOf('it;') + 2;
  const wordStart = cursor - 2;
  const lineEnd = LINE.indexOf(';\n') + 1;

  it('a popup item replacing the typed word and the rest of the line is the accept', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', LINE);
    h.show(doc, 's1', 'ems.length', cursor);
    h.at(1_500);
    const ids = h.edit(doc, { start: wordStart, end: lineEnd, text: 'it' + 'ems.length' + ';' });
    expect(ids).toEqual(['s1']);
    expect(h.record('s1')).toMatchObject({ label: 'accepted', signal: 'edit', acceptedLength: 10, decidedAt: T0 + 1_500 });
    expect(h.tracker.outcome('s1')?.region).toEqual({ start: cursor, end: cursor + 10 });
    // Counted once.
    expect(h.edit(doc, { start: 0, end: 0, text: '// x\n' })).toEqual([]);
    expect(h.of('s1').filter((p) => p.label)).toHaveLength(1);
  });

  it("Eglot's delete-then-insert of the item in one didChange is the accept", () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', LINE);
    h.show(doc, 's1', 'ems.length', cursor);
    h.at(1_500);
    const ids = h.edit(doc, { start: wordStart, end: lineEnd, text: '' }, { start: wordStart, end: wordStart, text: 'items.length;' });
    expect(ids).toEqual(['s1']);
    expect(h.tracker.outcome('s1')?.region).toEqual({ start: cursor, end: cursor + 10 });
  });

  it('the newest of the suggestions whose text stands there is the one accepted', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', LINE);
    h.show(doc, 'old', 'ems.length', cursor);
    h.type(doc, cursor, 'e', 300);
    h.at(400);
    h.show(doc, 'new', 'ms.length', cursor + 1);
    h.at(900);
    expect(h.edit(doc, { start: wordStart, end: lineEnd + 1, text: 'ite' + 'ms.length' + ';' })).toEqual(['new']);
    expect(h.record('old').label).toBe('ignored');
  });

  it('a text typed out by hand, key by key, is not an accept; nor a one-character one', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', LINE);
    h.show(doc, 's1', 'ems.length', cursor);
    expect(h.type(doc, cursor, 'ems.length', 300)).toEqual([]);
    h.at(15_000);
    expect(h.record('s1').label).toBe('ignored');

    const doc2 = new Doc('file:///b.ts', 'f(a\n');
    h.show(doc2, 's2', ')', 3);
    h.at(16_000);
    expect(h.edit(doc2, { start: 3, end: 3, text: ')' })).toEqual([]);
  });

  it('a CRLF document gets the answer with its own line breaks; retention reads them as \\n', () => {
    const h = setup();
    const crlf = 'if (ready) {\r\n  \r\n}\r\n';
    const doc = new Doc('file:///a.ts', crlf);
    const at = crlf.indexOf('\r\n  ') + 4;
    const text = 'start();\n  report();';
    h.show(doc, 's1', text, at);
    h.at(700);
    expect(h.edit(doc, { start: at, end: at, text: text.replace(/\n/g, '\r\n') })).toEqual(['s1']);
    h.at(30_700);
    expect(h.record('s1').retention).toEqual([{ afterS: 30, distanceRatio: 0, retained: true }]);
    expect(h.record('s1').captured).toBe(text);
  });

  it('no longer than 5 min after showing', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', LINE);
    h.show(doc, 's1', 'ems.length', cursor);
    h.at(ACCEPT_BY_EDIT_MS + 1_000);
    expect(h.edit(doc, { start: cursor, end: cursor, text: 'ems.length' })).toEqual([]);
    expect(h.tracker.size).toBe(0);
  });
});

describe('retention', () => {
  it('an accept undone: the text is gone at the 30 s check', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    h.show(doc, 's1', 'a + b;', AT);
    h.at(500);
    // VS Code: the insertion, then the command.
    expect(h.edit(doc, { start: AT, end: AT, text: 'a + b;' })).toEqual(['s1']);
    h.tracker.accept('s1');
    h.at(5_000);
    h.edit(doc, { start: AT, end: AT + 6, text: '' });
    h.at(30_499);
    expect(h.record('s1').retention).toBeUndefined();
    h.at(30_500);
    expect(h.record('s1').retention).toEqual([{ afterS: 30, distanceRatio: 1, retained: false }]);
  });

  it('at 30 s, 2 min and 10 min, through edits before, inside and after the region', () => {
    const h = setup();
    const body = 'function clean(items) {\n  \n}\n';
    const doc = new Doc('file:///a.js', body);
    const at = body.indexOf('\n  ') + 3;
    const text = 'return items.filter(Boolean);';
    h.show(doc, 's1', text, at);
    h.at(1_000);
    // Accepted before the client's edit arrives: the region waits at the offset for the text.
    expect(h.tracker.accept('s1')).toBe(true);
    expect(h.edit(doc, { start: at, end: at, text })).toEqual([]);
    // Before: an import above; after: a line below.
    h.at(5_000);
    h.edit(doc, { start: 0, end: 0, text: "import { log } from './log.js';\n" });
    const start = at + 32;
    h.edit(doc, { start: start + text.length, end: start + text.length, text: '\n  log(items);' });
    h.at(31_000);
    expect(h.record('s1').retention).toEqual([{ afterS: 30, distanceRatio: 0, retained: true }]);
    // Inside: a different filter.
    h.at(60_000);
    const inner = start + text.indexOf('Boolean');
    h.edit(doc, { start: inner, end: inner + 'Boolean'.length, text: '(x) => x != null' });
    const now = 'return items.filter((x) => x != null);';
    expect(doc.text.slice(start, start + now.length)).toBe(now);
    h.at(121_000);
    const ratio = distance(text, now) / text.length;
    expect(h.record('s1').retention!.at(-1)).toEqual({ afterS: 120, distanceRatio: ratio, retained: ratio <= 0.5 });
    // The whole region replaced by something else.
    h.at(300_000);
    h.edit(doc, { start, end: start + now.length, text: 'return [];' });
    h.at(600_999);
    expect(h.record('s1').retention).toHaveLength(2);
    h.at(601_000);
    const last = distance(text, 'return [];') / text.length;
    expect(h.record('s1').retention!.at(-1)).toEqual({ afterS: 600, distanceRatio: last, retained: false });
    expect(h.record('s1').retention!.map((r) => r.afterS)).toEqual([30, 120, 600]);
    // Nothing left to do for it.
    expect(h.tracker.size).toBe(0);
  });

  it('a full-text replacement narrowed to the keystroke keeps the region', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    h.show(doc, 's1', 'a + b;', AT);
    h.at(500);
    h.edit(doc, { start: AT, end: AT, text: 'a + b;' });
    h.at(2_000);
    const before = doc.text;
    const after = '// sum\n' + before;
    h.edit(doc, narrowReplacement(before, after));
    h.at(30_500);
    expect(h.record('s1').retention).toEqual([{ afterS: 30, distanceRatio: 0, retained: true }]);
  });
});

describe('capture', () => {
  it('at 30 s: the accepted region for an accept; what was typed there, to the suggestion\'s lines, for a rejection', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    h.show(doc, 'acc', 'a + b;', AT);
    h.at(400);
    h.edit(doc, { start: AT, end: AT, text: 'a + b;' });
    h.at(10_000);
    h.edit(doc, { start: AT + 4, end: AT + 5, text: 'b * 2' });
    h.at(29_999);
    expect(h.record('acc').captured).toBeUndefined();
    h.at(30_400);
    expect(h.record('acc')).toMatchObject({ captured: 'a + b * 2;', capturedSimilarity: similarity('a + b;', 'a + b * 2;') });

    const doc2 = new Doc('file:///b.ts', FN);
    h.show(doc2, 'rej', 'a + b;', AT);
    h.type(doc2, AT, 'a - b;\n  // more', 31_000, 50);
    h.at(50_000);
    expect(h.record('rej').label).toBe('rejected');
    h.at(61_000);
    expect(h.record('rej')).toMatchObject({ captured: 'a - b;', capturedSimilarity: similarity('a + b;', 'a - b;') });
  });

  it('an ignored one captures what the user wrote there (nothing: empty); at noCode only the similarity', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    h.show(doc, 'idle', 'a + b;', AT);
    h.at(30_000);
    expect(h.record('idle')).toMatchObject({ label: 'ignored', captured: '', capturedSimilarity: 0 });

    const doc2 = new Doc('file:///b.ts', FN);
    h.show(doc2, 'private', 'a + b;', AT, false);
    h.type(doc2, AT, 'a + b;', 31_000, 100);
    h.at(61_000);
    const capture = h.of('private').find((p) => p.capturedSimilarity !== undefined)!;
    expect(capture).toEqual({ capturedSimilarity: 1 });
  });

  it('an accept after the capture captures again 30 s after it', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    h.show(doc, 's1', 'a + b;', AT);
    h.at(30_000);
    expect(h.record('s1').captured).toBe('');
    h.at(40_000);
    h.edit(doc, { start: AT, end: AT, text: 'a + b;' });
    expect(h.record('s1').label).toBe('accepted');
    h.at(70_000);
    expect(h.record('s1')).toMatchObject({ captured: 'a + b;', capturedSimilarity: 1 });
  });
});

describe('document closed', () => {
  it('decides what it can, keeps the checks done, and tracks nothing more', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN + 'const x = \n');
    h.show(doc, 'accepted', 'a + b;', AT);
    h.at(500);
    h.edit(doc, { start: AT, end: AT, text: 'a + b;' });
    h.at(31_000);
    expect(h.record('accepted').retention).toHaveLength(1);
    const end = doc.text.length - 1;
    h.show(doc, 'typed-over', '42;', end);
    h.type(doc, end, '7', 31_500);
    h.at(32_000);
    h.show(doc, 'pending', '8;', end + 1);
    h.at(33_000);
    h.tracker.closed(doc.uri);
    expect(h.record('typed-over')).toMatchObject({ label: 'rejected', signal: 'typed-over', decidedAt: T0 + 33_000 });
    expect(h.record('pending')).toMatchObject({ label: 'ignored', signal: 'closed', decidedAt: T0 + 33_000 });
    expect(h.tracker.size).toBe(0);
    const count = h.patches.length;
    h.at(700_000);
    expect(h.patches).toHaveLength(count);
    expect(h.record('accepted').retention).toHaveLength(1);
    expect(h.record('pending').captured).toBeUndefined();
    expect(h.tracker.accept('pending')).toBe(false);
  });

  it('at shutdown every document is closed', () => {
    const h = setup();
    const a = new Doc('file:///a.ts', FN);
    const b = new Doc('file:///b.ts', FN);
    h.show(a, 'a1', 'a + b;', AT);
    h.type(a, AT, 'x', 500);
    h.show(b, 'b1', 'a + b;', AT);
    h.at(1_000);
    h.tracker.closeAll();
    expect(h.record('a1')).toMatchObject({ label: 'rejected', signal: 'typed-over', decidedAt: T0 + 1_000 });
    expect(h.record('b1')).toMatchObject({ label: 'ignored', signal: 'closed' });
    expect(h.tracker.size).toBe(0);
    expect(h.timers.filter((t) => t.armed)).toHaveLength(0);
  });

  it('a close after the 10 s leaves an unmarked suggestion as it was', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    h.show(doc, 's1', 'a + b;', AT);
    h.at(12_000);
    h.tracker.closed(doc.uri);
    expect(h.of('s1')).toEqual([]);
  });
});

describe('bounds and timers', () => {
  it('keeps at most `capacity` suggestions, dropping the oldest', () => {
    const h = setup({ capacity: 5 });
    const doc = new Doc('file:///a.ts', FN);
    for (let i = 0; i < 8; i++) {
      h.at(i * 10);
      h.show(doc, `s${i}`, 'a + b;', AT);
    }
    expect(h.tracker.size).toBe(5);
    expect(h.tracker.accept('s0')).toBe(false);
    expect(h.tracker.accept('s2')).toBe(false);
    expect(h.tracker.accept('s3')).toBe(true);
  });

  it('releases a suggestion when nothing is left to do, keeping the newest few for accepts by edit', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    for (let i = 0; i < 50; i++) {
      h.at(i * 200);
      h.show(doc, `s${i}`, 'a + b;', AT);
    }
    expect(h.tracker.size).toBe(50);
    h.at(49 * 200 + 30_000);
    expect(h.tracker.size).toBe(3);
    h.at(49 * 200 + ACCEPT_BY_EDIT_MS + 1);
    expect(h.tracker.size).toBe(0);
    expect(h.tracker.nextDue).toBeUndefined();
  });

  it('arms one timer for the earliest deadline, and the timer does the work', () => {
    const h = setup();
    const doc = new Doc('file:///a.ts', FN);
    h.show(doc, 's1', 'a + b;', AT);
    h.show(doc, 's2', 'a - b;', AT);
    const armed = h.timers.filter((t) => t.armed);
    expect(armed).toHaveLength(1);
    expect(armed[0]!.delay).toBe(10_000);
    expect(h.timers).toHaveLength(1);
    // Typing does not re-arm it: the earliest deadline is the same.
    h.type(doc, AT, 'x', 1_000);
    expect(h.timers).toHaveLength(1);
    h.at(10_000);
    expect(h.record('s2')).toMatchObject({ label: 'rejected' });
    // Then one timer for the next deadline, the captures at 30 s.
    expect(h.timers[0]!.armed).toBe(false);
    const next = h.timers.filter((t) => t.armed);
    expect(next).toHaveLength(1);
    expect(next[0]!.delay).toBe(20_000);
  });

  it('the timer callback alone runs the due work', () => {
    let clock = T0;
    let fire: (() => void) | undefined;
    const patches: string[] = [];
    const tracker = new OutcomeTracker({
      now: () => clock,
      schedule: (_delay, f) => {
        fire = f;
        return () => (fire = undefined);
      },
      onUpdate: (id, patch) => patches.push(`${id}:${patch.captured ?? patch.label ?? ''}`),
    });
    const doc = new Doc('file:///a.ts', FN);
    tracker.shown(doc, { id: 's1', text: 'a + b;', offset: AT });
    clock = T0 + 30_000;
    fire!();
    expect(patches).toEqual(['s1:']);
    expect(fire).toBeDefined();
    tracker.dispose();
    expect(fire).toBeUndefined();
    expect(tracker.size).toBe(0);
  });

  it('the default timer does not hold the process open', () => {
    const tracker = new OutcomeTracker({ onUpdate: () => {} });
    const doc = new Doc('file:///a.ts', FN);
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    tracker.shown(doc, { id: 's1', text: 'a + b;', offset: AT });
    const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    tracker.dispose();
    // An unref'd timer is not an active resource.
    expect(timers).toBe(before);
  });

  it('an onUpdate that throws does not break the tracker', () => {
    const errors: unknown[] = [];
    let clock = T0;
    const tracker = new OutcomeTracker({
      now: () => clock,
      schedule: () => () => {},
      onUpdate: () => {
        throw new Error('store down');
      },
      onError: (error) => errors.push(error),
    });
    const doc = new Doc('file:///a.ts', FN);
    tracker.shown(doc, { id: 's1', text: 'a + b;', offset: AT });
    expect(tracker.reject('s1')).toBe(true);
    clock += 30_000;
    tracker.runDue();
    // The dismissal and the capture were both delivered (and failed); after the capture nothing is left to do.
    expect(errors).toHaveLength(2);
    expect(tracker.size).toBe(0);
    expect(tracker.nextDue).toBeUndefined();
  });
});
