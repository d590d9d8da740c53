// Python with PyTorch in the tests: Debian sid's python3 with torch, transformers, safetensors, gguf, numpy and
// accelerate, unpacked into .cache/debian/ by scripts/fetch-debian.mjs (set `torch`), and the tiny test model in
// Hugging Face form (training/tiny_model.py, into .cache/models/).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { FETCH_SCRIPT, MODELS_DIR, tinyModel } from './llama.js';

export const TRAINING_DIR = join(PACKAGE_ROOT, 'training');
export const TINY_MODEL_SCRIPT = join(TRAINING_DIR, 'tiny_model.py');

export interface PythonTools {
  /** A python3 that imports torch, transformers, safetensors and gguf. */
  readonly python: string;
}

/** A cold fetch downloads ~170 MB and unpacks ~900 MB; this bounds a stuck apt. */
const FETCH_TIMEOUT_MS = 10 * 60_000;

let tools: PythonTools | undefined;

/**
 * The python3 wrapper, fetched on first use (a second run finds the stamp and does nothing). XENCODE_PYTHON names
 * another python that has torch, transformers, safetensors and gguf (development only; it is used as it is). A failed
 * fetch throws with the script's message: in CI that is a failure, never a skip.
 */
export function pythonTools(): PythonTools {
  if (tools) return tools;
  const python = process.env.XENCODE_PYTHON ?? join(PACKAGE_ROOT, '.cache', 'debian', 'bin', 'python3');
  if (!process.env.XENCODE_PYTHON) {
    const res = spawnSync(process.execPath, [FETCH_SCRIPT, '--only', 'torch'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: FETCH_TIMEOUT_MS,
    });
    if (res.status !== 0 || !existsSync(python)) {
      throw new Error(`PyTorch is not available (node scripts/fetch-debian.mjs --only torch):\n${res.stderr ?? ''}${res.error?.message ?? ''}`);
    }
  } else if (!existsSync(python)) {
    throw new Error(`XENCODE_PYTHON=${python}: no such file`);
  }
  tools = { python };
  return tools;
}

export interface PythonResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunPythonOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

/** Runs the python with arguments (a script path, or -c CODE) to its end; throws with stderr unless it exits 0. */
export function runPython(args: readonly string[], options: RunPythonOptions = {}): PythonResult {
  const { python } = pythonTools();
  const res = spawnSync(python, args, {
    cwd: options.cwd ?? PACKAGE_ROOT,
    env: options.env ?? process.env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.status !== 0) {
    throw new Error(`${python} ${args.join(' ')} failed (${res.status ?? res.signal ?? res.error?.message}):\n${res.stderr}`);
  }
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/**
 * The tiny model in Hugging Face form (config.json, model.safetensors, tokenizer.json, …), a folder for `--base`,
 * written once into .cache/models/. `seed`: random weights (torch's initialisation); `fromGguf`: the weights of
 * tinyModel(seed) instead, i.e. the very model llama-server runs for that seed.
 */
export function tinyHfModel(seed = 1, options: { readonly fromGguf?: boolean } = {}): string {
  mkdirSync(MODELS_DIR, { recursive: true });
  const dir = join(MODELS_DIR, `tiny-hf-${seed}${options.fromGguf ? '-gguf' : ''}`);
  if (existsSync(join(dir, 'config.json'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const source = options.fromGguf ? ['--from-gguf', tinyModel(seed)] : ['--seed', String(seed)];
  runPython([TINY_MODEL_SCRIPT, tmp, ...source]);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}
