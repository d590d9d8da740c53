/**
 * `xencode dataset mine`: training rows for a code action (refactor, fix, optimize) out of a repository's history.
 * Commits whose subject names the task (commit-filter.ts) and whose diff is small and focused give before/after
 * pairs of whole functions (function-pairs.ts); each pair becomes one row in a format `xencode train` and TRL read:
 *
 * - `sft` {prompt, completion}: completion = the function after the commit, as the action expects its answer
 *   (one fenced code block, the code at column 0).
 * - `dpo` {prompt, chosen, rejected}: chosen = the same; rejected = the function before, unchanged (the model
 *   proposing no change is what the commit's author judged worse).
 *
 * `prompt` is the action's own chat prompt for the function before the change (prompts/<task>.md through
 * actionMessages, the surrounding code of the file before the change as context, default settings), rendered as one
 * string: the system message, a blank line, the user message (renderPrompt). A fix prompt's problem list is the
 * commit subject (`- fix: off-by-one in sum`): the only description of the bug there is. No other columns: where a
 * row came from is in the summary's counts, not in the rows.
 */
import { DEFAULT_SETTINGS } from '../config.js';
import { MAX_PARSED_CHARS } from '../documents/document-store.js';
import { actionMessages, atColumnZero, maxTargetChars } from '../engine/actions/run-action.js';
import { languageNames } from '../engine/actions/prompts.js';
import type { ChatMessage } from '../models/backend.js';
import { countHunks, MAX_CHANGED_FUNCTIONS, messageTasks, parseNumstat, shapeProblem, TASK_EXAMPLES, type FileChange, type MineTask, type ShapeSkip } from './commit-filter.js';
import { changedFunctions, grammarFor, type FunctionPair, type PairSkip } from './function-pairs.js';
import { commitsOf, fileAt, git, GitError, repositoryRoot, type CommitInfo } from './git-history.js';

export const MINE_FORMATS = ['sft', 'dpo'] as const;
export type MineFormat = (typeof MINE_FORMATS)[number];

export interface MineOptions {
  readonly repo: string;
  readonly task: MineTask;
  readonly format: MineFormat;
  /** Stop after this many rows. */
  readonly max?: number;
  /** Only commits from this time on (ms since the epoch; `git log --since`, which stops at the first older commit). */
  readonly since?: number;
}

export type MineRow = { prompt: string; completion: string } | { prompt: string; chosen: string; rejected: string };

/** Commit-level skips: the diff's shape, a root commit, too many changed functions, nothing usable in it. */
export type CommitSkip = ShapeSkip | 'rootCommit' | 'tooManyFunctions' | 'noChangedFunction' | 'diffTooLarge';

export interface MineSummary {
  readonly repo: string;
  readonly task: MineTask;
  readonly format: MineFormat;
  /** Non-merge commits read from the history. */
  scanned: number;
  /** Of those, the ones whose subject names the task. */
  picked: number;
  /** Commits that gave at least one row. */
  used: number;
  rows: number;
  skippedCommits: Partial<Record<CommitSkip, number>>;
  /** Changed functions not turned into rows (function-pairs.ts), plus `unreadableFile` (missing, binary, over 2 MiB). */
  skippedFunctions: Partial<Record<PairSkip | 'unreadableFile', number>>;
  /** Mining stopped at --max rows (the rest of the history was not read). */
  reachedMax: boolean;
}

export type MineResult = { ok: true; summary: MineSummary } | { ok: false; problem: string; summary?: MineSummary };

/** The chat prompt as one string: system, a blank line, user (what a chat template would put in its turns). */
export function renderPrompt(messages: readonly ChatMessage[]): string {
  return messages.map((m) => m.content).join('\n\n');
}

/** The pair as a row of `format`. */
export function mineRow(pair: FunctionPair, task: MineTask, subject: string, format: MineFormat): MineRow {
  const diagnostics = task === 'fix' ? `- ${subject.trim()}` : '';
  const prompt = renderPrompt(actionMessages(pair.beforeDoc, task, pair.before, DEFAULT_SETTINGS, diagnostics));
  const fence = languageNames(pair.beforeDoc.languageId).fence;
  const answer = (code: string) => `\`\`\`${fence}\n${code}\n\`\`\``;
  const after = answer(atColumnZero(pair.after.text, pair.after.indent));
  if (format === 'sft') return { prompt, completion: after };
  return { prompt, chosen: after, rejected: answer(atColumnZero(pair.before.text, pair.before.indent)) };
}

/**
 * Mines `options.repo`, handing each row to `write` (awaited: the caller's back-pressure). Fails, with the reason,
 * when the path is no repository with history, no commit subject names the task, or no pair was found.
 */
export async function mineDataset(options: MineOptions, write: (row: MineRow) => Promise<void>): Promise<MineResult> {
  const found = await repositoryRoot(options.repo);
  if ('problem' in found) return { ok: false, problem: found.problem };
  const { root } = found;
  const summary: MineSummary = {
    repo: root, task: options.task, format: options.format,
    scanned: 0, picked: 0, used: 0, rows: 0, skippedCommits: {}, skippedFunctions: {}, reachedMax: false,
  };
  // A function longer than the action sends a model (actions.maxTokens × 3 characters) is never its target.
  const maxChars = maxTargetChars(options.task, DEFAULT_SETTINGS);
  try {
    for await (const commit of commitsOf(root, options.since)) {
      summary.scanned++;
      if (!messageTasks(commit.subject).includes(options.task)) continue;
      summary.picked++;
      const pairs = await commitPairs(root, commit, maxChars, summary);
      if (pairs.length === 0) continue;
      summary.used++;
      for (const pair of pairs) {
        await write(mineRow(pair, options.task, commit.subject, options.format));
        summary.rows++;
        if (options.max !== undefined && summary.rows >= options.max) {
          summary.reachedMax = true;
          break;
        }
      }
      if (summary.reachedMax) break;
    }
  } catch (err) {
    if (!(err instanceof GitError)) throw err;
    return { ok: false, problem: err.message, summary };
  }
  if (summary.scanned === 0) return { ok: false, problem: `no commits in ${root}${options.since !== undefined ? ` since ${new Date(options.since).toISOString()}` : ''}`, summary };
  if (summary.picked === 0)
    return { ok: false, problem: `none of the ${summary.scanned} commits in ${root} has a subject that names --task ${options.task} (${TASK_EXAMPLES[options.task]})`, summary };
  if (summary.rows === 0)
    return { ok: false, problem: `no function pairs in the ${summary.picked} ${options.task} commits of ${root}: ${skipText(summary) || 'no function they change could be matched'}`, summary };
  return { ok: true, summary };
}

/** The commit's pairs; none (the reason counted) when its diff is not a small focused change of parsed code. */
async function commitPairs(root: string, commit: CommitInfo, maxChars: number, summary: MineSummary): Promise<FunctionPair[]> {
  const skipCommit = (why: CommitSkip): FunctionPair[] => {
    summary.skippedCommits[why] = (summary.skippedCommits[why] ?? 0) + 1;
    return [];
  };
  if (!commit.parent) return skipCommit('rootCommit');
  const range = [commit.parent, commit.hash];
  let files: FileChange[];
  let patch: string;
  try {
    files = parseNumstat(await git(root, ['diff-tree', '-r', '--no-renames', '-z', '--numstat', ...range], 256 * 1024));
    // Files and lines first, from numstat alone: the patch is only read for a commit already known to be small.
    const early = shapeProblem({ files, hunks: 1 }, (p) => grammarFor(p) !== undefined);
    if (early) return skipCommit(early);
    patch = await git(root, ['diff-tree', '-r', '--no-renames', '-p', '-w', '-U3', '--no-ext-diff', '--no-textconv', ...range], 1024 * 1024);
  } catch (err) {
    if ((err as GitError).tooLarge) return skipCommit('diffTooLarge');
    throw err;
  }
  const problem = shapeProblem({ files, hunks: countHunks(patch) }, (p) => grammarFor(p) !== undefined);
  if (problem) return skipCommit(problem);

  const pairs: FunctionPair[] = [];
  for (const file of files) {
    if (!grammarFor(file.path)) continue;
    const before = await fileAt(root, commit.parent, file.path, MAX_PARSED_CHARS);
    const after = await fileAt(root, commit.hash, file.path, MAX_PARSED_CHARS);
    // An added or deleted file has no other side: nothing to pair, and nothing to count.
    if (before === 'missing' || after === 'missing') continue;
    if (before === 'unreadable' || after === 'unreadable') {
      summary.skippedFunctions.unreadableFile = (summary.skippedFunctions.unreadableFile ?? 0) + 1;
      continue;
    }
    const found = changedFunctions(file.path, before.text, after.text, maxChars);
    for (const [why, n] of Object.entries(found.skipped)) {
      const key = why as PairSkip;
      summary.skippedFunctions[key] = (summary.skippedFunctions[key] ?? 0) + n;
    }
    pairs.push(...found.pairs);
  }
  if (pairs.length > MAX_CHANGED_FUNCTIONS) return skipCommit('tooManyFunctions');
  if (pairs.length === 0) return skipCommit('noChangedFunction');
  return pairs;
}

/** "2 tooManyLines, 1 whitespaceOnly commits; 1 layoutOnly function": the non-zero skip counts. */
export function skipText(summary: MineSummary): string {
  const list = (counts: Record<string, number | undefined>) => Object.entries(counts).filter(([, n]) => n).map(([why, n]) => `${n} ${why}`).join(', ');
  const commits = list(summary.skippedCommits);
  const functions = list(summary.skippedFunctions);
  return [commits && `commits skipped: ${commits}`, functions && `functions skipped: ${functions}`].filter(Boolean).join('; ');
}
