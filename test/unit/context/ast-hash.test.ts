import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { astHash, keyMaterial, strategyFor, type AstHashStrategy } from '../../../server/context/ast-hash.js';
import { buildCompletionContext } from '../../../server/context/context-builder.js';
import { DocumentStore, type OpenDocument } from '../../../server/documents/document-store.js';
import { after, FIXTURE, fixtureText, random, ZOD_TYPES } from './fixtures.js';

const FP = JSON.stringify([['qwen2.5-coder:1.5b-base', 'http://127.0.0.1:11434', 1], { method: 'hybrid' }, 128, 6000]);
/** Marks the cursor in the sources below; taken out before the document is opened. */
const CURSOR = '‸';

interface Keyed {
  readonly doc: OpenDocument;
  readonly offset: number;
  readonly key: string;
}

function open(text: string, languageId = 'typescript', uri = 'file:///work/src/sample.ts'): OpenDocument {
  return new DocumentStore().open(uri, languageId, 1, text);
}

function keyAt(doc: OpenDocument, offset: number, strategy?: AstHashStrategy, contextChars = 100_000, fp = FP): string {
  const ctx = buildCompletionContext(doc, offset, { contextChars });
  return astHash(doc, ctx, fp, strategy ? { strategy } : {});
}

/** The key for `source` with the cursor at its CURSOR mark. */
function key(source: string, strategy?: AstHashStrategy, languageId = 'typescript', uri?: string): string {
  return keyed(source, strategy, languageId, uri).key;
}

function keyed(source: string, strategy?: AstHashStrategy, languageId = 'typescript', uri?: string): Keyed {
  const offset = source.indexOf(CURSOR);
  if (offset < 0 || source.indexOf(CURSOR, offset + 1) >= 0) throw new Error('one cursor mark expected');
  const doc = open(source.replace(CURSOR, ''), languageId, uri);
  return { doc, offset, key: keyAt(doc, offset, strategy) };
}

/** `source` with `from` replaced by `to` (which must occur exactly once). */
function edit(source: string, from: string, to: string): string {
  const i = source.indexOf(from);
  if (i < 0 || source.indexOf(from, i + 1) >= 0) throw new Error(`not exactly once: ${from}`);
  return source.slice(0, i) + to + source.slice(i + from.length);
}

const BASE = `import { createHash } from 'node:crypto';

/**
 * Totals of an order.
 * Prices are in cents.
 */
export interface Line {
  readonly sku: string;
  readonly cents: number;
  readonly quantity: number;
}

const TAX = 0.2; // flat rate
const SKU = /^[A-Z]{3}-\\d+ x$/;

export function total(lines: readonly Line[], discount = 0): number {
  let sum = 0;
  for (const line of lines) {
    sum += line.cents * line.quantity;
  }
  const label = \`total for \${lines.length}  lines\`;
  const taxed = Math.round(sum * (1 + TAX)) - discount;
  if (taxed < 0) {
    throw new RangeError('negative total: ' + label);
  }
  ret${CURSOR}
}

export function checksum(lines: readonly Line[]): string {
  const h = createHash('sha1');
  for (const line of lines) h.update(line.sku + ':' + line.cents);
  return h.digest('hex');
}
`;

describe.each<AstHashStrategy>(['lexical', 'leaves'])('ast hash (%s strategy)', (strategy) => {
  const base = key(BASE, strategy);

  it('is a stable, short key: the same document and cursor give the same key, also from another store', () => {
    expect(base).toMatch(/^[A-Za-z0-9_-]{27}$/);
    expect(key(BASE, strategy)).toBe(base);
  });

  it.each([
    ['re-indenting a line above', (s: string) => edit(s, '  let sum = 0;', '        let sum = 0;')],
    ['re-indenting with tabs', (s: string) => edit(s, '    sum += line.cents', '\t\tsum += line.cents')],
    [
      'blank lines added above and below',
      (s: string) => edit(edit(s, 'const TAX', '\n\n\nconst TAX'), 'export function checksum', '\n\nexport function checksum'),
    ],
    ['spaces around operators above', (s: string) => edit(s, 'sum * (1 + TAX)) - discount', 'sum*(1+TAX))-discount')],
    ['spaces around operators below', (s: string) => edit(s, "line.sku + ':' + line.cents", "line.sku+':'+line.cents")],
    ['more spaces around operators', (s: string) => edit(s, 'if (taxed < 0) {', 'if(  taxed<0 ){')],
    [
      'a call split over lines',
      (s: string) => edit(s, "h.update(line.sku + ':' + line.cents);", "h.update(\n      line.sku + ':' + line.cents\n    );"),
    ],
    [
      'an interface joined onto one line',
      (s: string) => edit(s, 'readonly sku: string;\n  readonly cents', 'readonly sku: string; readonly cents'),
    ],
    ['trailing whitespace', (s: string) => edit(s, 'let sum = 0;', 'let sum = 0;   \t')],
    [
      'a doc comment re-indented',
      (s: string) => edit(s, ' * Totals of an order.\n * Prices', '     *   Totals of an order.\n         * Prices'),
    ],
    ['spaces before a line comment', (s: string) => edit(s, '0.2; // flat rate', '0.2;      // flat rate')],
    ['CRLF line endings', (s: string) => s.replace(/\n/g, '\r\n')],
  ])('keeps the key for a formatting edit outside the cursor line: %s', (_name, change) => {
    const changed = change(BASE);
    expect(changed).not.toBe(BASE);
    expect(key(changed, strategy)).toBe(base);
  });

  it.each([
    ['an identifier renamed above', (s: string) => edit(s, 'let sum = 0;\n', 'let acc = 0;\n')],
    ['an identifier renamed below', (s: string) => edit(s, "const h = createHash('sha1');", "const hh = createHash('sha1');")],
    ['a property renamed in the interface', (s: string) => edit(s, 'readonly quantity: number;', 'readonly qty: number;')],
    ['a number changed', (s: string) => edit(s, 'const TAX = 0.2;', 'const TAX = 0.25;')],
    ['a string changed', (s: string) => edit(s, "'negative total: '", "'negative total - '")],
    ['spaces inside a string', (s: string) => edit(s, "'negative total: '", "'negative  total: '")],
    ['spaces inside a template literal', (s: string) => edit(s, '}  lines`', '} lines`')],
    ['spaces inside a regex', (s: string) => edit(s, '\\d+ x$/', '\\d+  x$/')],
    ['a statement added', (s: string) => edit(s, '  let sum = 0;\n', '  let sum = 0;\n  let count = 0;\n')],
    ['a statement added below', (s: string) => edit(s, "  return h.digest('hex');", "  h.update('');\n  return h.digest('hex');")],
    ['a semicolon removed', (s: string) => edit(s, "const h = createHash('sha1');", "const h = createHash('sha1')")],
    ['an operator changed', (s: string) => edit(s, 'sum * (1 + TAX)', 'sum * (1 - TAX)')],
    ['two words joined', (s: string) => edit(s, 'export function checksum', 'exportfunction checksum')],
    ['a line comment reworded', (s: string) => edit(s, '// flat rate', '// flat tax rate')],
    ['a doc comment reworded', (s: string) => edit(s, 'Prices are in cents.', 'Prices are in euros.')],
    ['a comment turned into code', (s: string) => edit(s, '0.2; // flat rate', '0.2;\nflat; rate')],
    ['a type changed', (s: string) => edit(s, 'readonly cents: number;', 'readonly cents: bigint;')],
  ])('changes the key for a token change in the window: %s', (_name, change) => {
    expect(key(change(BASE), strategy)).not.toBe(base);
  });

  it('tells apart the cursor inside a word from after it, and what was typed before it', () => {
    const keys = [
      key(BASE, strategy),
      key(edit(BASE, `ret${CURSOR}`, `retu${CURSOR}`), strategy),
      key(edit(BASE, `ret${CURSOR}`, `return${CURSOR}`), strategy),
      key(edit(BASE, `ret${CURSOR}`, `return ${CURSOR}`), strategy),
      key(edit(BASE, `ret${CURSOR}`, `return  ${CURSOR}`), strategy),
      key(edit(BASE, `ret${CURSOR}`, `return ${CURSOR};`), strategy), // text after the cursor on its line
      key(edit(BASE, `  ret${CURSOR}`, `    ret${CURSOR}`), strategy), // the cursor line's indentation
      key(edit(BASE, `  ret${CURSOR}`, `\tret${CURSOR}`), strategy),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('gives every cursor position on a line its own key', () => {
    const text = BASE.replace(`ret${CURSOR}`, 'return taxed;');
    const doc = open(text);
    const start = text.indexOf('  return taxed;');
    const keys = new Set<string>();
    for (let offset = start; offset <= start + '  return taxed;'.length; offset++) keys.add(keyAt(doc, offset, strategy));
    expect(keys.size).toBe('  return taxed;'.length + 1);
  });

  it('changes with the fingerprint and the language', () => {
    const { doc, offset } = keyed(BASE, strategy);
    expect(keyAt(doc, offset, strategy, 100_000, FP + 'x')).not.toBe(base);
    const asJs = open(doc.textDocument.getText(), 'javascript', 'file:///work/src/sample.js');
    expect(keyAt(asJs, offset, strategy)).not.toBe(base);
  });

  it('agrees between a document edited incrementally and a fresh copy of its text', () => {
    const store = new DocumentStore();
    const { doc: original, offset } = keyed(BASE, strategy);
    let doc = store.open(original.uri, 'typescript', 1, original.textDocument.getText());
    let cursor = offset;
    const type = (text: string): void => {
      const pos = doc.textDocument.positionAt(cursor);
      doc = store.change(doc.uri, doc.version + 1, [{ range: { start: pos, end: pos }, text }])!;
      cursor += text.length;
    };
    for (const ch of 'urn taxed') type(ch);
    const copy = open(doc.textDocument.getText());
    expect(keyAt(doc, cursor, strategy)).toBe(keyAt(copy, cursor, strategy));
    expect(keyAt(doc, cursor, strategy)).toBe(key(edit(BASE, `ret${CURSOR}`, `return taxed${CURSOR}`), strategy));
  });

  it('hashes the leaves of a document with syntax errors, and keeps its formatting rules there', () => {
    const broken = edit(BASE, '  let sum = 0;\n', '  let sum = (0 + ;\n  ]]] @@ sum\n');
    const k = keyed(broken, strategy);
    expect(k.doc.tree!.rootNode.hasError).toBe(true);
    expect(key(edit(broken, "line.sku + ':' + line.cents", "line.sku+':'+line.cents"), strategy)).toBe(k.key);
    expect(key(edit(broken, ']]] @@ sum', ']]] @@ total'), strategy)).not.toBe(k.key);
    expect(key(edit(broken, ']]] @@ sum', ']] @@ sum'), strategy)).not.toBe(k.key);
  });

  it('only reads the window: an edit outside it keeps the key, one inside changes it', () => {
    const text = readFileSync(ZOD_TYPES, 'utf8');
    const doc = open(text, 'typescript', 'file:///zod/types.ts');
    const cursor = after(text, 'get element() {\n    return this._def.type;');
    const ctx = buildCompletionContext(doc, cursor, { contextChars: 6000 });
    const k = astHash(doc, ctx, FP, { strategy });
    const same = (changed: string): string =>
      keyAt(open(changed, 'typescript', 'file:///zod/types.ts'), cursor, strategy, 6000);

    // A rename far below the window (same length, so the window does not move).
    const far = text.lastIndexOf('export type ZodFirstPartySchemaTypes');
    expect(far).toBeGreaterThan(ctx.windowEnd);
    expect(same(text.slice(0, far) + 'export type ZodFirstPartySchemaTypex' + text.slice(far + 36))).toBe(k);
    // A length-preserving whitespace edit inside the window: `const a = b` -> `const a=  b`.
    const declaration = /^ +(?:const|let) \w+( = )/gm;
    declaration.lastIndex = ctx.windowStart;
    const m = declaration.exec(text)!;
    const eq = m.index + m[0].length - 3;
    expect(eq).toBeLessThan(cursor - 200);
    expect(same(text.slice(0, eq) + '=  ' + text.slice(eq + 3))).toBe(k);
    // A token inside the window.
    const dot = text.indexOf('this._def', ctx.windowStart);
    expect(dot).toBeLessThan(cursor);
    expect(same(text.slice(0, dot) + 'that._def' + text.slice(dot + 9))).not.toBe(k);
  });

  it('hashes the header (the enclosing signatures outside the window) up to formatting', () => {
    const body = Array.from({ length: 80 }, (_, i) => `  const v${i} = input.values[${i}] * factor;`).join('\n');
    const source = `export function scale(input: { values: number[] }, factor: number): number[] {\n${body}\n  return [${CURSOR}];\n}\n`;
    const at = (s: string) => {
      const k = keyed(s, strategy);
      const ctx = buildCompletionContext(k.doc, k.offset, { contextChars: 1500 });
      return { ctx, key: astHash(k.doc, ctx, FP, { strategy }) };
    };
    const first = at(source);
    expect(first.ctx.header).toContain('export function scale(');
    expect(at(source.replace('factor: number): number[]', 'factor:   number): number[]')).key).toBe(first.key);
    expect(at(source.replace('factor: number): number[]', 'factor: bigint): number[]')).key).not.toBe(first.key);
    // The header is not a range of the tree: 'lexical' reads it with its lexer, 'leaves' as plain text.
    const respaced = at(source.replace('factor: number): number[]', 'factor : number) : number[]')).key;
    if (strategy === 'lexical') expect(respaced).toBe(first.key);
    else expect(respaced).not.toBe(first.key);
  });
});

describe('ast hash: the lexical strategy against the tree', () => {
  it('is the strategy for the JavaScript family, and plain text without a tree', () => {
    expect(strategyFor(open('let a = 1;'))).toBe('lexical');
    expect(strategyFor(open('let a = 1;', 'javascriptreact', 'file:///a.jsx'))).toBe('lexical');
    expect(strategyFor(open('a = 1', 'python', 'file:///a.py'))).toBe('text');
  });

  it('never parses: the tree is read as it is', () => {
    const doc = open(fixtureText('ts'), 'typescript', FIXTURE.ts.uri);
    const parse = vi.spyOn(doc.syntax!.parser, 'parse');
    try {
      const text = doc.textDocument.getText();
      for (const strategy of ['lexical', 'leaves'] as const) keyAt(doc, text.length >> 1, strategy, 2000);
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });

  it('keeps whitespace inside a template literal that starts above the window significant', () => {
    const lines = Array.from({ length: 60 }, (_, i) => `  <li>item ${i}  of  many</li>`).join('\n');
    const source = `const html = \`\n<ul>\n${lines}\n</ul>\`;\n\nfunction after() {\n  return html.len${CURSOR}\n}\n`;
    const at = (s: string) => {
      const k = keyed(s);
      const ctx = buildCompletionContext(k.doc, k.offset, { contextChars: 600 });
      expect(ctx.windowStart).toBeGreaterThan(s.indexOf('`'));
      return astHash(k.doc, ctx, FP);
    };
    const k = at(source);
    // Inside the literal, in the window: spaces are content. Read as code, `item 59  of  many` and
    // `item 59 of many` would be the same tokens.
    expect(at(source.replace('item 59  of  many', 'item 59 of many'))).not.toBe(k);
    expect(at(source.replace('item 59  of  many', 'item 59  of  many '))).not.toBe(k);
    // After the literal, code again: formatting does not count.
    expect(at(source.replace('function after() {', 'function after(){'))).toBe(k);
  });

  it('knows it is inside a template literal that starts too far above to lex from its start', () => {
    const lines = Array.from({ length: 700 }, (_, i) => `  <li>item ${i}  of  many</li>`).join('\n');
    const source = `const html = \`\n<ul>\n${lines}\n</ul>\`;\nfunction after() {\n  return html.len${CURSOR}\n}\n`;
    const at = (s: string) => {
      const k = keyed(s);
      const ctx = buildCompletionContext(k.doc, k.offset, { contextChars: 600 });
      expect(ctx.windowStart - s.indexOf('`')).toBeGreaterThan(16 * 1024);
      return astHash(k.doc, ctx, FP);
    };
    const k = at(source);
    expect(at(source.replace('item 699  of  many', 'item 699 of many'))).not.toBe(k);
    expect(at(source.replace('function after() {', 'function after(){'))).toBe(k);
  });

  it('keeps a block comment that starts above the window a comment', () => {
    const lines = Array.from({ length: 60 }, (_, i) => ` * step ${i}: a + b`).join('\n');
    const source = `/**\n${lines}\n */\nexport const steps = [${CURSOR}];\n`;
    const at = (s: string) => {
      const k = keyed(s);
      const ctx = buildCompletionContext(k.doc, k.offset, { contextChars: 400 });
      expect(ctx.windowStart).toBeGreaterThan(5);
      return astHash(k.doc, ctx, FP);
    };
    const k = at(source);
    // Words in a comment are its text: `a + b` and `a+b` differ there (as code they would not).
    expect(at(source.replace('step 59: a + b', 'step 59: a+b'))).not.toBe(k);
    // Its layout does not count.
    expect(at(source.replace(' * step 59: a + b', '      * step 59:   a + b'))).toBe(k);
  });

  it('tells a regex from a division by asking the tree', () => {
    const source = `const ratio = total / count / 2;\nconst re = /a b/g;\nlet x = ${CURSOR};\n`;
    const k = key(source);
    expect(key(source.replace('total / count / 2', 'total/count/2'))).toBe(k);
    expect(key(source.replace('/a b/g', '/a  b/g'))).not.toBe(k);
    expect(key(source.replace('/a b/g', '/a b/ g'))).not.toBe(k);
    expect(key(source.replace('/a b/g', '/a b/i'))).not.toBe(k);
    // After `}` only the tree can tell: a block's end (a regex follows) or an object literal's (a division).
    const braces = `if (ok) {}\n/a b/.test(s);\nconst q = {} / 2;\nlet x = ${CURSOR};\n`;
    const kb = key(braces);
    expect(key(braces.replace('{} / 2', '{}/2'))).toBe(kb);
    expect(key(braces.replace('/a b/.test', '/a  b/.test'))).not.toBe(kb);
  });

  it('keeps a space only where dropping it would join two tokens', () => {
    const k = key(`let a = b - -c;\nlet d = e + +f;\nlet g = x => y;\n${CURSOR}\n`);
    expect(key(`let a = b - -c;\nlet d = e + +f;\nlet g = x=>y;\n${CURSOR}\n`)).toBe(k);
    expect(key(`let a = b--c;\nlet d = e + +f;\nlet g = x => y;\n${CURSOR}\n`)).not.toBe(k);
    expect(key(`let a = b - -c;\nlet d = e ++f;\nlet g = x => y;\n${CURSOR}\n`)).not.toBe(k);
    expect(key(`let a = b - -c;\nlet d = e + +f;\nlet g = x = > y;\n${CURSOR}\n`)).not.toBe(k);
  });

  it('writes the window without layout, the cursor line as it is', () => {
    const { doc, offset } = keyed(`function f( a ,b ) {\n  return a  +  b; // sum  it\n}\n  const x = f(1,  2${CURSOR} );\n`);
    const material = keyMaterial(doc, buildCompletionContext(doc, offset, { contextChars: 1000 }), 'fp');
    expect(material).toContain('function f(a,b){return a+b;// sum it\n}');
    expect(material).toContain(';19:  const x = f(1,  2;3: );;0:;');
  });
});

describe('ast hash: random edits on real files, both strategies', () => {
  const files = [
    { ...FIXTURE.ts, text: fixtureText('ts') },
    { ...FIXTURE.tsx, text: fixtureText('tsx') },
    { ...FIXTURE.js, text: fixtureText('js') },
  ];

  /** A cursor at the end of a line with code, so that the edits around it are outside its line. */
  function cursorLine(text: string, next: () => number): { offset: number; lineStart: number; lineEnd: number } {
    for (;;) {
      const at = Math.floor(next() * text.length);
      const lineStart = text.lastIndexOf('\n', at) + 1;
      const nl = text.indexOf('\n', at);
      const lineEnd = nl < 0 ? text.length : nl;
      if (text.slice(lineStart, lineEnd).trim().length > 3) return { offset: lineEnd, lineStart, lineEnd };
    }
  }

  /** Whether two tokens ending and starting with these characters may touch: neither a word nor an operator pair. */
  function canJoin(a: string, b: string): boolean {
    const word = /[\w$]/;
    if (word.test(a) && word.test(b)) return false;
    const ops = '=<>!+-*/%&|^?.:~@#';
    return !(ops.includes(a) && ops.includes(b));
  }

  /** Where whitespace sits between two tokens of code, outside the cursor line (from the tree's leaves). */
  function gaps(doc: OpenDocument, lineStart: number, lineEnd: number): number[] {
    const text = doc.textDocument.getText();
    const out: number[] = [];
    const c = doc.tree!.walk();
    let prevEnd = -1;
    let prevType = '';
    const visit = (): void => {
      if (c.gotoFirstChild()) {
        do visit();
        while (c.gotoNextSibling());
        c.gotoParent();
        return;
      }
      const start = c.startIndex;
      const inside = (i: number) => i >= lineStart - 1 && i <= lineEnd + 1;
      if (prevEnd >= 0 && start > prevEnd && !prevType.includes('comment') && c.nodeType !== 'jsx_text' && prevType !== 'jsx_text') {
        if (/^\s+$/.test(text.slice(prevEnd, start)) && !inside(prevEnd) && !inside(start)) out.push(prevEnd);
      }
      prevEnd = c.endIndex;
      prevType = c.nodeType;
    };
    visit();
    return out;
  }

  it('keeps both keys through whitespace edits between tokens, and changes both for a token edit', () => {
    const next = random(20250611);
    let checked = 0;
    for (const f of files) {
      for (let round = 0; round < 12; round++) {
        const { offset, lineStart, lineEnd } = cursorLine(f.text, next);
        const doc = open(f.text, f.languageId, f.uri);
        const before = { lexical: keyAt(doc, offset, 'lexical'), leaves: keyAt(doc, offset, 'leaves') };
        const candidates = gaps(doc, lineStart, lineEnd);
        // Reformat: each chosen gap between two tokens gets other whitespace.
        let text = f.text;
        let cursor = offset;
        const picked = candidates.filter(() => next() < 0.3).sort((a, b) => b - a); // from the end: offsets hold
        for (const pos of picked) {
          let end = pos;
          while (/\s/.test(text[end]!)) end++;
          // A line break stays a line break (ASI, `export\nconst`, JSX text read it), with other indentation;
          // other blanks change length, or become a line break after an opener or a separator.
          const ws = /[\r\n]/.test(text.slice(pos, end))
            ? '\n' + ' '.repeat(Math.floor(next() * 9))
            : ',;{(['.includes(text[pos - 1]!) && next() < 0.5
              ? '\n      '
              : ['', ' ', '  \t'][Math.floor(next() * 3)]!;
          if (ws === '' && !canJoin(text[pos - 1]!, text[end]!)) continue;
          text = text.slice(0, pos) + ws + text.slice(end);
          if (pos < offset) cursor += ws.length - (end - pos);
        }
        const reformatted = open(text, f.languageId, f.uri);
        expect(keyAt(reformatted, cursor, 'lexical'), `${f.file} @${offset}`).toBe(before.lexical);
        expect(keyAt(reformatted, cursor, 'leaves'), `${f.file} @${offset}`).toBe(before.leaves);

        // A token edit: one identifier character changed, away from the cursor line.
        const word = /[A-Za-z_]\w{2,}/g;
        word.lastIndex = Math.floor(next() * f.text.length);
        const m = word.exec(f.text);
        if (!m || (m.index >= lineStart - 1 && m.index <= lineEnd + 1)) continue;
        const i = m.index + 1;
        const changed = f.text.slice(0, i) + (f.text[i] === 'q' ? 'z' : 'q') + f.text.slice(i + 1);
        const edited = open(changed, f.languageId, f.uri);
        expect(keyAt(edited, offset, 'lexical'), `${f.file} @${i}`).not.toBe(before.lexical);
        expect(keyAt(edited, offset, 'leaves'), `${f.file} @${i}`).not.toBe(before.leaves);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });
});

describe('ast hash: plain text (no grammar)', () => {
  const PY = fixtureText('py');
  const pyKey = (text: string, offset: number) => keyAt(open(text, 'python', FIXTURE.py.uri), offset);
  const cursor = after(PY, 'query = query.lower()');

  it('collapses runs of spaces and tabs and drops blank lines outside the cursor line', () => {
    const k = pyKey(PY, cursor);
    const head = PY.slice(0, cursor - 'query = query.lower()'.length);
    const tail = PY.slice(cursor);
    const spaced = head.replace('class Note:', 'class   Note:\n\n\n').replace('title: str', 'title:\tstr  ');
    expect(pyKey(spaced + 'query = query.lower()' + tail, cursor + spaced.length - head.length)).toBe(k);
    expect(pyKey(head + 'query = query.lower()' + tail.replace('return query in', 'return  query   in'), cursor)).toBe(k);
    // Re-indenting a line above to another depth keeps it; indented vs not does not.
    expect(pyKey(PY.replace('    body: str', '        body: str'), cursor + 4)).toBe(k);
    expect(pyKey(PY.replace('    body: str', 'body: str'), cursor - 4)).not.toBe(k);
  });

  it('changes for any change to the words, and for the cursor line exactly', () => {
    const k = pyKey(PY, cursor);
    expect(pyKey(PY.replace('body: str', 'text: str'), cursor)).not.toBe(k);
    expect(pyKey(PY.replace('query = query.lower()', 'query = query.lower( )'), cursor + 1)).not.toBe(k);
    expect(pyKey(PY.replace('query = query.lower()', 'query  = query.lower()'), cursor + 1)).not.toBe(k);
    expect(pyKey(PY, cursor - 1)).not.toBe(k);
  });
});
