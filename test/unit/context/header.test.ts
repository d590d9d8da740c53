import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCompletionContext } from '../../../server/context/context-builder.js';
import { patternRootTypes } from '../../../server/context/header.js';
import { languageByName, querySource } from '../../../server/documents/syntax.js';
import { after, expectWellFormed, openFixture, openText, ZOD_TYPES } from './fixtures.js';

const CLASS = 'export class InventoryService extends EventEmitter implements Disposable {';
const REPORT = '  async report(filter: SkuFilter = {}): Promise<string> {';

function lines(header: string): string[] {
  return header.split('\n').filter((l) => l !== '');
}

describe('header: enclosing scopes and imports outside the window', () => {
  it('shows the imports, the class and the method around a cursor deep in a long method', () => {
    const doc = openFixture('ts');
    const text = doc.textDocument.getText();
    const ctx = buildCompletionContext(doc, after(text, "return [...header, '', ...lines]"), { contextChars: 1200 });
    expectWellFormed(doc, ctx, 1200);
    expect(ctx.prefix).not.toContain('async report(');
    expect(lines(ctx.header)).toEqual([
      "import { EventEmitter } from 'node:events';",
      "import { createHash } from 'node:crypto';",
      "import type { Logger } from './logger.js';",
      CLASS,
      REPORT,
    ]);
    expect(ctx.header.length).toBeLessThanOrEqual(300);
    // Header and window never overlap: the header is text from before the window.
    expect(text.indexOf(REPORT)).toBeLessThan(ctx.windowStart);
  });

  it('leaves out what the window already shows', () => {
    const doc = openFixture('ts');
    const text = doc.textDocument.getText();
    const cursor = after(text, "return [...header, '', ...lines]");
    expect(buildCompletionContext(doc, cursor, { contextChars: 50_000 }).header).toBe('');
    // A budget that reaches back into report() but not to the class: the class header only.
    const ctx = buildCompletionContext(doc, after(text, 'let totalValue = 0;'), { contextChars: 1000 });
    expectWellFormed(doc, ctx, 1000);
    expect(ctx.prefix).toContain(REPORT);
    expect(ctx.header).toContain(CLASS + '\n');
    expect(ctx.header).not.toContain('async report');
    expect(ctx.header.indexOf('import')).toBe(0);
  });

  it('keeps the innermost scope first when the cap is tight, and never exceeds a quarter of the budget', () => {
    const doc = openFixture('ts');
    const text = doc.textDocument.getText();
    const ctx = buildCompletionContext(doc, after(text, "return [...header, '', ...lines]"), { contextChars: 400 });
    expectWellFormed(doc, ctx, 400);
    expect(ctx.header.length).toBeLessThanOrEqual(100);
    expect(lines(ctx.header)).toContain(REPORT);
    expect(lines(ctx.header)).not.toContain(CLASS);
  });

  it('shows namespaces, object-literal methods and arrow functions held by constants', () => {
    const doc = openFixture('ts');
    const text = doc.textDocument.getText();
    const levelOf = '  export function levelOf(quantity: number): StockLevel {';
    const cursor = after(text, 'if (quantity > OVERSTOCKED) return');
    // A 50-character cap: the function's header (58) does not fit, the namespace's does.
    const inNamespace = buildCompletionContext(doc, cursor, { contextChars: 200 });
    expect(lines(inNamespace.header)).toEqual(['export namespace Thresholds {']);
    // Room for one of the two: the inner one.
    const inFunction = buildCompletionContext(doc, cursor, { contextChars: 240 });
    expect(inFunction.prefix).not.toContain(levelOf);
    expect(lines(inFunction.header)).toEqual([levelOf]);

    const inObjectMethod = buildCompletionContext(doc, after(text, 'yield { ...sku'), { contextChars: 450 });
    expectWellFormed(doc, inObjectMethod, 450);
    expect(lines(inObjectMethod.header)).toEqual([
      'export function createInMemoryStore(seed: readonly Sku[] = []): InventoryStore {',
      '    async *list(filter = {}) {',
    ]);

    const formatPrice = "export const formatPrice = (cents: number, currency = 'EUR'): string => {";
    const inFormat = after(text, 'return `${units}.${rest} ${currency}`');
    const inArrow = buildCompletionContext(doc, inFormat, { contextChars: 300 });
    expect(lines(inArrow.header)).toEqual([formatPrice]);
    // A little more room: the window shows it, and the room it leaves goes to an import.
    const roomier = buildCompletionContext(doc, inFormat, { contextChars: 400 });
    expect(roomier.prefix).toContain(formatPrice);
    expect(lines(roomier.header)).toHaveLength(1);
    expect(roomier.header).toMatch(/^import \{ \w+ \} from 'node:\w+';\n$/);

    const inFilter = after(text, 'readonly maxPriceCents?: number;');
    const inInterface = buildCompletionContext(doc, inFilter, { contextChars: 120 });
    expect(lines(inInterface.header)).toEqual(['export interface SkuFilter {']);
  });

  it('shows requires, classes, methods and module.exports objects in JavaScript', () => {
    const doc = openFixture('js');
    const text = doc.textDocument.getText();
    const ctx = buildCompletionContext(doc, after(text, 'await this.onError(err, ctx);'), { contextChars: 1200 });
    expectWellFormed(doc, ctx, 1200);
    expect(lines(ctx.header)).toEqual([
      "const http = require('node:http');",
      "const { URL } = require('node:url');",
      "const path = require('node:path');",
      "const debug = require('debug')('router');",
      "const { parse: parseQuery } = require('node:querystring');",
      'class Router {',
      '  async handle(req, res) {',
    ]);
    expect(ctx.header).not.toContain('use strict');

    const inExports = buildCompletionContext(doc, after(text, 'return new Router(options);'), { contextChars: 150 });
    expect(inExports.prefix).toContain('  createRouter(options) {');
    expect(lines(inExports.header)).toEqual(['module.exports = {']);
  });

  it('shows functions held by assignments and test callbacks', () => {
    const body = Array.from(
      { length: 30 },
      (_, i) => `    expect(route.match('GET', '/users/${i}')).toEqual({ id: '${i}' });`,
    );
    const text = [
      "const { Router } = require('./router');",
      '',
      'Router.prototype.describe = function (verbose) {',
      ...body.map((l) => l.replace('expect(', 'console.log(')),
      '};',
      '',
      "describe('Route', () => {",
      "  it('matches parameters', async () => {",
      "    const route = new Route('GET', '/users/:id', [() => {}]);",
      ...body,
      '    ',
      '  });',
      '});',
      '',
    ].join('\n');
    const doc = openText(text, 'javascript', 'file:///work/test/router.test.js');
    const inTest = buildCompletionContext(doc, text.lastIndexOf('    \n') + 4, { contextChars: 800 });
    expectWellFormed(doc, inTest, 800);
    expect(lines(inTest.header)).toEqual([
      "const { Router } = require('./router');",
      "describe('Route', () => {",
      "  it('matches parameters', async () => {",
    ]);
    const inDescribe = after(text, "console.log(route.match('GET', '/users/29'))");
    const inMethod = buildCompletionContext(doc, inDescribe, { contextChars: 800 });
    expect(lines(inMethod.header)).toEqual([
      "const { Router } = require('./router');",
      'Router.prototype.describe = function (verbose) {',
    ]);
  });

  it('shows the component and the callback around a cursor in TSX', () => {
    const doc = openFixture('tsx');
    const text = doc.textDocument.getText();
    const ctx = buildCompletionContext(doc, after(text, "dispatch({ type: 'clear' });"), { contextChars: 1000 });
    expectWellFormed(doc, ctx, 1000);
    expect(ctx.language).toBe('tsx');
    // Not all imports fit in 250 characters: the one the window uses (cancelOrder) does.
    expect(lines(ctx.header)).toEqual([
      "import { fetchOrders, cancelOrder, type Order, type OrderStatus } from '../api/orders';",
      'export const OrderTable: React.FC<OrderTableProps> = ({ customerId, statuses, onOpen, emptyState }) => {',
      '  const cancelSelected = useCallback(async () => {',
    ]);
    const roomy = buildCompletionContext(doc, after(text, "dispatch({ type: 'clear' });"), { contextChars: 3000 });
    expect(lines(roomy.header).slice(0, 5)).toEqual(
      text.split('\n').slice(0, 5), // all five imports, in order
    );
  });

  it('prefers the imports the window uses when not all of them fit', () => {
    const imports = Array.from(
      { length: 40 },
      (_, i) => `import { helper${i}, Helper${i}Options } from './helpers/helper-${i}.js';`,
    );
    const body = Array.from({ length: 60 }, (_, i) => `  const value${i} = ${i} * factor;`);
    const fn = 'export function compute(factor: number): number {';
    const text = [...imports, '', fn, ...body, '  return helper27(', '}', ''].join('\n');
    const doc = openText(text);
    const ctx = buildCompletionContext(doc, after(text, 'return helper27('), { contextChars: 1600 });
    expectWellFormed(doc, ctx, 1600);
    const header = lines(ctx.header);
    expect(header).toContain("import { helper27, Helper27Options } from './helpers/helper-27.js';");
    expect(header).toContain('export function compute(factor: number): number {');
    expect(header.length).toBeLessThan(12); // not all 40 imports: the cap is 400 characters
    expect(ctx.header.length).toBeLessThanOrEqual(400);
    // Document order is kept: the used import (27) comes after the others that fit, before the function.
    const used = "import { helper27, Helper27Options } from './helpers/helper-27.js';";
    expect(header.indexOf(used)).toBe(header.length - 2);
  });

  it('shortens a signature that is too long to its first and last lines', () => {
    const params = Array.from({ length: 30 }, (_, i) => `  option${i}: string,`);
    const body = Array.from({ length: 40 }, (_, i) => `  console.log(option${i % 30});`);
    const text = ['export function configure(', ...params, '): Config {', ...body, '  return ', '}', ''].join('\n');
    const doc = openText(text);
    const ctx = buildCompletionContext(doc, after(text, '  return '), { contextChars: 800 });
    expectWellFormed(doc, ctx, 800);
    expect(lines(ctx.header)).toEqual(['export function configure(', '): Config {']);
  });

  it('keeps header lines whole when the window starts inside a long line', () => {
    // The signature's last line is the cursor's line, ~900 characters long; a 995-character prefix budget of which
    // the header reserves ~175: the window starts inside the parameters, and the header stops at the line before.
    const filler = Array.from({ length: 40 }, (_, i) => `// line ${i}`).join('\n') + '\n';
    const params = '  ' + 'a0: number, '.repeat(25) + ') { return ';
    const line = params + 'a0 + '.repeat(Math.floor((900 - params.length) / 5));
    const text = filler + 'export function f(\n' + line + '0; }\n';
    const doc = openText(text);
    const ctx = buildCompletionContext(doc, text.length - 5, { contextChars: 1000 });
    expectWellFormed(doc, ctx, 1000);
    expect(ctx.windowStart).toBeGreaterThan(text.length - 5 - line.length); // mid-line…
    expect(ctx.windowStart).toBeLessThan(text.indexOf(') { return')); // …in the parameters
    expect(ctx.header).toBe('export function f(\n'); // not half of the parameters' line
  });

  it('shows the scope of an unfinished function the cursor is typing at the end of', () => {
    // (Tree-sitter recovers one missing brace at the end of a file; with more, the file is one ERROR node.)
    const body = Array.from({ length: 40 }, (_, i) => `  total += ${i};`);
    const text = ['export function add(total: number): number {', ...body, '  total'].join('\n');
    const doc = openText(text);
    const ctx = buildCompletionContext(doc, text.length, { contextChars: 300 });
    expectWellFormed(doc, ctx, 300);
    expect(lines(ctx.header)).toEqual(['export function add(total: number): number {']);
  });

  it('does not count a scope the cursor has just left', () => {
    const body = Array.from({ length: 40 }, (_, i) => `    this.total += ${i};`);
    const text = ['export class Counter {', '  add() {', ...body, '  }', '', '}', ''].join('\n');
    const doc = openText(text);
    const ctx = buildCompletionContext(doc, after(text, '  }\n'), { contextChars: 300 });
    expect(lines(ctx.header)).toEqual(['export class Counter {']);
    const rightAfterBrace = buildCompletionContext(doc, after(text, '+= 39;\n  }'), { contextChars: 300 });
    expect(lines(rightAfterBrace.header)).toEqual(['export class Counter {']);
  });

  it('reads headers in a large real file (zod) and keeps them short', () => {
    const text = readFileSync(ZOD_TYPES, 'utf8');
    const doc = openText(text, 'typescript', 'file:///zod/types.ts');
    const cursor = after(text, 'const getIssueProperties = (val: Output) => {');
    const ctx = buildCompletionContext(doc, cursor, { contextChars: 1200 });
    expectWellFormed(doc, ctx, 1200);
    expect(ctx.header).toContain(
      'export abstract class ZodType<Output = any, Def extends ZodTypeDef = ZodTypeDef, Input = Output> {\n',
    );
    expect(ctx.header.startsWith('import {\n  type IssueData,')).toBe(true);
  });
});

describe('queries', () => {
  it('compile for every registered language with a grammar', () => {
    for (const name of ['typescript', 'tsx', 'javascript', 'jsx']) {
      const syntax = languageByName(name);
      expect(syntax, name).toBeDefined();
      expect(syntax!.scopes, `${name} scopes.scm`).toBeDefined();
      expect(syntax!.imports, `${name} imports.scm`).toBeDefined();
      const tree = syntax!.parser.parse('class A { m() { return 1; } }');
      const matches = syntax!.scopes!.matches(tree.rootNode);
      const names = matches.flatMap((m) => m.captures.map((c) => `${c.name}:${c.node.type}`));
      expect(names).toEqual(
        expect.arrayContaining([
          ...['scope:class_declaration', 'body:class_body'],
          ...['scope:method_definition', 'body:statement_block'],
        ]),
      );
    }
  });

  it('have named roots that the scope search can read', () => {
    for (const folder of ['typescript', 'javascript']) {
      // With what `; inherits: ecma` brings in: the file alone holds only the grammar's own patterns.
      const roots = patternRootTypes(querySource(folder, 'scopes.scm')!);
      expect(roots).not.toBeNull();
      expect([...roots!]).toEqual(
        expect.arrayContaining(['function_declaration', 'class_declaration', 'method_definition', 'arrow_function']),
      );
    }
    const roots = patternRootTypes('; c\n((identifier) @x (#eq? @x "a")) [(a) (b)] @y (c (d))');
    expect(roots).toEqual(new Set(['identifier', 'a', 'b', 'c']));
    expect(patternRootTypes('(_) @any')).toBeNull();
  });
});
