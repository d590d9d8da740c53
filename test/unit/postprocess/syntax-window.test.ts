import { describe, expect, it } from 'vitest';
import { countErrorsInText, languageByName } from '../../../server/documents/syntax.js';
import { compact } from '../../../server/engine/postprocess/structure.js';
import { syntaxWindow, windowAfter, windowBefore } from '../../../server/engine/postprocess/syntax-window.js';

const ts = languageByName('typescript')!;

const PREFIX = [
  "import { a } from 'a';",
  '',
  'export class Store {',
  '  private items: string[] = [];',
  '',
  '  add(item: string): void {',
  '    this.items.push(item);',
  '    this.items.sort((x, y) => x.localeCompare(y));',
  '    this.changed = true;',
  '  }',
  '',
  '  find(query: string): string | undefined {',
  '    for (const item of this.items) {',
  '      if (item.includes(query)) {',
  '        ',
].join('\n');

const SUFFIX = [
  '',
  '      }',
  '    }',
  '    // Nothing found: the caller decides what to do about it.',
  '    return undefined;',
  '  }',
  '',
  '  clear(): void {',
  '    this.items = [];',
  '    this.changed = true;',
  '    this.listeners.forEach((listener) => listener());',
  '  }',
  '}',
  '',
  'export const store = new Store();',
  '',
].join('\n');

describe('syntax window', () => {
  it('keeps the headers of the enclosing blocks and leaves their earlier siblings out', () => {
    const { before, skeleton } = syntaxWindow(PREFIX, SUFFIX);
    expect(skeleton).toBe(true);
    expect(before).toBe(
      [
        'export class Store {',
        '  find(query: string): string | undefined {',
        '    for (const item of this.items) {',
        '      if (item.includes(query)) {',
        '        ',
      ].join('\n'),
    );
  });

  it('keeps the closing brackets of those blocks after the cursor, and nothing past them', () => {
    const { before, after } = syntaxWindow(PREFIX, SUFFIX);
    expect(after.startsWith('\n      }\n    }\n    // Nothing found: the caller decides what to do about it.\n    return undefined;\n  }')).toBe(true);
    expect(after.trimEnd().endsWith('}')).toBe(true);
    expect(after).not.toContain('export const store');
    expect(after).not.toContain('listeners');
    expect(countErrorsInText(ts, before + after)).toBe(0);
    expect(countErrorsInText(ts, before + 'return item;' + after)).toBe(0);
  });

  it('keeps the statements near the cursor', () => {
    const prefix = 'function f(n: number) {\n  const a = n + 1;\n  const b = a * 2;\n  ';
    expect(syntaxWindow(prefix, '\n}').before).toBe(prefix);
  });

  it('falls back to line slices inside a template substitution', () => {
    const window = syntaxWindow('const s = `total: ${items.length + ', '} items`;');
    expect(window.skeleton).toBe(false);
    expect(window.before).toBe('const s = `total: ${items.length + ');
  });

  it('stands in for the block the window starts inside', () => {
    expect(windowBefore('    return 1;\n  }\n\n  bar(x: number): number {\n    ').before.startsWith('class _ {\n')).toBe(true);
    expect(windowBefore('    const a = 1;\n    const b = 2;\n    ').before.startsWith('{\n')).toBe(true);
    expect(windowBefore('      case 1:\n        return "one";\n      case 2:\n        ').before.startsWith('switch (_) {\n')).toBe(true);
    expect(windowBefore('  name: "x",\n  version: 1,\n  ').before.startsWith('_ = {\n')).toBe(true);
    expect(windowBefore('const a = 1;\n').before).toBe('const a = 1;\n');
  });

  it('closes a stand-in block, and blocks a long suffix window never comes back out of', () => {
    const inClass = windowBefore('    return 1;\n  }\n\n  bar(x: number): number {\n    ');
    expect(windowAfter('\n    return x;\n  }\n', inClass)).toBe('\n    return x;\n  }\n\n}');
    // The method is open in a short suffix (the user may be writing it): neither it nor the class is closed.
    expect(windowAfter('\n    return x;\n', inClass)).toBe('\n    return x;\n');

    const writing = windowBefore('function f() {\n  if (ready) {\n    ');
    // Short suffix: the file may really end here, with the blocks open (the user is writing them).
    expect(windowAfter('\n    go();\n', writing)).toBe('\n    go();\n');
    // A long suffix that stays inside the blocks was cut by the window: they close further down.
    const long = '\n' + '    go();\n'.repeat(100);
    expect(windowAfter(long, writing).endsWith('\n}\n}')).toBe(true);
    // A long suffix that comes back out to the function's level without closing the `if`: the `if` is open.
    const back = '\n    go();\n' + 'export const x = 1;\n'.repeat(60);
    expect(windowAfter(back, writing).endsWith('}')).toBe(false);
  });

  it('keeps one more closing bracket from the suffix for each block the answer leaves open', () => {
    const prefix = 'function f() {\n  ';
    const suffix = '\n    go();\n  }\n' + '  log(\'and some more\');\n'.repeat(8) + '}\n\nf();\n';
    const plain = syntaxWindow(prefix, suffix, 0).after;
    const oneOpen = syntaxWindow(prefix, suffix, 1).after;
    expect(countErrorsInText(ts, prefix + 'if (x) {' + oneOpen)).toBe(0);
    expect(oneOpen.length).toBeGreaterThan(plain.length);
  });
});

describe('compact', () => {
  const c = (text: string): string => compact(text, 0, text.length);

  it('leaves out the insides of closed braces and array literals', () => {
    expect(c('if (a) { x(); } else if (b) { y(); } else {')).toBe('if (a) {} else if (b) {} else {');
    expect(c('[1, 2, 3].map((x) => { return x * 2; }).then(() => {')).toBe('[].map((x) => {}).then(() => {');
  });

  it('keeps parentheses and indexes whole', () => {
    expect(c('for (const x of a[i]) { f(x); }')).toBe('for (const x of a[i]) {}');
    expect(c('if (ok(x)) {')).toBe('if (ok(x)) {');
  });
});
