import { describe, expect, it } from 'vitest';
import { decideCompletion, onlyClosersFollow } from '../../../server/context/completion-decision.js';
import { buildCompletionContext } from '../../../server/context/context-builder.js';
import { DocumentStore } from '../../../server/documents/document-store.js';
import type { CompletionDecision } from '../../../server/context/types.js';
import { openFixture } from './fixtures.js';

/** The decision for a one-line TypeScript document, the cursor at `|`. */
function decide(line: string, languageId = 'typescript'): CompletionDecision {
  const cursor = line.indexOf('|');
  if (cursor < 0) throw new Error('no cursor in ' + line);
  const text = 'const before = 1;\n' + line.replace('|', '') + '\nconst after = 2;\n';
  const doc = new DocumentStore().open('file:///work/src/d.ts', languageId, 1, text);
  return decideCompletion(doc, buildCompletionContext(doc, cursor + 18, { contextChars: 2000 }));
}

const COMPLETE = { complete: true };
const skip = (reason: string) => ({ complete: false, reason });

describe('decideCompletion', () => {
  it('completes at the end of a line and on empty lines', () => {
    expect(decide('  const total = |')).toEqual(COMPLETE);
    expect(decide('  return items.fil|')).toEqual(COMPLETE);
    expect(decide('|')).toEqual(COMPLETE);
    expect(decide('    |')).toEqual(COMPLETE);
    expect(decide('  foo();|   ')).toEqual(COMPLETE); // trailing whitespace only
  });

  it('does not complete inside a word that continues to the right', () => {
    expect(decide('  const to|tal = 1;')).toEqual(skip('inside-word'));
    expect(decide('  |return x;')).toEqual(skip('inside-word'));
    expect(decide('  x = a|$b;')).toEqual(skip('inside-word'));
    expect(decide('  x = a|_b;')).toEqual(skip('inside-word'));
    expect(decide('  const é|té = 1;')).toEqual(skip('inside-word'));
    expect(decide('  const x = |𝑥;')).toEqual(skip('inside-word'));
    expect(decide('  const n = 1|0;')).toEqual(skip('inside-word'));
  });

  it('completes when only closers, a terminator and a comment follow', () => {
    for (const line of [
      '  foo(|);',
      '  foo(bar(|));',
      '  if (|) {',
      '  const s = "|";',
      "  const s = '|',",
      '  const s = `${|}`;',
      '  const xs = [1, 2, |];',
      '  const o = { a: |};',
      '  type T = Array<|>;',
      "  case '|':",
      '  x = f(|) // why',
      '  x = f(|); /* note */',
      '  return <b>|</b>;',
      '  return <Foo.Bar>|</Foo.Bar>',
      '  x = f(|)  # python-style comment',
    ]) {
      expect(decide(line), line).toEqual(COMPLETE);
    }
  });

  it('does not complete in the middle of a line with other text after the cursor', () => {
    for (const line of [
      '  foo(|, b);',
      '  foo(a,| b);',
      '  x|.y();',
      '  a ? b|: c;',
      '  items.map((|) => x);',
      '  |(foo)',
      '  x = 1;| y = 2;',
      '  f(|) + g();',
      '  f(|); /* unterminated',
      '  x = f(|) #priv',
      '  }, {|}, {',
    ]) {
      expect(decide(line), line).toEqual(skip('text-after-cursor'));
    }
  });

  it('never completes in a binary document', () => {
    const doc = new DocumentStore().open('file:///work/blob.bin', 'plaintext', 1, 'abc\u0000def\n');
    expect(doc.binary).toBe(true);
    const ctx = buildCompletionContext(doc, 3, { contextChars: 100 });
    expect(decideCompletion(doc, ctx)).toEqual(skip('binary-document'));
  });

  it('completes in plain-text documents by the same rule', () => {
    const doc = openFixture('py');
    const text = doc.textDocument.getText();
    const end = text.indexOf('return [n for n in self.notes if n.matches(query)]');
    expect(decideCompletion(doc, buildCompletionContext(doc, end, { contextChars: 500 }))).toEqual(skip('inside-word'));
    const lineEnd = text.indexOf('\n', end);
    expect(decideCompletion(doc, buildCompletionContext(doc, lineEnd, { contextChars: 500 }))).toEqual(COMPLETE);
    const inCall = text.indexOf('(query)]', end) + 1;
    const decideAt = (offset: number) =>
      decideCompletion(doc, buildCompletionContext(doc, offset, { contextChars: 500 }));
    expect(decideAt(inCall)).toEqual(skip('inside-word'));
    expect(decideAt(inCall + 5)).toEqual(COMPLETE);
  });

  it('reads the rest of the line, not the rest of the window', () => {
    expect(onlyClosersFollow('')).toBe(true);
    expect(onlyClosersFollow(')]};')).toBe(true);
    expect(onlyClosersFollow(') {')).toBe(true);
    expect(onlyClosersFollow(');;')).toBe(false);
    expect(onlyClosersFollow('</div')).toBe(false);
    expect(onlyClosersFollow(' '.repeat(100_000) + 'x')).toBe(false); // linear, no regex backtracking
  });
});
