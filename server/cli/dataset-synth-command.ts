import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';

/**
 * `xencode dataset synth --task refactor|fix|optimize|explain --count N`: training pairs written by the chat models
 * (training/dataset-synth.ts). Rows go to --out or stdout as JSONL, the summary to stderr (with --json also as one
 * JSON object on stdout, so --json needs --out). Exit code 0 only when at least one pair was written.
 */
export function registerDatasetSynth(dataset: Command): void {
  dataset
    .command('synth')
    .description('ask the chat models for code-task pairs (before/after) and keep those whose code parses and differs')
    .requiredOption('--task <task>', 'refactor | fix | optimize | explain')
    .requiredOption('--count <n>', 'pairs wanted')
    .option('--language <id>', 'LSP languageId of the code (typescript, python, …)', 'typescript')
    .option('--out <file>', 'write the JSONL rows to FILE instead of standard output')
    .option('--format <format>', 'sft {prompt, completion} | dpo {prompt, chosen, rejected} (not for explain)', 'sft')
    .option('--seed <n>', 'decides the topics asked for, in order (the same seed, the same topics)', '1')
    .option('--max-attempts <n>', 'requests at most (default: 4 per pair wanted)')
    .option('--model <name>', 'a chat model to ask (repeatable: asked in turn; default: the default model on OLLAMA_HOST)', collect)
    .option('--provider <provider>', 'ollama | llama.cpp | openai: the server of every --model (default ollama)')
    .option('--host <url>', 'the Ollama or llama.cpp server (default: OLLAMA_HOST, else http://127.0.0.1:11434; llama.cpp: :8080)')
    .option('--base-url <url>', 'the OpenAI-compatible server, ending in /v1 (--provider openai)')
    .option('--api-key-env <name>', 'the environment variable holding the API key (llama.cpp, openai)')
    .option('--json', 'the summary as one JSON object on stdout (needs --out)')
    .action(async (options: SynthCommandOptions) => {
      try {
        await synthCommand(options);
      } catch (err) {
        fail((err as Error).message);
      }
    });
}

export interface SynthCommandOptions {
  readonly task: string;
  readonly count: string;
  readonly language: string;
  readonly out?: string;
  readonly format: string;
  readonly seed: string;
  readonly maxAttempts?: string;
  readonly model?: string[];
  readonly provider?: string;
  readonly host?: string;
  readonly baseUrl?: string;
  readonly apiKeyEnv?: string;
  readonly json?: boolean;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

// The modules load only when the command runs: `xencode --stdio` must start fast.
async function synthCommand(options: SynthCommandOptions): Promise<void> {
  const { SYNTH_TASKS } = await import('../training/synth-pair.js');
  const task = SYNTH_TASKS.find((t) => t === options.task);
  if (!task) return fail(`--task must be ${SYNTH_TASKS.join(', ')} (got ${options.task})`);
  if (options.format !== 'sft' && options.format !== 'dpo') return fail(`--format must be sft or dpo (got ${options.format})`);
  if (task === 'explain' && options.format === 'dpo') return fail('--format dpo needs a rewritten version to prefer; explain gives sft rows only');
  const count = positiveInteger(options.count);
  if (count === undefined) return fail(`--count must be a whole number of pairs, 1 or more (got ${options.count})`);
  const seed = Number(options.seed);
  if (!Number.isInteger(seed)) return fail(`--seed must be a whole number (got ${options.seed})`);
  const maxAttempts = options.maxAttempts === undefined ? count * 4 : positiveInteger(options.maxAttempts);
  if (maxAttempts === undefined) return fail(`--max-attempts must be a whole number, 1 or more (got ${options.maxAttempts})`);
  if (options.json && !options.out) return fail('--json prints the summary on stdout: write the rows elsewhere with --out FILE');
  if (!/^[\w+.-]+$/.test(options.language)) return fail(`--language must be an LSP languageId such as typescript or python (got ${options.language})`);

  const { synthesize, synthSettings, formatSummary } = await import('../training/dataset-synth.js');
  const chosen = synthSettings({ models: options.model ?? [], provider: options.provider, host: options.host, baseUrl: options.baseUrl, apiKeyEnv: options.apiKeyEnv });
  if ('problem' in chosen) return fail(chosen.problem);
  for (const warning of chosen.warnings) process.stderr.write(`xencode: ${warning}\n`);
  const { settings } = chosen;
  const { StderrLogger } = await import('../log.js');
  const result = await synthesize({
    task,
    count,
    languageId: options.language,
    format: options.format,
    seed,
    maxAttempts,
    models: settings.models,
    settings,
    timeoutMs: settings.actions.timeoutMs,
    logger: new StderrLogger(process.env.XENCODE_LOG ?? 'warn'),
    onAttempt: (a) => process.stderr.write(`xencode: [${a.index}/${maxAttempts}] ${a.domain} (${a.model}): ${a.outcome}${a.message ? ` — ${a.message}` : ''}\n`),
  });
  const text = result.rows.map((row) => `${JSON.stringify(row)}\n`).join('');
  if (result.rows.length > 0) {
    if (options.out) await writeFile(options.out, text, { mode: 0o600 });
    else process.stdout.write(text);
  }
  for (const line of formatSummary(result.summary)) process.stderr.write(`xencode: ${line}\n`);
  if (options.out && result.rows.length > 0) process.stderr.write(`xencode: wrote ${result.rows.length} ${options.format} rows to ${options.out}\n`);
  if (options.json) process.stdout.write(`${JSON.stringify({ ...result.summary, out: options.out, ...(result.problem ? { problem: result.problem } : {}) })}\n`);
  if (result.problem !== undefined) return fail(result.problem);
  if (result.rows.length === 0) return fail('no pair was kept, nothing written');
}

function positiveInteger(text: string): number | undefined {
  const n = Number(text);
  return /^\d+$/.test(text.trim()) && Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

function fail(message: string): void {
  process.stderr.write(`xencode: ${message}\n`);
  process.exitCode = 1;
}
