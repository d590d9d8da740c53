import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FILTERS, postprocess, postprocessTraced } from '../../../server/engine/postprocess/pipeline.js';
import { loadCases } from './golden.js';

const CASES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'cases');
const cases = loadCases(CASES_DIR);
const filterByName = new Map(DEFAULT_FILTERS.map((f) => [f.name, f]));

/** What went on, for a failing case: every step that changed the text. */
function trace(c: (typeof cases)[number]): string {
  const { steps } = postprocessTraced(c.answer, c.context);
  return steps.map((s) => `  ${s.name}: ${JSON.stringify(s.before)} -> ${JSON.stringify(s.after)}`).join('\n') || '  (no filter changed it)';
}

describe('golden post-processing cases', () => {
  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const c of cases) {
    describe(c.name, () => {
      if (c.expected !== undefined) {
        it('pipeline', () => {
          expect(postprocess(c.answer, c.context), `${c.file}\n${c.description}\nsteps:\n${trace(c)}`).toBe(c.expected);
        });
      }
      for (const [name, expected] of c.filters) {
        it(`filter ${name}`, () => {
          const filter = filterByName.get(name);
          expect(filter, `${c.file}: no filter named '${name}'`).toBeDefined();
          expect(filter!.apply(c.answer, c.context), `${c.file}\n${c.description}`).toBe(expected);
        });
      }
    });
  }

  it('every filter has at least three cases of its own: one it changes, one it leaves as it is', () => {
    for (const filter of DEFAULT_FILTERS) {
      const own = cases.filter((c) => c.filters.has(filter.name));
      expect(own.length, `cases for ${filter.name}`).toBeGreaterThanOrEqual(3);
      expect(own.some((c) => c.filters.get(filter.name) === c.answer), `an unchanged case for ${filter.name}`).toBe(true);
      expect(own.some((c) => c.filters.get(filter.name) !== c.answer), `a changed case for ${filter.name}`).toBe(true);
    }
  });

  it('covers TypeScript, JavaScript, text without a grammar, and the whole pipeline', () => {
    const languages = new Set(cases.map((c) => c.language ?? 'none'));
    expect(languages).toContain('typescript');
    expect(languages).toContain('javascript');
    expect(cases.some((c) => c.context.syntax === undefined && c.expected !== undefined)).toBe(true);
    expect(cases.filter((c) => c.name.startsWith('pipeline/')).length).toBeGreaterThanOrEqual(5);
  });
});
