import { createWriteStream, type WriteStream } from 'node:fs';
import type { Command } from 'commander';
import type { MineRow, MineSummary } from '../training/dataset-mine.js';

/**
 * `xencode dataset mine`: before/after pairs of whole functions from a repository's history, as JSONL rows (sft or
 * dpo) on stdout or in --out; the summary on stderr (text, or one JSON object with --json). Exit code 0 only when rows
 * were written: a path that is no repository, a bad option, no commit naming the task and no usable pair are each a
 * message and exit code 1 (and --out is then not created).
 */
export function registerDatasetMine(dataset: Command): void {
  dataset
    .command('mine')
    .description('before/after pairs of functions from the commits of a git repository that fix, refactor or optimize code')
    .requiredOption('--repo <path>', 'a git repository (any folder inside its work tree)')
    .requiredOption('--task <task>', 'refactor | fix | optimize: which commits (by their subject) and which action prompt')
    .option('--out <file>', 'write the rows to FILE instead of standard output')
    .option('--format <format>', 'sft {prompt, completion} | dpo {prompt, chosen, rejected}', 'sft')
    .option('--max <n>', 'stop after N rows')
    .option('--since <date>', 'only commits from this date on (ISO 8601, e.g. 2025-01-01)')
    .option('--json', 'the summary as one JSON object (on stderr; stdout carries only rows)')
    .action(async (options: MineCommandOptions) => {
      const { isMineTask } = await import('../training/commit-filter.js');
      const { mineDataset, skipText, MINE_FORMATS } = await import('../training/dataset-mine.js');
      if (!isMineTask(options.task)) return fail(`--task must be refactor, fix or optimize (got ${options.task})`);
      if (!(MINE_FORMATS as readonly string[]).includes(options.format)) return fail(`--format must be sft or dpo (got ${options.format})`);
      let max: number | undefined;
      if (options.max !== undefined) {
        max = Number(options.max);
        if (!Number.isInteger(max) || max < 1) return fail(`--max must be a whole number of rows, at least 1 (got ${options.max})`);
      }
      let since: number | undefined;
      if (options.since !== undefined) {
        since = Date.parse(options.since);
        if (!Number.isFinite(since)) return fail(`--since: not a date: ${options.since} (use ISO 8601, e.g. 2025-01-01)`);
      }
      // --out is opened at the first row: a run that finds nothing leaves no empty file behind.
      let file: WriteStream | undefined;
      const write = async (row: MineRow) => {
        if (options.out && !file) file = createWriteStream(options.out, { mode: 0o644 });
        const out = file ?? process.stdout;
        if (!out.write(`${JSON.stringify(row)}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      };
      let result;
      try {
        result = await mineDataset({ repo: options.repo, task: options.task, format: options.format as 'sft' | 'dpo', max, since }, write);
      } finally {
        const open = file;
        if (open) await new Promise<void>((resolve, reject) => open.end((err?: Error | null) => (err ? reject(err) : resolve())));
      }
      if (options.json) process.stderr.write(`${JSON.stringify({ ok: result.ok, ...(result.ok ? {} : { problem: result.problem }), ...(result.summary ?? {}) })}\n`);
      if (!result.ok) return fail(result.problem);
      if (!options.json) process.stderr.write(`xencode: ${summaryLine(result.summary, options.out)}${skipText(result.summary) ? `; ${skipText(result.summary)}` : ''}\n`);
    });
}

interface MineCommandOptions {
  readonly repo: string;
  readonly task: string;
  readonly out?: string;
  readonly format: string;
  readonly max?: string;
  readonly since?: string;
  readonly json?: boolean;
}

function summaryLine(s: MineSummary, out: string | undefined): string {
  return `${s.rows} ${s.format} rows${out ? ` to ${out}` : ''} from ${s.used} of ${s.picked} ${s.task} commits (${s.scanned} commits scanned${s.reachedMax ? ', stopped at --max' : ''})`;
}

function fail(message: string): void {
  process.stderr.write(`xencode: ${message}\n`);
  process.exitCode = 1;
}
