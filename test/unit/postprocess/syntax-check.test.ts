import { describe, expect, it } from 'vitest';
import { languageByName } from '../../../server/documents/syntax.js';
import {
  SyntaxChecker,
  checkerFor,
  lineCutPoints,
  syntaxCheck,
  tokenCutPoints,
} from '../../../server/engine/postprocess/syntax-check.js';
import type { FilterContext } from '../../../server/engine/postprocess/types.js';

const ts = languageByName('typescript')!;

function context(code: string, syntax = ts): FilterContext {
  const at = code.indexOf('█');
  const prefix = code.slice(0, at);
  const suffix = code.slice(at + 1);
  const linePrefix = prefix.slice(prefix.lastIndexOf('\n') + 1);
  return { prefix, suffix, linePrefix, lineSuffix: suffix.split('\n')[0]!, indent: /^\s*/.exec(linePrefix)![0], stopTokens: [], syntax };
}

const BODY = 'export function f(items: number[]): number {\n  const total = items.length;\n  █\n}\n';

describe('syntax check', () => {
  it('does nothing without a grammar', () => {
    const ctx = { ...context(BODY), syntax: undefined };
    expect(syntaxCheck(') ) ) garbage (', ctx)).toBe(') ) ) garbage (');
  });

  it('keeps an answer that parses, drops one that cannot be cut into shape', () => {
    expect(syntaxCheck('return total * 2;', context(BODY))).toBe('return total * 2;');
    expect(syntaxCheck(') => ] default:', context(BODY))).toBeNull();
  });

  it('needs one parse for a clean answer and the window without it only when the answer leaves errors', () => {
    const checker = new SyntaxChecker(ts, context(BODY).prefix, context(BODY).suffix);
    expect(checker.check('return total;').ok).toBe(true);
    expect(checker.parses).toBe(1);
    expect(checker.check('return total +').ok).toBe(false);
    expect(checker.parses).toBe(3); // the answer, then the window without it
    expect(checker.check('return total -').ok).toBe(false);
    expect(checker.parses).toBe(4); // the window without an answer is parsed once
  });

  it('shares one checker between the candidates of a completion', () => {
    const a = context(BODY);
    const b = context(BODY);
    expect(checkerFor(ts, a.prefix, a.suffix)).toBe(checkerFor(ts, b.prefix, b.suffix));
    expect(checkerFor(ts, a.prefix, a.suffix + ' ')).not.toBe(checkerFor(ts, b.prefix, b.suffix));
  });

  it('cuts a multi-line answer after its last line that leaves it valid', () => {
    const answer = 'const doubled = total * 2;\n  if (doubled > 10) {\n    return doubled;\n  }\n  return doubled +';
    expect(syntaxCheck(answer, context(BODY))).toBe('const doubled = total * 2;\n  if (doubled > 10) {\n    return doubled;\n  }');
  });

  it('spends a bounded number of parses on cuts', () => {
    const answer = ') broken(\n' + '  step();\n'.repeat(40);
    const ctx = context(BODY + '// ' + 'x'.repeat(10)); // a context of its own
    expect(syntaxCheck(answer, ctx)).toBeNull();
    expect(checkerFor(ts, ctx.prefix, ctx.suffix).parses).toBeLessThanOrEqual(5);
  });
});

describe('cut points', () => {
  it('ends lines where the answer opened nothing it did not close', () => {
    const text = 'a();\nif (x) {\n  b();\n}\nc(';
    expect(lineCutPoints(text)).toEqual([text.indexOf('\n'), text.indexOf('}') + 1]);
  });

  it('does not count brackets in strings and comments', () => {
    const text = "a('(');\n// {\nb();\nc(";
    expect(lineCutPoints(text)).toEqual([text.indexOf('\n'), text.indexOf('b();') + 4]);
  });

  it('ends tokens of a one-line answer, but not before `{` nor right after a condition', () => {
    const text = 'items.length * price +';
    expect(tokenCutPoints(text)).toContain('items.length * price'.length);
    expect(tokenCutPoints(text)).not.toContain(text.length);
    const block = 'if (ready) {';
    expect(tokenCutPoints(block)).not.toContain('if (ready)'.length);
    expect(tokenCutPoints('ready) {', '  if (')).not.toContain('ready)'.length);
  });
});
