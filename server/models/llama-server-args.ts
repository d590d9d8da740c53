/**
 * The command line of a managed llama-server, derived from the machine and the model's settings. Pure: the caller
 * passes the CPU count, so the derivation can be tested for any machine.
 */

/** Tokens of context each slot gets when the settings do not say. */
export const DEFAULT_CONTEXT_PER_SLOT = 4096;
/** The largest prompt batch: /infill keeps input_extra only when n_batch < n_ctx_slot − 2·n_predict (see batchSize). */
export const MAX_BATCH = 512;
/**
 * Smallest prefix (tokens) llama-server tries to reuse from a slot's cache by shifting it: completions while typing
 * share most of their prompt with the last one, and this is the setting llama.vim recommends for that.
 */
export const CACHE_REUSE_TOKENS = 256;

export interface LlamaServerArgsOptions {
  readonly gguf: string;
  readonly port: number;
  /** Requests served at once (-np): the model's concurrency. */
  readonly slots: number;
  /** Tokens of context per slot (default DEFAULT_CONTEXT_PER_SLOT). */
  readonly contextSize?: number;
  /** Threads for generation (default: from cpuCount, see defaultThreads). */
  readonly threads?: number;
  /** Logical CPUs of the machine (os.availableParallelism()). */
  readonly cpuCount: number;
  /** llamaCpp.args: appended last, so that they win over the derived ones (llama.cpp takes an option's last value). */
  readonly extraArgs?: readonly string[];
}

/**
 * Options Xencode must set itself: it has to know where the server listens and what it serves. llamaCpp.args
 * setting one of them is a settings mistake, reported instead of silently breaking the managed server.
 */
const RESERVED_OPTIONS: ReadonlyMap<string, string> = new Map([
  ['--host', 'the address (Xencode listens on 127.0.0.1)'],
  ['--port', 'the port (Xencode picks a free one)'],
  ['-m', 'the model (set models[].gguf)'],
  ['--model', 'the model (set models[].gguf)'],
  ['-hf', 'the model (set models[].gguf)'],
  ['--hf-repo', 'the model (set models[].gguf)'],
  ['-mu', 'the model (set models[].gguf)'],
  ['--model-url', 'the model (set models[].gguf)'],
  ['-np', 'the slot count (set models[].concurrency)'],
  ['--parallel', 'the slot count (set models[].concurrency)'],
]);

/**
 * Generation threads: every logical CPU but one when there are several, so that the editor and Xencode keep a core
 * while a completion is generated; one on a single-CPU machine.
 */
export function defaultThreads(cpuCount: number): number {
  const cpus = Math.max(1, Math.floor(cpuCount));
  return cpus > 1 ? cpus - 1 : 1;
}

/**
 * Prompt batch size for a slot of `contextSize` tokens: at most MAX_BATCH and at most a quarter of the slot, so that
 * /infill's input_extra (kept only when n_batch < n_ctx_slot − 2·n_predict) survives answers up to 3/8 of the
 * context. With llama-server's default of 2048 and a 2048-token slot it is silently dropped.
 */
export function batchSize(contextSize: number): number {
  const quarter = Math.floor(contextSize / 4);
  // A power of two, as llama.cpp's own defaults are; never below 32 (tiny contexts).
  const power = 2 ** Math.floor(Math.log2(Math.max(quarter, 32)));
  return Math.min(MAX_BATCH, power);
}

/** The problems of llamaCpp.args: reserved options it sets (empty when it is fine). */
export function reservedArgsProblems(extraArgs: readonly string[]): string[] {
  const problems: string[] = [];
  for (const arg of extraArgs) {
    const name = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
    const what = RESERVED_OPTIONS.get(name);
    if (what) problems.push(`xencode.llamaCpp.args sets ${name}, ${what}: remove it.`);
  }
  return problems;
}

/**
 * llama-server's arguments: loopback and the given port, the model, threads, the total context (llama-server
 * divides -c among the -np slots, so it is contextSize × slots), the slots, the batch size, /metrics on, no web UI,
 * prompt-cache reuse; then llamaCpp.args.
 */
export function llamaServerArgs(options: LlamaServerArgsOptions): string[] {
  const slots = Math.max(1, Math.floor(options.slots));
  const contextSize = Math.max(1, Math.floor(options.contextSize ?? DEFAULT_CONTEXT_PER_SLOT));
  const threads = Math.max(1, Math.floor(options.threads ?? defaultThreads(options.cpuCount)));
  return [
    '--host',
    '127.0.0.1',
    '--port',
    String(options.port),
    '-m',
    options.gguf,
    '-t',
    String(threads),
    '-c',
    String(contextSize * slots),
    '-np',
    String(slots),
    '-b',
    String(batchSize(contextSize)),
    '--cache-reuse',
    String(CACHE_REUSE_TOKENS),
    '--no-webui',
    '--metrics',
    ...(options.extraArgs ?? []),
  ];
}
