import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFimCases, FIM_CATEGORIES, fimCasesForFile, isTrivialMiddle, typescriptLanguage, type FimCase, type SourceFile } from '../../bench/ensemble/dataset.js';
import { exactMatch } from '../../bench/ensemble/quality.js';
import { CORRUPTIONS, simulate, type SimModelSpec } from '../../bench/ensemble/simulated-models.js';
import { countSyntaxErrors, parse, type SyntaxNode } from '../../server/documents/syntax.js';
import { checkerFor } from '../../server/engine/postprocess/syntax-check.js';
import { PACKAGE_ROOT } from '../../server/paths.js';

const FILE: SourceFile = {
  repo: 'zod',
  path: 'src/v3/types.ts',
  absolutePath: join(PACKAGE_ROOT, 'node_modules', 'zod', 'src', 'v3', 'types.ts'),
};

/** A node of this type spanning exactly [start, end), found from the smallest node covering the range upwards. */
function nodeAt(root: SyntaxNode, start: number, end: number, type: string): SyntaxNode | undefined {
  let node: SyntaxNode | null = root.descendantForIndex(start, Math.max(start, end - 1));
  while (node && node.startIndex >= start && node.endIndex <= end) {
    if (node.startIndex === start && node.endIndex === end && node.type === type) return node;
    node = node.parent;
  }
  return undefined;
}

describe('bench/ensemble dataset', () => {
  const text = readFileSync(FILE.absolutePath, 'utf8');
  const cases = fimCasesForFile(FILE, text, { seed: 7, perFileCap: 6 });
  const language = typescriptLanguage();

  it('yields cases of every category from one real file', () => {
    expect(countSyntaxErrors(parse(language, text)!.rootNode)).toBe(0);
    for (const category of FIM_CATEGORIES) expect(cases.filter((c) => c.category === category).length, category).toBeGreaterThan(0);
    for (const c of cases) expect(c.repo).toBe('zod');
  });

  it('cuts each case so that prefix + middle + suffix is the original window', () => {
    for (const c of cases) {
      const from = c.startOffset - c.prefix.length;
      const to = c.endOffset + c.suffix.length;
      expect(from).toBeGreaterThanOrEqual(0);
      expect(c.prefix + c.middle + c.suffix).toBe(text.slice(from, to));
      expect(c.middle).toBe(text.slice(c.startOffset, c.endOffset));
      // Windows of about 4,000 / 2,000 characters, on line boundaries unless at the file's ends.
      expect(c.prefix.length).toBeLessThanOrEqual(4000);
      expect(c.suffix.length).toBeLessThanOrEqual(2000);
      expect(from === 0 || text[from - 1] === '\n').toBe(true);
      expect(to === text.length || text[to - 1] === '\n').toBe(true);
      expect(isTrivialMiddle(c.middle)).toBe(false);
      expect(c.middle.split('\n').length).toBeLessThanOrEqual(15);
    }
  });

  it('masks a middle that parses in place: no new syntax errors', () => {
    for (const c of cases) {
      const rebuilt = text.slice(0, c.startOffset) + c.middle + text.slice(c.endOffset);
      expect(countSyntaxErrors(parse(language, rebuilt)!.rootNode)).toBe(0);
      // The engine's own check (window around the cursor): the middle parses no worse than the code without it.
      expect(checkerFor(language, c.prefix, c.suffix).accepts(c.middle), `${c.category} ${JSON.stringify(c.middle)}`).toBe(true);
    }
  });

  it('masks whole syntax nodes for the node categories', () => {
    const root = parse(language, text)!.rootNode;
    for (const c of cases) {
      if (c.category === 'line' || c.category === 'multiline' || c.nodeType === 'call_expression') {
        expect(nodeAt(root, c.startOffset, c.endOffset, c.nodeType), `${c.category} ${c.nodeType} ${JSON.stringify(c.middle)}`).toBeDefined();
      }
      if (c.category === 'line') expect(c.middle.includes('\n')).toBe(false);
      if (c.category === 'multiline') expect(c.middle.includes('\n')).toBe(true);
    }
  });

  it('is deterministic for a seed', () => {
    expect(fimCasesForFile(FILE, text, { seed: 7, perFileCap: 6 })).toEqual(cases);
  });
});

describe('bench/ensemble simulated models', () => {
  const cases: FimCase[] = buildFimCases({ seed: 3, maxCases: 400, perFileCap: 8 });
  const models: SimModelSpec[] = [
    { name: 'weak', p: 0.3, latencyMs: 50, weight: 1 },
    { name: 'strong', p: 0.7, latencyMs: 300, weight: 1 },
  ];

  it('builds a balanced set from the real sources', () => {
    expect(cases.length).toBe(400);
    for (const category of FIM_CATEGORIES) expect(cases.filter((c) => c.category === category).length).toBe(80);
  });

  it('is deterministic: the same seed, case, model and sample give the same answer', () => {
    for (const c of cases.slice(0, 50)) {
      for (const m of models) {
        expect(simulate(m, c, 0, { seed: 11 })).toEqual(simulate(m, c, 0, { seed: 11 }));
        expect(simulate(m, c, 2, { seed: 11 })).toEqual(simulate(m, c, 2, { seed: 11 }));
      }
    }
  });

  it('returns the ground truth with about probability p, and a real corruption otherwise', () => {
    const kinds = new Set<string>();
    for (const m of models) {
      let right = 0;
      let exact = 0;
      for (const c of cases) {
        const out = simulate(m, c, 0, { seed: 11 });
        if (out.kind === 'correct') {
          right++;
          expect(out.text).toBe(c.middle);
        } else {
          kinds.add(out.kind);
          expect(out.text).not.toBe(c.middle);
          expect(out.text.trim()).not.toBe('');
        }
        if (exactMatch(out.text, c.middle)) exact++;
        expect(out.latencyMs).toBeGreaterThan(0);
        expect(out.meanLogprob).toBeLessThan(0);
      }
      // Loose: 400 independent cases, sd ≈ 0.023.
      expect(Math.abs(right / cases.length - m.p), m.name).toBeLessThan(0.08);
      // Some equivalent re-formattings still match exactly, never fewer than the verbatim answers.
      expect(exact).toBeGreaterThanOrEqual(right);
    }
    for (const kind of CORRUPTIONS) expect(kinds.has(kind), kind).toBe(true);
  });

  it('varies between samples of one model and between seeds', () => {
    const differs = (a: (c: FimCase) => string, b: (c: FimCase) => string) => cases.some((c) => a(c) !== b(c));
    const strong = models[1]!;
    expect(differs((c) => simulate(strong, c, 0, { seed: 11 }).text, (c) => simulate(strong, c, 1, { seed: 11 }).text)).toBe(true);
    expect(differs((c) => simulate(strong, c, 0, { seed: 11 }).text, (c) => simulate(strong, c, 0, { seed: 12 }).text)).toBe(true);
  });
});
