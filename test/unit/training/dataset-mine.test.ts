// The commit classifier (subject words, Conventional Commits types, diff shape) and the function pairs cut from two
// versions of a file with the project's grammars.
import { describe, expect, it } from 'vitest';
import { countHunks, messageTasks, parseNumstat, SHAPE_LIMITS, shapeProblem, type FileChange } from '../../../server/training/commit-filter.js';
import { changedFunctions } from '../../../server/training/function-pairs.js';

describe('messageTasks', () => {
  it.each([
    ['Fix crash when the list is empty', ['fix']],
    ['sum: off-by-one error', ['fix']],
    ['Correct a TYPO in the parser', ['fix']],
    ['Regression in the cache key', ['fix', 'optimize']],
    ['Refactor the parser', ['refactor']],
    ['rename n to count', ['refactor']],
    ['Extract helper; simplify loop', ['refactor']],
    ['clean-up of the store', ['refactor']],
    ['Speed up tokenization', ['optimize']],
    ['Optimise the hot loop', ['optimize']],
    ['less memory per document', ['optimize']],
    ['faster startup', ['optimize']],
  ])('%s → %j', (subject, tasks) => {
    expect(messageTasks(subject)).toEqual(tasks);
  });

  it('matches whole words only', () => {
    for (const subject of ['Add a prefix option', 'Errand list', 'fixture for the server', 'bugle call', 'renamer tool', 'Cachet update', 'slowpoke mode'])
      expect(messageTasks(subject), subject).toEqual([]);
  });

  it('lets a Conventional Commits type decide, and ignores reverts', () => {
    expect(messageTasks('fix(parser): handle tabs')).toEqual(['fix']);
    expect(messageTasks('perf: avoid a copy')).toEqual(['optimize']);
    expect(messageTasks('refactor!: split module, fixes #3')).toEqual(['refactor']);
    expect(messageTasks('docs: fix typo')).toEqual([]);
    expect(messageTasks('feat: faster cache')).toEqual([]);
    // An unknown prefix names a module, not a type: the words decide.
    expect(messageTasks('lsp: fix crash on exit')).toEqual(['fix']);
    expect(messageTasks('Revert "fix: off-by-one in sum"')).toEqual([]);
  });
});

describe('diff shape', () => {
  const ts = (path: string) => path.endsWith('.ts');
  const file = (path: string, added: number, deleted: number): FileChange => ({ path, added, deleted, binary: false });

  it('accepts a small change to parsed code', () => {
    expect(shapeProblem({ files: [file('a.ts', 3, 1), file('a.test.ts', 5, 0)], hunks: 2 }, ts)).toBeUndefined();
  });

  it('says why a change is not small and focused', () => {
    const many = Array.from({ length: SHAPE_LIMITS.maxFiles + 1 }, (_, i) => file(`f${i}.ts`, 1, 1));
    expect(shapeProblem({ files: many, hunks: 5 }, ts)).toBe('tooManyFiles');
    expect(shapeProblem({ files: [file('a.ts', SHAPE_LIMITS.maxChangedLines, 1)], hunks: 1 }, ts)).toBe('tooManyLines');
    expect(shapeProblem({ files: [file('a.ts', 10, 10)], hunks: SHAPE_LIMITS.maxHunks + 1 }, ts)).toBe('tooManyHunks');
    expect(shapeProblem({ files: [file('a.ts', 4, 4)], hunks: 0 }, ts)).toBe('whitespaceOnly');
    expect(shapeProblem({ files: [file('README.md', 2, 1)], hunks: 1 }, ts)).toBe('noParsedFile');
    expect(shapeProblem({ files: [file('a.ts', 1, 1), { path: 'logo.png', added: 0, deleted: 0, binary: true }], hunks: 1 }, ts)).toBe('binary');
  });

  it('reads git numstat -z and counts hunks', () => {
    expect(parseNumstat('3\t1\tsrc/a b.ts\0-\t-\timg.png\0\n12\t0\tnew.ts\0')).toEqual([
      { path: 'src/a b.ts', added: 3, deleted: 1, binary: false },
      { path: 'img.png', added: 0, deleted: 0, binary: true },
      { path: 'new.ts', added: 12, deleted: 0, binary: false },
    ]);
    expect(countHunks('diff --git a/x b/x\n@@ -1,3 +1,3 @@\n-a\n+b\n@@ -10 +10,2 @@ function f\n+c\n')).toBe(2);
    expect(countHunks('diff --git a/x b/x\nindex 1..2 100644\n')).toBe(0);
  });
});

describe('changedFunctions', () => {
  const before = `import { x } from './x';

export function a(n: number): number {
  return n + 1;
}

class C {
  m(): number {
    // one
    return 1;
  }

  k(): number {
    const inner = () => {
      return 2;
    };
    return inner();
  }
}
`;

  it('cuts the changed function whole, with its export, matched by name inside its class', () => {
    const after = before.replace('return n + 1;', 'return n + 2;').replace('return 1;', 'return 10;');
    const { pairs } = changedFunctions('src/f.ts', before, after, 6000);
    expect(pairs.map((p) => p.key)).toEqual(['function a', 'class C > method m']);
    expect(pairs[0]!.before.text).toBe('export function a(n: number): number {\n  return n + 1;\n}');
    expect(pairs[0]!.after.text).toBe('export function a(n: number): number {\n  return n + 2;\n}');
    expect(pairs[1]!.before.indent).toBe('  ');
    expect(pairs[0]!.beforeDoc.languageId).toBe('typescript');
  });

  it('gives a change inside a nested function to that function alone', () => {
    const { pairs } = changedFunctions('f.ts', before, before.replace('return 2;', 'return 3;'), 6000);
    expect(pairs.map((p) => p.key)).toEqual(['class C > method k > function inner']);
  });

  it('skips comment and layout changes, renamed functions, syntax errors and functions over the limit', () => {
    const comment = changedFunctions('f.ts', before, before.replace('// one', '// the one').replace('return n + 1;', 'return   n+1;'), 6000);
    expect(comment.pairs).toEqual([]);
    expect(comment.skipped).toEqual({ layoutOnly: 2 });

    const renamed = changedFunctions('f.ts', before, before.replace('function a(', 'function b('), 6000);
    expect(renamed.pairs).toEqual([]);
    expect(renamed.skipped).toEqual({ unmatched: 2 });

    const broken = changedFunctions('f.ts', before, before.replace('return 1;', 'return 1 +;'), 6000);
    expect(broken.pairs).toEqual([]);
    expect(broken.skipped).toEqual({ syntaxErrors: 1 });

    const large = changedFunctions('f.ts', before, before.replace('return n + 1;', 'return n + 2;'), 40);
    expect(large.skipped).toEqual({ tooLarge: 1 });
  });

  it('has nothing to say about files without a grammar', () => {
    expect(changedFunctions('notes.md', 'a', 'b', 6000)).toEqual({ pairs: [], skipped: {} });
  });
});
