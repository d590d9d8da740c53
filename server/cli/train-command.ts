import type { Command } from 'commander';
import type { TrainRequest } from '../training/train.js';
import type { TrainerEvent } from '../training/trainer-process.js';

/**
 * `xencode train`: the feedback store → a training set (the newest records held out) → the Python trainer (a child
 * process, its progress as a bar) → the adapter twice (PEFT's files and adapter.gguf) → the before/after evaluation.
 * Exit code 0 only when the adapter and its evaluation were written.
 */
export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train a LoRA adapter for a completion model on what you accepted, rejected and rewrote')
    .requiredOption('--base <model>', 'the base model: a Hugging Face folder, a .gguf file, or an Ollama model name (its GGUF blob)')
    .requiredOption('--objective <objective>', 'sft (learn the kept text) | dpo (kept over rejected) | kto (wanted and unwanted)')
    .option('--rank <r>', 'LoRA rank', '8')
    .option('--alpha <a>', 'LoRA alpha', '16')
    .option('--epochs <n>', 'passes over the training set', '2')
    .option('--lr <x>', 'learning rate', '2e-4')
    .option('--since <date>', 'only records from this date on (ISO 8601)')
    .option('--language <id>', 'only this LSP languageId')
    .option('--out <dir>', 'output folder (default: <data dir>/adapters/<base>-<objective>-<time>)')
    .option('--device <device>', 'cpu | cuda | mps (default: the best available)')
    .option('--max-steps <n>', 'stop after this many optimizer steps (a quick try)')
    .option('--data <file>', 'train on the rows of this JSONL file (xencode dataset mine|synth, an export) instead of the feedback store')
    .option('--json', 'progress and the result as JSON lines on stdout')
    .action(async (options: TrainOptions) => {
      const { train } = await import('../training/train.js');
      const ui = await progressUi(options.json === true);
      const result = await train(options, ui.onEvent, (message) => ui.say(message));
      ui.end();
      if (!result.ok) {
        process.stderr.write(`xencode: ${result.problem}\n`);
        if (options.json) process.stdout.write(`${JSON.stringify({ event: 'failed', message: result.problem })}\n`);
        process.exitCode = 1;
        return;
      }
      if (options.json) process.stdout.write(`${JSON.stringify({ event: 'result', ...result.report })}\n`);
      else process.stdout.write(`${result.text}\n`);
    });
}

/** The command's options: what `train` takes, and --json. */
type TrainOptions = TrainRequest & { readonly json?: boolean };

interface ProgressUi {
  onEvent(event: TrainerEvent): void;
  say(message: string): void;
  end(): void;
}

/** A progress bar on a terminal, a line every tenth otherwise, the trainer's own lines with --json. */
async function progressUi(json: boolean): Promise<ProgressUi> {
  if (json) return { onEvent: (e) => void process.stdout.write(`${JSON.stringify(e)}\n`), say: (m) => void process.stderr.write(`xencode: ${m}\n`), end() {} };
  const tty = process.stderr.isTTY === true;
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = tty ? new SingleBar({ format: 'training |{bar}| {value}/{total} steps · loss {loss} · {eta_formatted} left', stream: process.stderr, hideCursor: true }, Presets.shades_classic) : undefined;
  let started = false;
  let lastTenth = -1;
  return {
    onEvent(event) {
      if (event.event === 'start') {
        const total = Number(event.total_steps) || 1;
        process.stderr.write(`xencode: training ${String(event.objective)} on ${String(event.records)} records (${String(event.eval_records)} held out), ${total} steps on ${String(event.device)}\n`);
        bar?.start(total, 0, { loss: '-' });
        started = true;
      } else if (event.event === 'step') {
        const step = Number(event.step);
        const loss = typeof event.loss === 'number' ? event.loss.toFixed(3) : '-';
        if (bar && started) bar.update(step, { loss });
        else {
          const tenth = Math.floor((step / Math.max(1, Number(event.total))) * 10);
          if (tenth !== lastTenth) {
            lastTenth = tenth;
            process.stderr.write(`xencode: step ${step}/${String(event.total)}, loss ${loss}, ${Math.round(Number(event.eta_s) || 0)} s left\n`);
          }
        }
      } else if (event.event === 'eval') {
        process.stderr.write(`xencode: evaluated ${String(event.phase)} training\n`);
      }
    },
    say(message) {
      if (bar && started) bar.stop();
      process.stderr.write(`xencode: ${message}\n`);
    },
    end() {
      bar?.stop();
    },
  };
}
