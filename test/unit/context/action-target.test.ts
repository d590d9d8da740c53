import { describe, expect, it } from 'vitest';
import { findActionTarget, findHoverTarget } from '../../../server/context/action-target.js';
import { DocumentStore, type OpenDocument } from '../../../server/documents/document-store.js';
import { testFileFor } from '../../../server/engine/actions/run-action.js';

function open(text: string, languageId = 'typescript', uri = 'file:///work/src/sample.ts'): OpenDocument {
  return new DocumentStore().open(uri, languageId, 1, text);
}

/** The offset of the `n`-th occurrence (0-based) of `needle`, plus `delta`. */
function at(text: string, needle: string, delta = 0, n = 0): number {
  let index = -1;
  for (let i = 0; i <= n; i++) index = text.indexOf(needle, index + 1);
  if (index < 0) throw new Error(`"${needle}" not in text`);
  return index + delta;
}

const OPTIONS = { maxChars: 10_000 };

const CLASS = [
  "import { z } from 'zod';",
  '',
  '/** A counter. */',
  'export class Counter {',
  '  private count = 0;',
  '',
  '  /** Old words. */',
  '  increment(by = 1): number {',
  '    this.count += by;',
  '    return this.count;',
  '  }',
  '',
  '  reset = () => {',
  '    this.count = 0;',
  '  };',
  '}',
  '',
  'export const double = (x: number) => x * 2;',
  '',
  "describe('Counter', () => {",
  "  it('counts', () => {",
  '    expect(new Counter().increment()).toBe(1);',
  '  });',
  '});',
  '',
].join('\n');

function targetAt(text: string, offset: number, languageId = 'typescript', uri?: string) {
  const result = findActionTarget(open(text, languageId, uri), { start: offset, end: offset }, OPTIONS);
  if (!result.target) throw new Error(result.reason);
  return result.target;
}

describe('action targets', () => {
  it('is the innermost declaration around the cursor: method, arrow-function field, exported class', () => {
    const method = targetAt(CLASS, at(CLASS, 'this.count += by'));
    expect(method.description).toBe('method increment');
    expect(method.text.startsWith('increment(by = 1): number {')).toBe(true);
    expect(method.text.endsWith('return this.count;\n  }')).toBe(true);
    expect(method.indent).toBe('  ');

    expect(targetAt(CLASS, at(CLASS, 'this.count = 0')).description).toBe('method reset');
    const klass = targetAt(CLASS, at(CLASS, 'private count'));
    expect(klass.description).toBe('class Counter');
    // The export goes with the declaration.
    expect(klass.text.startsWith('export class Counter {')).toBe(true);
  });

  it('widens exported arrow functions to their statement and names test callbacks by their title', () => {
    const double = targetAt(CLASS, at(CLASS, 'x * 2'));
    expect(double).toMatchObject({ description: 'function double', text: 'export const double = (x: number) => x * 2;' });
    const test = targetAt(CLASS, at(CLASS, 'expect(new'));
    expect(test.description).toBe("callback it('counts')");
    expect(test.text.startsWith("it('counts', () => {")).toBe(true);
  });

  it('places a doc comment on the line above, replacing a doc comment already there', () => {
    const method = targetAt(CLASS, at(CLASS, 'this.count += by'));
    expect(CLASS.slice(method.docAnchor.start, method.docAnchor.end)).toBe('  /** Old words. */\n');
    const reset = targetAt(CLASS, at(CLASS, 'this.count = 0'));
    expect(reset.docAnchor.start).toBe(reset.docAnchor.end);
    expect(CLASS.slice(reset.docAnchor.start, reset.start)).toBe('  ');
  });

  it('knows JavaScript\'s own nodes (class fields) besides the shared ones (ecma/targets.scm)', () => {
    const js = 'class Button {\n  onClick = (event) => {\n    this.pressed = true;\n  };\n}\nfunction go() {\n  return 1;\n}\n';
    expect(targetAt(js, at(js, 'this.pressed'), 'javascript', 'file:///w/b.js').description).toBe('method onClick');
    expect(targetAt(js, at(js, 'return 1'), 'javascript', 'file:///w/b.js').description).toBe('function go');
  });

  it('uses the selection without its surrounding blank space', () => {
    const from = at(CLASS, '\n    this.count += by');
    const to = at(CLASS, 'return this.count;', 'return this.count;'.length) + 1;
    const result = findActionTarget(open(CLASS), { start: to, end: from }, OPTIONS);
    expect(result.target).toMatchObject({ kind: 'selection', description: 'selection', indent: '    ' });
    expect(result.target!.text).toBe('this.count += by;\n    return this.count;');
  });

  it('takes a range within one word, or of one character, as the cursor (Eglot, Helix)', () => {
    const word = at(CLASS, 'count += by');
    expect(findActionTarget(open(CLASS), { start: word, end: word + 5 }, OPTIONS).target?.description).toBe('method increment');
    const brace = at(CLASS, '{\n    this.count += by');
    expect(findActionTarget(open(CLASS), { start: brace, end: brace + 1 }, OPTIONS).target?.description).toBe('method increment');
    expect(findActionTarget(open(CLASS), { start: word, end: word + 8 }, OPTIONS).target?.description).toBe('selection');
  });

  it('says why there is no target: blank line outside declarations, or too large', () => {
    const blank = findActionTarget(open(CLASS), { start: at(CLASS, '\n\n/**') + 1, end: at(CLASS, '\n\n/**') + 1 }, OPTIONS);
    expect(blank.target).toBeUndefined();
    expect(blank.target ? '' : blank.reason).toMatch(/select the code/);
    const small = findActionTarget(open(CLASS), { start: at(CLASS, 'private count'), end: at(CLASS, 'private count') }, { maxChars: 50 });
    expect(small.target ? '' : small.reason).toMatch(/class Counter is \d+ characters/);
  });

  it('falls back to the paragraph for languages without a grammar', () => {
    const python = 'import os\n\ndef greet(name):\n    print(f"hi {name}")\n    return name\n\n\nprint(greet("x"))\n';
    const target = targetAt(python, at(python, 'print(f'), 'python', 'file:///w/a.py');
    expect(target).toMatchObject({ kind: 'paragraph', description: 'lines 3–5', indent: '' });
    expect(target.text).toBe('def greet(name):\n    print(f"hi {name}")\n    return name');
    const blank = findActionTarget(open(python, 'python', 'file:///w/a.py'), { start: at(python, '\n\n\n') + 1, end: at(python, '\n\n\n') + 1 }, OPTIONS);
    expect(blank.target).toBeUndefined();
  });
});

describe('hover targets', () => {
  it('on a declaration\'s own name explains the declaration; on another identifier, that symbol in it', () => {
    const doc = open(CLASS);
    const own = findHoverTarget(doc, at(CLASS, 'increment(by') + 2, OPTIONS)!;
    expect(own.symbol).toBeUndefined();
    expect(own.scope.description).toBe('method increment');
    const symbol = findHoverTarget(doc, at(CLASS, 'count += by') + 1, OPTIONS)!;
    expect(symbol.symbol).toEqual({ name: 'count', start: at(CLASS, 'count += by'), end: at(CLASS, 'count += by') + 5 });
    expect(symbol.scope.description).toBe('method increment');
  });

  it('explains a symbol outside any declaration from the lines around it, and nothing on blank space', () => {
    const doc = open(CLASS);
    const z = findHoverTarget(doc, at(CLASS, '{ z }') + 2, OPTIONS)!;
    expect(z.symbol?.name).toBe('z');
    expect(z.scope.kind).toBe('window');
    expect(z.scope.text).toContain("import { z } from 'zod';");
    expect(findHoverTarget(doc, at(CLASS, '\n\n/**') + 1, OPTIONS)).toBeUndefined();
  });

  it('uses a window around the symbol when its declaration is too large', () => {
    const doc = open(CLASS);
    const target = findHoverTarget(doc, at(CLASS, 'count += by') + 1, { maxChars: 60 })!;
    expect(target.scope.kind).toBe('window');
    expect(target.scope.text.length).toBeLessThanOrEqual(80);
    expect(target.scope.text).toContain('this.count += by;');
  });
});

describe('test files', () => {
  it('follow each language\'s convention beside the source; test files and Rust keep their tests', () => {
    expect(testFileFor('file:///w/src/calc.ts', 'typescript')).toBe('file:///w/src/calc.test.ts');
    expect(testFileFor('file:///w/src/calc.test.ts', 'typescript')).toBe('file:///w/src/calc.test.ts');
    expect(testFileFor('file:///w/src/calc.spec.js', 'javascript')).toBe('file:///w/src/calc.spec.js');
    expect(testFileFor('file:///w/pkg/calc.py', 'python')).toBe('file:///w/pkg/test_calc.py');
    expect(testFileFor('file:///w/pkg/calc.go', 'go')).toBe('file:///w/pkg/calc_test.go');
    expect(testFileFor('file:///w/src/lib.rs', 'rust')).toBe('file:///w/src/lib.rs');
    expect(testFileFor('untitled:Untitled-1', 'typescript')).toBe('untitled:Untitled-1');
  });
});
