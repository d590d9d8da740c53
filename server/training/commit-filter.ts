/**
 * Which commits a mined code-task dataset (dataset-mine.ts) learns from: by the subject line (what kind of change the
 * author says it is) and by the diff's shape (a small, focused change). Pure: git's output is parsed by the caller.
 */

export const MINE_TASKS = ['refactor', 'fix', 'optimize'] as const;
export type MineTask = (typeof MINE_TASKS)[number];

export function isMineTask(value: unknown): value is MineTask {
  return typeof value === 'string' && (MINE_TASKS as readonly string[]).includes(value);
}

/**
 * Words that name each task, matched as whole words, case-insensitively. Stems with their usual endings rather than
 * bare prefixes, so "prefix", "errand" or "cachet" do not count.
 */
export const TASK_WORDS: Record<MineTask, RegExp> = {
  fix: /\b(?:(?:hot|bug)?fix(?:es|ed|ing)?|bugs?|crash(?:es|ed|ing)?|errors?|erroneous|wrong(?:ly)?|regressions?|typos?|incorrect(?:ly)?|broken|off-by-one|mistakes?|faulty)\b/i,
  refactor: /\b(?:refactor(?:s|ed|ing)?|clean(?:s|ed|ing)?(?:[- ]?up)?|cleanups?|renam(?:e|es|ed|ing)|extract(?:s|ed|ing)?|simplif(?:y|ies|ied|ying|ication)|tid(?:y|ies|ied|ying)|restructur(?:e|es|ed|ing)|reorgani[sz](?:e|es|ed|ing)|dedup(?:e|licate|licates|licated)?)\b/i,
  optimize: /\b(?:perf|performance|optimi[sz](?:e|es|ed|ing|ation|ations)|speed(?:s|up|[- ]up)?|faster|quicker|slow(?:er|ness|ly|down)?|cach(?:e|es|ed|ing)|memory|allocations?|efficient(?:ly)?)\b/i,
};

/** A few of TASK_WORDS, for messages. */
export const TASK_EXAMPLES: Record<MineTask, string> = {
  fix: 'fix, bug, crash, error, wrong, regression, typo, or a "fix:" prefix',
  refactor: 'refactor, clean up, rename, extract, simplify, tidy, or a "refactor:" prefix',
  optimize: 'perf, optimize, speed up, faster, slow, cache, memory, or a "perf:" prefix',
};

/**
 * A Conventional Commits type (`fix(parser): …`, `perf!: …`) decides on its own: the author classified the change.
 * Types that name none of the tasks (feat, docs, chore, test…) rule the commit out, so "docs: fix typo" is not a
 * fix. A prefix that is no known type ("lsp: fix crash" names a module) falls through to the words.
 */
const CONVENTIONAL: Record<string, MineTask | null> = {
  fix: 'fix',
  bugfix: 'fix',
  hotfix: 'fix',
  refactor: 'refactor',
  perf: 'optimize',
  feat: null,
  feature: null,
  docs: null,
  doc: null,
  chore: null,
  test: null,
  tests: null,
  build: null,
  ci: null,
  style: null,
  revert: null,
  release: null,
  wip: null,
};

/**
 * The tasks a commit subject names. Only the subject: it says what the commit is, while bodies mention such words in
 * passing ("this also fixes…", "no performance change"). Reverts name none (they undo a change; the "after" of a
 * reverted fix is the bug).
 */
export function messageTasks(subject: string): MineTask[] {
  const line = subject.trim();
  if (/^revert\b/i.test(line)) return [];
  const conventional = /^(\w+)(?:\([^)]*\))?!?:\s/.exec(line);
  if (conventional) {
    const type = CONVENTIONAL[conventional[1]!.toLowerCase()];
    if (type !== undefined) return type === null ? [] : [type];
  }
  return MINE_TASKS.filter((task) => TASK_WORDS[task].test(line));
}

/** One file of a commit's `git diff-tree --numstat` (binary files have no line counts). */
export interface FileChange {
  readonly path: string;
  readonly added: number;
  readonly deleted: number;
  readonly binary: boolean;
}

/** A commit's diff, as far as its shape matters. */
export interface DiffShape {
  readonly files: readonly FileChange[];
  /** Hunks of the diff ignoring whitespace (`-w`): 0 for a change of layout only. */
  readonly hunks: number;
}

/**
 * The thresholds of a "small, focused" change. A fix or refactor worth learning from touches a function or two, often
 * with a test beside it (hence files up to 4); past ~60 changed lines a commit is usually several changes at once or a
 * rewrite, whose before/after says little about the one edit a code action makes; more than 6 hunks is a sweep across
 * a file (renames through the codebase, reformatting). More than 3 changed functions (counted later, on the parsed
 * files: MAX_CHANGED_FUNCTIONS) is no longer "the change within a few functions".
 */
export const SHAPE_LIMITS = { maxFiles: 4, maxChangedLines: 60, maxHunks: 6 } as const;
export const MAX_CHANGED_FUNCTIONS = 3;

export type ShapeSkip = 'tooManyFiles' | 'tooManyLines' | 'tooManyHunks' | 'whitespaceOnly' | 'binary' | 'noParsedFile';

/**
 * Why a commit's diff is not a small, focused change, or undefined when it is. `parsed` says whether a path is in a
 * language with a grammar (only those yield pairs).
 */
export function shapeProblem(shape: DiffShape, parsed: (path: string) => boolean): ShapeSkip | undefined {
  const { files, hunks } = shape;
  if (files.length > SHAPE_LIMITS.maxFiles) return 'tooManyFiles';
  // A binary file in a small commit is usually an asset that goes with the code change: the change is not the code alone.
  if (files.some((f) => f.binary)) return 'binary';
  if (files.reduce((n, f) => n + f.added + f.deleted, 0) > SHAPE_LIMITS.maxChangedLines) return 'tooManyLines';
  if (!files.some((f) => parsed(f.path))) return 'noParsedFile';
  if (hunks === 0) return 'whitespaceOnly';
  if (hunks > SHAPE_LIMITS.maxHunks) return 'tooManyHunks';
  return undefined;
}

/** `git diff-tree -r -z --numstat` output: `added\tdeleted\tpath\0` per file (`-\t-\t` for binary files). */
export function parseNumstat(output: string): FileChange[] {
  const files: FileChange[] = [];
  for (const record of output.split('\0')) {
    const match = /^(-|\d+)\t(-|\d+)\t([\s\S]+)$/.exec(record.replace(/^\n+/, ''));
    if (!match) continue;
    const binary = match[1] === '-' || match[2] === '-';
    files.push({ path: match[3]!, added: binary ? 0 : Number(match[1]), deleted: binary ? 0 : Number(match[2]), binary });
  }
  return files;
}

/** Hunks in a unified diff (`@@ -a,b +c,d @@` lines). */
export function countHunks(patch: string): number {
  return patch.match(/^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@/gm)?.length ?? 0;
}
