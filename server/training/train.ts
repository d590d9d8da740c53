/**
 * `xencode train` end to end, without the terminal: options checked, the Python and the base model found, the
 * training set built from the feedback store and written beside the adapter, the trainer run, the adapter converted to
 * GGUF, and the evaluation summed up. Every failure comes back as one message that says what to do.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultHost } from '../config.js';
import { FeedbackLog } from '../feedback/feedback-log.js';
import { resolveDataDir } from '../store/data-dir.js';
import { openLmdbStore } from '../store/lmdb-store.js';
import { baseArchitecture, resolveBase } from './base-model.js';
import { evaluationMarkdown, summarizeEvaluation, type Evaluation, type EvaluationSummary } from './evaluation-report.js';
import { convertPeftDir } from './gguf-adapter.js';
import { checkPython } from './python-env.js';
import { runTrainer, type TrainerEvent } from './trainer-process.js';
import { buildTrainingSet, DEFAULT_HELD_OUT, neededRows, OBJECTIVES, parseRows, splitRows, type Objective, type TrainingRow } from './training-set.js';

export interface TrainRequest {
  readonly base: string;
  readonly objective: string;
  readonly rank: string;
  readonly alpha: string;
  readonly epochs: string;
  readonly lr: string;
  readonly since?: string;
  readonly language?: string;
  readonly out?: string;
  readonly device?: string;
  readonly maxSteps?: string;
  /** A JSONL file of rows to train on instead of the feedback store (a dataset, or an export). */
  readonly data?: string;
}

export interface TrainReport {
  readonly out: string;
  readonly files: readonly string[];
  readonly verdict: EvaluationSummary['verdict'];
  readonly sentence: string;
  readonly evaluation: Evaluation;
  readonly trainRecords: number;
  readonly heldOutRecords: number;
}

export type TrainOutcome = { readonly ok: true; readonly report: TrainReport; readonly text: string } | { readonly ok: false; readonly problem: string };

const DEVICES = ['cpu', 'cuda', 'mps'] as const;

export async function train(request: TrainRequest, onEvent: (event: TrainerEvent) => void, say: (message: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<TrainOutcome> {
  const fail = (problem: string): TrainOutcome => ({ ok: false, problem });
  const parsed = parseRequest(request);
  if ('problem' in parsed) return fail(parsed.problem);

  const python = await checkPython(env);
  if (!python.ok) return fail(python.problem);
  const { cuda, mps } = python.environment;
  const device = request.device ?? (cuda ? 'cuda' : mps ? 'mps' : 'cpu');
  if (device === 'cuda' && !cuda) return fail(`--device cuda: torch ${python.environment.torch} in ${python.environment.python} sees no CUDA GPU. Use --device cpu, or a Python whose torch was built with CUDA (XENCODE_PYTHON).`);
  if (device === 'mps' && !mps) return fail(`--device mps: torch ${python.environment.torch} in ${python.environment.python} sees no Apple GPU (MPS). Use --device cpu.`);
  if (device === 'cpu' && !cuda && !mps) say('no GPU here: training on the CPU (the time left is estimated from the first steps)');

  const base = await resolveBase(request.base, { ollamaHost: defaultHost(env) });
  if (!base.ok) return fail(base.problem);

  const rows = request.data !== undefined ? await fileRows(request.data, parsed.objective) : await trainingRows(parsed.objective, parsed.since, request.language, env);
  if ('problem' in rows) return fail(rows.problem);

  const out = request.out ?? join(resolveDataDir(env), 'adapters', `${slug(base.base.label)}-${parsed.objective}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await mkdir(out, { recursive: true, mode: 0o700 });
  const trainFile = join(out, 'train.jsonl');
  const evalFile = join(out, 'heldout.jsonl');
  // The rows hold code: readable by the user only, like the feedback store they come from.
  await writeFile(trainFile, jsonl(rows.train), { mode: 0o600 });
  await writeFile(evalFile, jsonl(rows.heldOut), { mode: 0o600 });

  const result = await runTrainer(
    python.environment.python,
    { base: base.base.path, objective: parsed.objective, train: trainFile, eval: evalFile, out, rank: parsed.rank, alpha: parsed.alpha, epochs: parsed.epochs, lr: parsed.lr, maxSteps: parsed.maxSteps, device },
    onEvent,
    undefined,
    env,
  );
  if (result.code !== 0)
    return fail(result.error ?? `the trainer (${python.environment.python} training/xencode_train.py) exited with code ${result.code}${result.stderrTail ? `:\n${result.stderrTail}` : ''}`);

  let gguf: string;
  try {
    gguf = await convertPeftDir(out, await baseArchitecture(base.base));
  } catch (err) {
    return fail(`the adapter was trained (${out}) but could not be written as GGUF: ${(err as Error).message}`);
  }
  let evaluation: Evaluation;
  try {
    evaluation = JSON.parse(await readFile(join(out, 'evaluation.json'), 'utf8')) as Evaluation;
  } catch (err) {
    return fail(`the trainer wrote no readable evaluation.json in ${out}: ${(err as Error).message}`);
  }
  const summary = summarizeEvaluation(evaluation, parsed.objective, rows.heldOut.length);
  const facts = { base: base.base.label, objective: parsed.objective, 'training records': rows.train.length, 'held-out records': rows.heldOut.length, rank: parsed.rank, alpha: parsed.alpha, device };
  await writeFile(join(out, 'evaluation.md'), evaluationMarkdown(summary, facts));
  const files = ['adapter_model.safetensors', 'adapter_config.json', 'adapter.gguf', 'evaluation.json', 'evaluation.md'].map((f) => join(out, f));
  const next =
    summary.verdict === 'better'
      ? `\nServe it: xencode adapter import --base ${base.base.kind === 'gguf' && base.base.ollamaModel ? base.base.ollamaModel : base.base.label} --adapter ${gguf} --name ${slug(base.base.label)}-tuned`
      : '';
  return {
    ok: true,
    report: { out, files, verdict: summary.verdict, sentence: summary.sentence, evaluation, trainRecords: rows.train.length, heldOutRecords: rows.heldOut.length },
    text: `${evaluationMarkdown(summary, facts)}\nWritten to ${out}: ${files.map((f) => f.slice(out.length + 1)).join(', ')}.${next}`,
  };
}

interface ParsedRequest {
  readonly objective: Objective;
  readonly since?: number;
  readonly rank: number;
  readonly alpha: number;
  readonly epochs: number;
  readonly lr: number;
  readonly maxSteps?: number;
}

function parseRequest(request: TrainRequest): ParsedRequest | { problem: string } {
  if (!(OBJECTIVES as readonly string[]).includes(request.objective)) return { problem: `--objective must be sft, dpo or kto (got ${request.objective})` };
  if (request.device !== undefined && !(DEVICES as readonly string[]).includes(request.device)) return { problem: `--device must be cpu, cuda or mps (got ${request.device})` };
  const number = (flag: string, raw: string | undefined, integer: boolean): number | string | undefined => {
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) return `${flag} must be a positive ${integer ? 'whole ' : ''}number (got ${raw})`;
    return value;
  };
  const values = { rank: number('--rank', request.rank, true), alpha: number('--alpha', request.alpha, false), epochs: number('--epochs', request.epochs, true), lr: number('--lr', request.lr, false), maxSteps: number('--max-steps', request.maxSteps, true) };
  const bad = Object.values(values).find((v) => typeof v === 'string');
  if (typeof bad === 'string') return { problem: bad };
  let since: number | undefined;
  if (request.since !== undefined) {
    since = Date.parse(request.since);
    if (!Number.isFinite(since)) return { problem: `--since: not a date: ${request.since} (use ISO 8601, e.g. 2026-11-01)` };
  }
  return { objective: request.objective as Objective, since, rank: values.rank as number, alpha: values.alpha as number, epochs: values.epochs as number, lr: values.lr as number, maxSteps: values.maxSteps as number | undefined };
}

/** The rows from the data directory's feedback store (read beside a running server: LMDB is multi-process). */
async function trainingRows(objective: Objective, since: number | undefined, language: string | undefined, env: NodeJS.ProcessEnv): Promise<{ train: readonly TrainingRow[]; heldOut: readonly TrainingRow[] } | { problem: string }> {
  const opened = await openLmdbStore({ dataDir: resolveDataDir(env) });
  if (!opened.store) return { problem: opened.problem ?? 'the feedback store could not be opened' };
  try {
    const log = new FeedbackLog({ maxEvents: Number.MAX_SAFE_INTEGER, maxDays: 36_500 });
    log.attach(opened.store);
    const set = buildTrainingSet(log.records(since), { objective, since, language });
    return set.ok ? { train: set.train, heldOut: set.heldOut } : { problem: set.problem };
  } finally {
    await opened.store.close();
  }
}

/** The rows of a JSONL file, the last ones held out. */
async function fileRows(file: string, objective: Objective): Promise<{ train: readonly TrainingRow[]; heldOut: readonly TrainingRow[] } | { problem: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { problem: `--data ${file}: ${(err as Error).message}` };
  }
  const parsed = parseRows(text, objective, file);
  if ('problem' in parsed) return parsed;
  const split = splitRows(parsed.rows, {});
  return split ?? { problem: `Too little data to train ${objective}: ${parsed.rows.length} rows in ${file}, ${neededRows({})} needed (the last ${Math.round(DEFAULT_HELD_OUT * 100)} % are held out to judge the result).` };
}

function jsonl(rows: readonly TrainingRow[]): string {
  return rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
}

function slug(label: string): string {
  return label.replace(/^.*\//, '').replace(/\.gguf$/, '').replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 60) || 'model';
}
