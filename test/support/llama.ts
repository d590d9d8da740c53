// The real inference engine in the tests: llama.cpp's llama-server and ggml-rpc-server from Debian (unpacked into
// .cache/debian/ by scripts/fetch-debian.mjs) and tiny random GGUF models the project writes itself
// (scripts/tiny-gguf.mjs, into .cache/models/). Answers are gibberish; tests assert the engine's behaviour.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { freeLoopbackPort } from '../../server/models/managed-llama-server.js';
import { PACKAGE_ROOT } from '../../server/paths.js';

export const FETCH_SCRIPT = join(PACKAGE_ROOT, 'scripts', 'fetch-debian.mjs');
export const TINY_GGUF_SCRIPT = join(PACKAGE_ROOT, 'scripts', 'tiny-gguf.mjs');
export const MODELS_DIR = join(PACKAGE_ROOT, '.cache', 'models');

export interface LlamaTools {
  /** The folder of the wrappers (llama-server, ggml-rpc-server, llama-quantize, …). */
  readonly bin: string;
  readonly llamaServer: string;
  readonly rpcServer: string;
}

/** A cold fetch takes a few seconds; this bounds a stuck apt. */
const FETCH_TIMEOUT_MS = 10 * 60_000;

let tools: LlamaTools | undefined;

/**
 * The llama.cpp wrappers, fetched on first use (a second run finds the stamp and does nothing).
 * XENCODE_LLAMA_BIN points at another folder of wrappers (development only). A failed fetch throws with the
 * script's message: in CI that is a failure, never a skip.
 */
export function llamaTools(): LlamaTools {
  if (tools) return tools;
  const bin = process.env.XENCODE_LLAMA_BIN ?? join(PACKAGE_ROOT, '.cache', 'debian', 'bin');
  const llamaServer = join(bin, 'llama-server');
  const rpcServer = join(bin, 'ggml-rpc-server');
  if (!process.env.XENCODE_LLAMA_BIN) {
    const res = spawnSync(process.execPath, [FETCH_SCRIPT, '--only', 'llama.cpp'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: FETCH_TIMEOUT_MS,
    });
    if (res.status !== 0 || !existsSync(llamaServer)) {
      throw new Error(`llama.cpp is not available (node scripts/fetch-debian.mjs --only llama.cpp):\n${res.stderr ?? ''}${res.error?.message ?? ''}`);
    }
  }
  tools = { bin, llamaServer, rpcServer };
  return tools;
}

/**
 * A tiny random GGUF model (llama architecture, byte-level vocabulary with qwen-style FIM tokens), the same bytes
 * for the same seed: two seeds are two "models" that answer differently. `textOnly`: only printable pieces and never
 * an end of text under greedy decoding, so an answer runs to its token budget (what a cancel test needs). Written
 * once into .cache/models/.
 */
export function tinyModel(seed = 1, options: { readonly f16?: boolean; readonly textOnly?: boolean } = {}): string {
  mkdirSync(MODELS_DIR, { recursive: true });
  const file = join(MODELS_DIR, `tiny-${seed}${options.f16 ? '-f16' : ''}${options.textOnly ? '-text' : ''}.gguf`);
  if (existsSync(file)) return file;
  const tmp = `${file}.tmp-${process.pid}`;
  const args = [TINY_GGUF_SCRIPT, tmp, '--seed', String(seed), ...(options.f16 ? ['--f16'] : []), ...(options.textOnly ? ['--text-only'] : [])];
  const res = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (res.status !== 0) throw new Error(`writing ${file} failed: ${res.stderr}`);
  renameSync(tmp, file);
  return file;
}

/** A loopback port nothing listens on right now (the managed server's own way of finding one). */
export const freePort = freeLoopbackPort;

export interface RunningProcess {
  readonly process: ChildProcess;
  readonly port: number;
  /** What it wrote on stdout and stderr so far. */
  log(): string;
  /** SIGTERM, then SIGKILL after 3 s; resolves when it has exited. */
  stop(): Promise<void>;
}

export interface RunningLlamaServer extends RunningProcess {
  /** http://127.0.0.1:PORT */
  readonly host: string;
}

function track(child: ChildProcess, port: number): RunningProcess {
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    process: child,
    port,
    log: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Waits until GET url answers 200 (or the process exits, or the time is up: then throws with its log). */
export async function waitHealthy(url: string, running: RunningProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (running.process.exitCode !== null || running.process.signalCode !== null) {
      throw new Error(`the process exited (${running.process.exitCode ?? running.process.signalCode}) before ${url} answered:\n${running.log()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${running.log()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface LlamaServerOptions {
  readonly model: string;
  /** Requests served at once (-np), default 1. */
  readonly slots?: number;
  readonly port?: number;
  /** More llama-server arguments (--rpc …, -c …). */
  readonly args?: readonly string[];
  /** Wait for /health 200 (default true). */
  readonly wait?: boolean;
}

/**
 * Starts a real llama-server on loopback: one thread, `-b 512` (with the default 2048 batch, /infill drops
 * input_extra), metrics on, no web UI. Resolves once /health answers 200.
 */
export async function startLlamaServer(options: LlamaServerOptions): Promise<RunningLlamaServer> {
  const { llamaServer } = llamaTools();
  const port = options.port ?? (await freePort());
  const args = ['--host', '127.0.0.1', '--port', String(port), '-m', options.model, '-t', '1', '-np', String(options.slots ?? 1), '-b', '512', '--no-webui', '--metrics', ...(options.args ?? [])];
  const child = spawn(llamaServer, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const running = { ...track(child, port), host: `http://127.0.0.1:${port}` };
  if (options.wait ?? true) {
    try {
      await waitHealthy(`${running.host}/health`, running);
    } catch (err) {
      await running.stop();
      throw err;
    }
  }
  return running;
}

/** Starts a ggml-rpc-server on loopback (a remote backend for `llama-server --rpc 127.0.0.1:PORT`). */
export async function startRpcServer(): Promise<RunningProcess> {
  const { rpcServer } = llamaTools();
  const port = await freePort();
  const child = spawn(rpcServer, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const running = track(child, port);
  // It has no HTTP endpoint: ready once the port accepts connections.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return running;
    if (child.exitCode !== null || Date.now() > deadline) {
      await running.stop();
      throw new Error(`ggml-rpc-server did not listen on ${port}:\n${running.log()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The slots of a llama-server (GET /slots): whether each is processing. */
export async function slotsBusy(host: string): Promise<boolean[]> {
  const res = await fetch(`${host}/slots`);
  const slots = (await res.json()) as { is_processing: boolean }[];
  return slots.map((s) => s.is_processing);
}

/** llama-server's Prometheus counters (GET /metrics, needs --metrics), by name without the `llamacpp:` prefix. */
export async function llamaMetrics(host: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${host}/metrics`)).text();
  const metrics: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^llamacpp:(\w+)\s+([-\d.e+]+)$/.exec(line.trim());
    if (match) metrics[match[1]!] = Number(match[2]);
  }
  return metrics;
}

/** Process ids whose command line contains `needle` (Linux /proc), e.g. a model file's unique path. */
export function processesWith(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) found.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

/** Polls `check` every 25 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The log-probability a llama-server gives `text` after `prompt` (summed over the text's tokens, each scored by a
 * one-token completion over the whole vocabulary), with its first LoRA adapter at `loraScale` (when it has one).
 * Tokens as the server splits prompt + text, so a token spanning the boundary counts with the text.
 */
export async function sequenceLogprob(host: string, prompt: string, text: string, loraScale?: number): Promise<number> {
  const tokenize = async (content: string): Promise<number[]> =>
    ((await (await fetch(`${host}/tokenize`, { method: 'POST', body: JSON.stringify({ content, add_special: true }) })).json()) as { tokens: number[] }).tokens;
  const head = await tokenize(prompt);
  const whole = await tokenize(prompt + text);
  let sum = 0;
  for (let i = head.length; i < whole.length; i++) {
    const res = await fetch(`${host}/completion`, {
      method: 'POST',
      body: JSON.stringify({ prompt: whole.slice(0, i), n_predict: 1, n_probs: 100_000, temperature: 0, cache_prompt: false, ...(loraScale === undefined ? {} : { lora: [{ id: 0, scale: loraScale }] }) }),
    });
    const body = (await res.json()) as { completion_probabilities: { top_logprobs: { id: number; logprob: number }[] }[] };
    const scored = body.completion_probabilities[0]!.top_logprobs.find((t) => t.id === whole[i]);
    if (!scored) throw new Error(`token ${whole[i]} is not among the server's probabilities`);
    sum += scored.logprob;
  }
  return sum;
}
