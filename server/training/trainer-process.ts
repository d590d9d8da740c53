/**
 * The Python trainer (training/xencode_train.py) as a child process: its arguments, its progress protocol (one JSON
 * object per line on stdout: start, step, eval, done, error) and its last lines of stderr for a failure.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PACKAGE_ROOT } from '../paths.js';

export const TRAINER_SCRIPT = join(PACKAGE_ROOT, 'training', 'xencode_train.py');

export interface TrainerArgs {
  readonly base: string;
  readonly objective: 'sft' | 'dpo' | 'kto';
  readonly train: string;
  readonly eval: string;
  readonly out: string;
  readonly rank?: number;
  readonly alpha?: number;
  readonly epochs?: number;
  readonly lr?: number;
  readonly maxSteps?: number;
  readonly device?: string;
  readonly seed?: number;
}

/** A line of the trainer's protocol (fields beyond `event` as the trainer sends them). */
export type TrainerEvent = { readonly event: string; readonly message?: string } & Record<string, unknown>;

export interface TrainerResult {
  readonly code: number | null;
  /** The trainer's own error event, when it sent one. */
  readonly error?: string;
  readonly done?: TrainerEvent;
  /** The last lines it wrote on stderr (for a crash without an error event). */
  readonly stderrTail: string;
}

export function trainerArguments(args: TrainerArgs): string[] {
  const optional: [string, unknown][] = [
    ['--rank', args.rank],
    ['--alpha', args.alpha],
    ['--epochs', args.epochs],
    ['--lr', args.lr],
    ['--max-steps', args.maxSteps],
    ['--device', args.device],
    ['--seed', args.seed],
  ];
  return [
    TRAINER_SCRIPT,
    '--base', args.base,
    '--objective', args.objective,
    '--train', args.train,
    '--eval', args.eval,
    '--out', args.out,
    ...optional.flatMap(([flag, value]) => (value === undefined ? [] : [flag, String(value)])),
  ];
}

/** Runs the trainer to its end; `onEvent` sees every protocol line; aborting `signal` stops it (SIGTERM). */
export function runTrainer(python: string, args: TrainerArgs, onEvent: (event: TrainerEvent) => void, signal?: AbortSignal, env: NodeJS.ProcessEnv = process.env): Promise<TrainerResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(python, trainerArguments(args), { env: { OMP_WAIT_POLICY: 'PASSIVE', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const stop = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', stop, { once: true });
    let error: string | undefined;
    let done: TrainerEvent | undefined;
    const stderr: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      let event: TrainerEvent;
      try {
        event = JSON.parse(line) as TrainerEvent;
      } catch {
        stderr.push(line); // not the protocol: keep it for the message
        return;
      }
      if (event.event === 'error') error = typeof event.message === 'string' ? event.message : JSON.stringify(event);
      if (event.event === 'done') done = event;
      onEvent(event);
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr.push(line);
      if (stderr.length > 20) stderr.shift();
    });
    const finish = (code: number | null, spawnError?: string) => {
      signal?.removeEventListener('abort', stop);
      resolvePromise({ code, error: error ?? spawnError, done, stderrTail: stderr.join('\n') });
    };
    child.once('error', (err) => finish(null, `could not start ${python}: ${err.message}`));
    child.once('close', (code) => finish(code));
  });
}
