import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { LmdbStore } from '../store/lmdb-store.js';
import type { FeedbackLog } from '../feedback/feedback-log.js';
import type { ExportFormat } from '../feedback/export.js';

/**
 * `xencode feedback stats|export|clear`: reads the feedback store of the data directory the server uses
 * (XENCODE_DATA_DIR, then XDG), while a server may be writing to it (LMDB is multi-process: readers see the last
 * committed transaction). Exit code 0 only when the job did what was asked.
 */
export function registerFeedbackCommand(program: Command): void {
  const feedback = program.command('feedback').description('what was recorded about shown completions: statistics, training data, clearing');

  feedback
    .command('stats')
    .description('shown, accepted, partly accepted, rejected, retained characters; per model, language and method; learned weights')
    .option('--json', 'one JSON object (top level: shown, accepted, partlyAccepted, rejected, … and the breakdowns)')
    .action(async (options: { json?: boolean }) => {
      await withLog(async (log, store) => {
        const { feedbackStats, formatStatsTable } = await import('../feedback/stats.js');
        const { readLearned } = await import('../feedback/learned-state.js');
        const { weightsReport } = await import('../feedback/hedge.js');
        const { methodReport } = await import('../feedback/method-scores.js');
        const learned = readLearned(store);
        const stats = feedbackStats(log.records(), learned && { models: weightsReport(learned.weights), methods: methodReport(learned.methods) });
        process.stdout.write(options.json ? `${JSON.stringify(stats, null, 2)}\n` : `${formatStatsTable(stats)}\n`);
      });
    });

  feedback
    .command('export')
    .description('JSONL for preference training (TRL columns): sft {prompt, completion}, kto {prompt, completion, label}, dpo {prompt, chosen, rejected}, jsonl (full records)')
    .requiredOption('--format <format>', 'sft | kto | dpo | jsonl')
    .option('--out <file>', 'write to FILE instead of standard output')
    .option('--since <date>', 'only records from this date on (ISO 8601, e.g. 2026-11-01)')
    .option('--language <id>', 'only this LSP languageId (typescript, python, …)')
    .option('--model <name>', "use this model's exact prompt (default: the first model each record asked, i.e. the first configured then)")
    .action(async (options: { format: string; out?: string; since?: string; language?: string; model?: string }) => {
      if (!['sft', 'kto', 'dpo', 'jsonl'].includes(options.format)) return fail(`--format must be sft, kto, dpo or jsonl (got ${options.format})`);
      let since: number | undefined;
      if (options.since !== undefined) {
        since = Date.parse(options.since);
        if (!Number.isFinite(since)) return fail(`--since: not a date: ${options.since} (use ISO 8601, e.g. 2026-11-01)`);
      }
      await withLog(async (log) => {
        const { exportRows, newExportSummary } = await import('../feedback/export.js');
        const out: Writable = options.out ? createWriteStream(options.out, { mode: 0o600 }) : process.stdout;
        const summary = newExportSummary(options.format as ExportFormat);
        const rows = exportRows(log.records(since), { format: options.format as ExportFormat, since, language: options.language, model: options.model }, summary);
        for (const row of rows) {
          if (!out.write(`${JSON.stringify(row)}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        }
        if (options.out) await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
        const skipped = Object.entries(summary.skipped as Record<string, number>).filter(([, n]) => n > 0).map(([why, n]) => `${n} ${why}`).join(', ');
        process.stderr.write(`xencode: ${summary.rows} ${options.format} rows from ${summary.read} records${options.out ? ` to ${options.out}` : ''}${skipped ? `; skipped: ${skipped}` : ''}\n`);
      });
    });

  feedback
    .command('clear')
    .description('delete every feedback record and the learned weights (the answer cache is kept)')
    .action(async () => {
      await withLog(async (log, store) => {
        const count = log.count() ?? 0;
        await log.clear();
        await store.clear('learned');
        process.stderr.write(`xencode: cleared ${count} feedback records and the learned weights\n`);
      });
    });
}

// The modules behind the commands load only when one runs: `xencode --stdio` must start fast.
async function withLog(job: (log: FeedbackLog, store: LmdbStore) => Promise<void>): Promise<void> {
  const { resolveDataDir } = await import('../store/data-dir.js');
  const { openLmdbStore } = await import('../store/lmdb-store.js');
  const { FeedbackLog } = await import('../feedback/feedback-log.js');
  const dataDir = resolveDataDir();
  const opened = await openLmdbStore({ dataDir });
  if (!opened.store) return fail(opened.problem);
  const log = new FeedbackLog({ maxEvents: Number.MAX_SAFE_INTEGER, maxDays: 36_500 });
  log.attach(opened.store);
  try {
    await job(log, opened.store);
  } catch (err) {
    fail((err as Error).message);
  } finally {
    await opened.store.close();
  }
}

function fail(message: string): void {
  process.stderr.write(`xencode: ${message}\n`);
  process.exitCode = 1;
}
