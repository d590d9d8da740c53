/**
 * A stand-in for Ollama: a real HTTP server on 127.0.0.1 that speaks the Ollama REST API closely enough that the
 * `ollama` npm client, and Xencode's own code, cannot tell it from the real thing.
 *
 * What it offers tests and benchmarks:
 * - scripted answers per model (rules matched on the prompt, the suffix or the chat messages),
 * - NDJSON streaming token by token, with optional first-token and per-token latency,
 * - `num_predict`, `stop`, `logprobs`, `keep_alive` honoured the way the server honours them,
 * - the real error shapes, per-model fault injection that can be flipped while a test runs,
 * - Ollama going away (connection refused) and coming back on the same port, or dropping a connection before
 *   or in the middle of an answer (a crash, a restart, a proxy cutting it),
 * - a record of every request, including whether the client went away before the answer was complete, and which
 *   TCP connection carried it (a count of connections opened, to see whether a client reuses them).
 *
 * Behaviour follows Ollama's server source (server/routes.go) where it matters to a client; the places where it
 * is surprising are called out in comments, because the code under test has to cope with exactly those.
 *
 * Speed: a model without latency is answered synchronously, in one corked write, as soon as the request body has
 * arrived. Benchmarks measure Xencode's own overhead against this server, so nothing here may add timers or heavy
 * work to that path.
 */
import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CREATE_ERRORS, normalizeDigest, planCreate, sha256Digest } from './ollama-stub-create.js';

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

export interface StubAnswer {
  text: string;
  /** Explicit streaming chunks; their concatenation is the answer (then `text` is ignored). Default: `text` split
   *  into word, whitespace and punctuation tokens. */
  tokens?: string[];
  /** Per-token logprobs, returned when the request asks `logprobs: true` (missing entries: -0.1). */
  logprobs?: number[];
}

/**
 * An answer for requests that satisfy every condition given (a rule with no condition matches everything).
 * Each condition looks at one thing, so a rule meant for one endpoint never answers the other by accident:
 * - `promptIncludes`: the `/api/generate` prompt (never matches chat),
 * - `suffixIncludes`: the `/api/generate` suffix as the model sees it (`raw: true` drops the suffix, so it never
 *   matches raw requests),
 * - `messageIncludes`: the `/api/chat` messages' contents, all of them (system, user, assistant) joined with "\n".
 */
export interface StubRule {
  promptIncludes?: string;
  suffixIncludes?: string;
  messageIncludes?: string;
  answer: string | StubAnswer;
}

/**
 * - 'mid-stream-error': an error line after the first chunks (the 200 stream has started),
 * - 'reset-mid-stream': the first chunks, then the connection is reset (TCP RST: a proxy cutting it),
 * - 'close-mid-stream': the first chunks, then the connection is closed (FIN, no end of the HTTP body: Ollama
 *   crashing or restarting mid-answer, as the kernel closes a dead process's sockets),
 * - 'close-before-answer': the connection is closed once the request has arrived, before any byte of an answer.
 * Generate and chat only; /api/show and the rest keep answering.
 */
export type StubFault =
  | 'not-found'
  | 'no-insert'
  | 'server-error'
  | 'mid-stream-error'
  | 'reset-mid-stream'
  | 'close-mid-stream'
  | 'close-before-answer'
  | 'hang'
  | 'queue-full';

export interface StubModel {
  /** e.g. 'qwen2.5-coder:1.5b-base'; a name without a tag means ':latest', and names match case-insensitively. */
  name: string;
  /** Default ['completion', 'insert']. */
  capabilities?: string[];
  /** details.family; default derived from the name (qwen2, starcoder2, llama, gemma, deepseek2, …). */
  family?: string;
  /** /api/show template; default is the family's FIM template (with {{ .Suffix }}) iff the model can insert. */
  template?: string;
  /** The first matching rule answers /api/generate and /api/chat. */
  rules?: StubRule[];
  /** Answer when no rule matches (default ''). */
  defaultAnswer?: string | StubAnswer;
  /** Default 0/0: answered synchronously. */
  latency?: { firstTokenMs?: number; perTokenMs?: number };
  /** Read at request time: tests may set or clear it while running. */
  fault?: StubFault;
  /** Bytes, for tags/ps; default estimated from the parameter size (Q4_K_M). */
  size?: number;
  /** e.g. '1.5B'; default parsed from the tag ('1.5b-base' → '1.5B'). */
  parameterSize?: string;
  /** Default 'Q4_K_M'. */
  quantization?: string;
}

export interface RecordedRequest {
  id: number;
  method: string;
  /** Without the query string. */
  path: string;
  /** Parsed JSON body; undefined for bodiless requests, the raw text when it was not JSON. */
  body: any;
  /** body.model (or body.name, as /api/pull sends it). */
  model?: string;
  /** Epoch milliseconds (fractional). */
  startedAt: number;
  /** When the response ended or the connection closed. */
  endedAt?: number;
  /** The status sent; undefined while nothing has been sent (e.g. a hanging request). */
  status?: number;
  /** NDJSON lines (or the single JSON/text body) written. */
  chunksSent: number;
  /** The answer reached its successful end: the final done/success line, or the whole body of a 2xx answer.
   *  Error answers, mid-stream errors and aborted answers are not completed. */
  completed: boolean;
  /** The connection closed before the answer was finished: the client went away, or the stub went down. */
  aborted: boolean;
  /** Which TCP connection carried the request: 1 for the first the stub accepted, and so on. */
  connection: number;
}

export interface OllamaStubOptions {
  /** Installed models. */
  models?: StubModel[];
  /** Models that `/api/pull` can install (not installed until pulled). */
  pullable?: StubModel[];
  /** Reported by /api/version; default '0.13.0'. */
  version?: string;
  /** Port to listen on; default 0 (any free port, kept across goDown/comeBack). */
  port?: number;
  /** Delay between /api/pull progress lines; default 5 ms. */
  pullStepMs?: number;
  /** Called once per request, when its connection or response closes (the CLI logs with it). */
  onRequestEnd?: (request: RecordedRequest) => void;
  /**
   * Streamed answers: send the end of the HTTP body (the last, empty chunk) this many ms after the done line, in
   * a write of its own, as Ollama does (Go's net/http writes it when the handler returns, after the done line was
   * flushed). A client that acts on the done line at once sees an answer that has not ended. Default: in the
   * same write as the done line, which costs no timer.
   */
  endApartMs?: number;
}

/** The error messages the stub sends, worded as Ollama words them, for assertions that want the exact text. */
export const OLLAMA_ERRORS = {
  modelNotFound: (model: string) => `model '${model}' not found`,
  noInsert: (model: string) => `${qualifiedModelName(model)} does not support insert`,
  noCompletion: (model: string, endpoint: 'generate' | 'chat') => `${JSON.stringify(model)} does not support ${endpoint}`,
  noThinking: (model: string) => `${JSON.stringify(model)} does not support thinking`,
  noTools: (model: string) => `${qualifiedModelName(model)} does not support tools`,
  runnerTerminated: 'llama runner process has terminated: exit status 2',
  midStream: 'an error was encountered while running the model: unexpected EOF',
  queueFull: 'server busy, please try again.  maximum pending requests exceeded',
  pullManifest: 'pull model manifest: file does not exist',
  missingBody: 'missing request body',
  modelRequired: 'model is required',
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Model names and facts
// ---------------------------------------------------------------------------------------------------------------

/** How Ollama matches names: a missing tag is ':latest', and comparison ignores case. */
export function normalizeModelName(name: string): string {
  const n = name.trim().toLowerCase();
  return n.indexOf(':', n.lastIndexOf('/') + 1) === -1 ? `${n}:latest` : n;
}

/** 'qwen:1b' → 'registry.ollama.ai/library/qwen:1b', the form Ollama's capability errors print. */
function qualifiedModelName(name: string): string {
  const slash = name.lastIndexOf('/');
  const colon = name.indexOf(':', slash + 1);
  const path = colon === -1 ? name : name.slice(0, colon);
  const tag = colon === -1 ? 'latest' : name.slice(colon + 1);
  const parts = path.split('/');
  const model = parts.pop() ?? path;
  const namespace = parts.pop() ?? 'library';
  const host = parts.pop() ?? 'registry.ollama.ai';
  return `${host}/${namespace}/${model}:${tag}`;
}

const FAMILIES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^qwen3/, 'qwen3'],
  [/^qwen/, 'qwen2'],
  [/^starcoder2/, 'starcoder2'],
  [/^starcoder/, 'starcoder'],
  [/^deepseek-(coder-)?v[23]/, 'deepseek2'],
  [/^codegemma|^gemma(?!\d)/, 'gemma'],
  [/^gemma(\d)/, 'gemma$1'],
  [/^phi(\d)/, 'phi$1'],
  [/^granite/, 'granite'],
  [/^(code)?llama|^deepseek-coder|^yi-coder|^codestral|^mistral/, 'llama'],
];

function baseName(name: string): string {
  const path = name.toLowerCase().split(':')[0] ?? '';
  return path.slice(path.lastIndexOf('/') + 1);
}

function deriveFamily(name: string): string {
  const base = baseName(name);
  for (const [pattern, family] of FAMILIES) {
    const match = pattern.exec(base);
    if (match) return family.replace(/\$(\d)/g, (_, group: string) => match[Number(group)] ?? '');
  }
  return /^[a-z]+\d*/.exec(base)?.[0] ?? 'llama';
}

/** The FIM template and stop words Ollama's library ships for a family, so /api/show looks like the real model. */
interface PromptFormat {
  readonly match: RegExp;
  readonly fim: string;
  readonly stop: readonly string[];
}

const PROMPT_FORMATS: readonly PromptFormat[] = [
  { match: /starcoder/, fim: '<fim_prefix>{{ .Prompt }}<fim_suffix>{{ .Suffix }}<fim_middle>', stop: ['<|endoftext|>', '<file_sep>'] },
  { match: /codellama/, fim: '<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>', stop: ['<EOT>'] },
  { match: /deepseek-coder/, fim: '<｜fim▁begin｜>{{ .Prompt }}<｜fim▁hole｜>{{ .Suffix }}<｜fim▁end｜>', stop: ['<｜end▁of▁sentence｜>'] },
  { match: /codegemma/, fim: '<|fim_prefix|>{{ .Prompt }}<|fim_suffix|>{{ .Suffix }}<|fim_middle|>', stop: ['<|file_separator|>'] },
  { match: /codestral/, fim: '[SUFFIX]{{ .Suffix }}[PREFIX] {{ .Prompt }}', stop: ['[INST]'] },
  { match: /./, fim: '<|fim_prefix|>{{ .Prompt }}<|fim_suffix|>{{ .Suffix }}<|fim_middle|>', stop: ['<|endoftext|>', '<|file_sep|>'] },
];

const CHAT_TEMPLATE =
  '{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}<|im_start|>assistant\n';

function defaultTemplate(name: string, canInsert: boolean): string {
  const format = promptFormat(name);
  return canInsert ? `{{- if .Suffix }}${format.fim}{{- else }}{{ .Prompt }}{{- end }}` : CHAT_TEMPLATE;
}

function promptFormat(name: string): PromptFormat {
  const base = baseName(name);
  return PROMPT_FORMATS.find((f) => f.match.test(base)) ?? PROMPT_FORMATS[PROMPT_FORMATS.length - 1]!;
}

/** Everything /api/tags, /api/show and /api/ps report about a model; derived on demand (cheap, and never on the
 *  generate path), so that tests can mutate the live StubModel. */
interface ModelFacts {
  family: string;
  parameterSize: string;
  quantization: string;
  size: number;
  digest: string;
  capabilities: string[];
  template: string;
  stop: readonly string[];
}

function capabilitiesOf(model: StubModel): string[] {
  return model.capabilities ?? ['completion', 'insert'];
}

function describeModel(model: StubModel): ModelFacts {
  const billions = Number(/(\d+(?:\.\d+)?)b\b/i.exec(model.name.split(':')[1] ?? '')?.[1] ?? '1.5');
  const capabilities = capabilitiesOf(model);
  return {
    family: model.family ?? deriveFamily(model.name),
    parameterSize: model.parameterSize ?? `${billions}B`,
    quantization: model.quantization ?? 'Q4_K_M',
    // Q4_K_M weighs about 0.62 bytes per parameter (qwen2.5-coder 1.5B: 986 MB).
    size: model.size ?? Math.round(billions * 0.62e9),
    digest: sha256(`manifest:${normalizeModelName(model.name)}`),
    capabilities,
    template: model.template ?? defaultTemplate(model.name, capabilities.includes('insert')),
    stop: promptFormat(model.name).stop,
  };
}

function detailsOf(facts: ModelFacts) {
  return {
    parent_model: '',
    format: 'gguf',
    family: facts.family,
    families: [facts.family],
    parameter_size: facts.parameterSize,
    quantization_level: facts.quantization,
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// ---------------------------------------------------------------------------------------------------------------
// The catalogue: installed, pullable and loaded models
// ---------------------------------------------------------------------------------------------------------------

interface Installed {
  model: StubModel;
  installedAt: number;
}

interface Loaded {
  expiresAt: number;
  contextLength: number;
}

/** Go's maximal time.Duration: what a negative keep_alive ("forever") turns into. */
const FOREVER_MS = 9_223_372_036_854;
const DEFAULT_KEEP_ALIVE_MS = 5 * 60_000;
const DEFAULT_NUM_CTX = 4096;

class Catalogue {
  readonly installed = new Map<string, Installed>();
  readonly pullable = new Map<string, StubModel>();
  readonly loaded = new Map<string, Loaded>();

  install(model: StubModel, at = Date.now()): void {
    this.installed.set(normalizeModelName(model.name), { model, installedAt: at });
  }

  remove(name: string): void {
    const key = normalizeModelName(name);
    this.installed.delete(key);
    this.loaded.delete(key);
  }

  /** The model as the API sees it: a 'not-found' fault makes an installed model look absent everywhere. */
  visible(name: string): Installed | undefined {
    const entry = this.installed.get(normalizeModelName(name));
    return entry && entry.model.fault !== 'not-found' ? entry : undefined;
  }

  markLoaded(name: string, keepAliveMs: number, contextLength: number): void {
    const expiresAt = keepAliveMs < 0 ? Date.now() + FOREVER_MS : Date.now() + keepAliveMs;
    this.loaded.set(normalizeModelName(name), { expiresAt, contextLength });
  }

  unload(name: string): void {
    this.loaded.delete(normalizeModelName(name));
  }

  /** Loaded models whose keep-alive has not run out, longest remaining first (as /api/ps sorts them). */
  running(now = Date.now()): Array<Installed & Loaded> {
    const out: Array<Installed & Loaded> = [];
    for (const [key, state] of this.loaded) {
      const entry = this.installed.get(key);
      if (entry && state.expiresAt > now && entry.model.fault !== 'not-found') out.push({ ...entry, ...state });
    }
    return out.sort((a, b) => b.expiresAt - a.expiresAt);
  }
}

/** keep_alive: a number of seconds, or a Go duration ("5m", "1h30m", "500ms"); negative means forever. */
function keepAliveMs(value: unknown): number {
  if (typeof value === 'number') return value * 1000;
  if (typeof value !== 'string' || value.trim() === '') return DEFAULT_KEEP_ALIVE_MS;
  if (/^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const unitMs: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(-?\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(amount) * (unitMs[unit!] ?? 0);
  return value.trim().startsWith('-') ? -Math.abs(total) || -1 : total;
}

// ---------------------------------------------------------------------------------------------------------------
// Answers: from a rule to the pieces that will be streamed
// ---------------------------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

/** One inference request, reduced to what the stub needs from /api/generate or /api/chat. */
interface InferenceCall {
  endpoint: 'generate' | 'chat';
  /** The model name as sent; Ollama echoes it back unchanged. */
  model: string;
  /** The generate prompt, or the chat messages joined with "\n". */
  text: string;
  /** The suffix as the model sees it ('' for chat and for raw generate). */
  suffix: string;
  /** The suffix as sent (raw requests still need the insert capability). */
  sentSuffix: string;
  stream: boolean;
  logprobs: boolean;
  topLogprobs: number;
  numPredict: number;
  stop: string[];
  numCtx: number;
  keepAliveMs: number;
  loadOnly: boolean;
  /** think: true or a level ('high', …). */
  think: boolean;
  /** Chat tools were offered. */
  tools: boolean;
}

interface Piece {
  text: string;
  logprob: number;
}

interface Plan {
  pieces: Piece[];
  doneReason: 'stop' | 'length';
  /** mid-stream faults: how many pieces are sent before the error line or the dropped connection. */
  failAfter?: number;
  /** reset-mid-stream, close-mid-stream: the connection is dropped instead of the error line. */
  drop?: DropKind;
}

const DEFAULT_LOGPROB = -0.1;
/** Words, runs of whitespace and single other characters: every character lands in exactly one token. */
const TOKEN_PATTERN = /\s+|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;

export function tokenize(text: string): string[] {
  return text.match(TOKEN_PATTERN) ?? [];
}

function pickAnswer(model: StubModel, call: InferenceCall): string | StubAnswer {
  for (const rule of model.rules ?? []) if (ruleMatches(rule, call)) return rule.answer;
  return model.defaultAnswer ?? '';
}

function ruleMatches(rule: StubRule, call: InferenceCall): boolean {
  const generate = call.endpoint === 'generate';
  if (rule.promptIncludes !== undefined && !(generate && call.text.includes(rule.promptIncludes))) return false;
  if (rule.suffixIncludes !== undefined && !(generate && call.suffix.includes(rule.suffixIncludes))) return false;
  if (rule.messageIncludes !== undefined && !(!generate && call.text.includes(rule.messageIncludes))) return false;
  return true;
}

function answerPieces(answer: string | StubAnswer): Piece[] {
  const a = typeof answer === 'string' ? { text: answer } : answer;
  const tokens = a.tokens ?? tokenize(a.text);
  return tokens.map((text, i) => ({ text, logprob: a.logprobs?.[i] ?? DEFAULT_LOGPROB }));
}

/** Where generation ends: num_predict caps the token count, a stop string cuts the text before itself. A stop
 *  found inside the capped text wins (the model would have stopped there first). num_predict <= 0 is unlimited,
 *  as in Ollama's runner. */
function planGeneration(answer: string | StubAnswer, call: InferenceCall, fault: StubFault | undefined): Plan {
  let pieces = answerPieces(answer);
  const capped = call.numPredict > 0 && pieces.length > call.numPredict;
  if (capped) pieces = pieces.slice(0, call.numPredict);
  const cut = cutAtStop(pieces, call.stop);
  const plan: Plan = { pieces: cut ?? pieces, doneReason: cut || !capped ? 'stop' : 'length' };
  if (fault === 'mid-stream-error' || fault === 'reset-mid-stream' || fault === 'close-mid-stream') {
    // One or two normal chunks always precede the error, so the client has started reading when it fails.
    if (plan.pieces.length === 0) plan.pieces = [{ text: '', logprob: DEFAULT_LOGPROB }];
    plan.failAfter = Math.min(2, plan.pieces.length);
    if (fault === 'reset-mid-stream') plan.drop = 'reset';
    if (fault === 'close-mid-stream') plan.drop = 'close';
  }
  return plan;
}

function cutAtStop(pieces: Piece[], stops: string[]): Piece[] | undefined {
  if (stops.length === 0) return undefined;
  const text = pieces.map((p) => p.text).join('');
  let cut = -1;
  for (const stop of stops) {
    const at = stop ? text.indexOf(stop) : -1;
    if (at !== -1 && (cut === -1 || at < cut)) cut = at;
  }
  if (cut === -1) return undefined;
  const kept: Piece[] = [];
  let position = 0;
  for (const piece of pieces) {
    if (position >= cut) break;
    const room = cut - position;
    kept.push(room >= piece.text.length ? piece : { ...piece, text: piece.text.slice(0, room) });
    position += piece.text.length;
  }
  return kept;
}

// ---------------------------------------------------------------------------------------------------------------
// Response shapes (what /api/generate and /api/chat lines look like)
// ---------------------------------------------------------------------------------------------------------------

interface Stats {
  total_duration: number;
  load_duration: number;
  prompt_eval_count: number;
  prompt_eval_duration: number;
  eval_count: number;
  eval_duration: number;
}

interface Shape {
  chunk(model: string, text: string): Json;
  /** The done line. Without stats it is a load/unload answer, which Ollama sends without metrics or context. */
  done(model: string, text: string, reason: string, stats?: Stats): Json;
}

const createdAt = () => new Date().toISOString();

const GENERATE_SHAPE: Shape = {
  chunk: (model, text) => ({ model, created_at: createdAt(), response: text, done: false }),
  done: (model, text, reason, stats) => ({
    model,
    created_at: createdAt(),
    response: text,
    done: true,
    done_reason: reason,
    ...(stats ? { context: [], ...stats } : {}),
  }),
};

const CHAT_SHAPE: Shape = {
  chunk: (model, text) => ({ model, created_at: createdAt(), message: { role: 'assistant', content: text }, done: false }),
  done: (model, text, reason, stats) => ({
    model,
    created_at: createdAt(),
    message: { role: 'assistant', content: text },
    done: true,
    done_reason: reason,
    ...stats,
  }),
};

function logprobEntries(pieces: Piece[], top: number): Json[] {
  return pieces.map((p) => {
    const entry: Json = { token: p.text, logprob: p.logprob, bytes: [...Buffer.from(p.text)] };
    // Only the chosen token is known to the stub: it is the top alternative with its own logprob.
    if (top > 0) entry.top_logprobs = [{ token: p.text, logprob: p.logprob, bytes: entry.bytes }];
    return entry;
  });
}

/** Timestamps of one generation (performance.now() ms), for the durations Ollama reports in nanoseconds. */
class GenerationClock {
  readonly start = performance.now();
  firstTokenAt: number | undefined;

  stats(promptTokens: number, evalCount: number): Stats {
    const now = performance.now();
    const first = this.firstTokenAt ?? now;
    const ns = (ms: number) => Math.max(0, Math.round(ms * 1e6));
    return {
      total_duration: ns(now - this.start),
      load_duration: 0,
      prompt_eval_count: promptTokens,
      prompt_eval_duration: ns(first - this.start),
      eval_count: evalCount,
      eval_duration: ns(now - first),
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// One HTTP exchange: writes, the record, and abort detection
// ---------------------------------------------------------------------------------------------------------------

interface Step {
  delayMs: number;
  run: () => void;
}

/** A reset throws away what the peer has not read yet: wait this long after the last chunk, so that the client
 *  has read the start of the answer and the drop happens in the middle of it. */
const DROP_AFTER_MS = 20;

type DropKind = 'reset' | 'close';

const JSON_TYPE = 'application/json; charset=utf-8';
const NDJSON_TYPE = 'application/x-ndjson';
const TEXT_TYPE = 'text/plain; charset=utf-8';

class Exchange {
  private timer: NodeJS.Timeout | undefined;
  private streaming = false;
  private ended = false;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    readonly record: RecordedRequest,
    onClose: (record: RecordedRequest) => void,
    private readonly endApartMs: number | undefined,
  ) {
    // 'close' fires after a normal end too; only a close before we ended the response is an abort. Generation
    // stops because every write checks `gone` and the pending timer is cleared.
    res.on('close', () => {
      this.closed = true;
      clearTimeout(this.timer);
      this.record.endedAt = epochMs();
      if (!this.ended) this.record.aborted = true;
      onClose(this.record);
    });
    res.on('error', () => {});
  }

  get gone(): boolean {
    return this.closed || this.ended || this.res.destroyed || this.res.socket?.destroyed === true;
  }

  json(status: number, body: unknown): void {
    this.whole(status, JSON_TYPE, JSON.stringify(body));
  }

  text(status: number, body: string): void {
    this.whole(status, TEXT_TYPE, body);
  }

  /** One NDJSON line. Headers go out with the first line, as Ollama's do: before it a client sees nothing. */
  line(body: Json, final = false): void {
    if (this.gone) return;
    if (!this.streaming) {
      this.streaming = true;
      this.res.writeHead(200, { 'Content-Type': NDJSON_TYPE });
      this.record.status = 200;
    }
    this.res.write(`${JSON.stringify(body)}\n`);
    this.record.chunksSent++;
    if (final) this.end(true);
  }

  /** An error after the answer started is one more line in the 200 stream; before, it is a proper status. */
  fail(message: string, statusIfNotStarted = 500): void {
    if (this.streaming) {
      this.line({ error: message });
      this.end(false);
    } else {
      this.json(statusIfNotStarted, { error: message });
    }
  }

  /** Ends the connection without ending the answer: 'reset' sends a TCP RST (unsent data is lost), 'close' sends
   *  what was written, then a FIN. Either way the HTTP body never ends; the record says aborted. */
  drop(how: DropKind): void {
    const socket = this.res.socket;
    if (this.gone || !socket) return;
    if (how === 'reset') socket.resetAndDestroy();
    else socket.destroySoon();
  }

  /** Runs steps in order, waiting each one's delay first. Steps without delay run synchronously in one corked
   *  write, so a zero-latency answer costs no timer and goes out in a single packet. */
  play(steps: readonly Step[]): void {
    let next = 0;
    let waited = false;
    const advance = () => {
      const socket = this.res.socket;
      socket?.cork();
      try {
        while (next < steps.length && !this.gone) {
          const step = steps[next]!;
          if (step.delayMs > 0 && !waited) {
            waited = true;
            this.timer = setTimeout(advance, step.delayMs);
            return;
          }
          waited = false;
          next++;
          step.run();
        }
      } finally {
        socket?.uncork();
      }
    };
    advance();
  }

  /** Calls `run` after `delayMs` (at once when 0) unless the client has gone by then. */
  after(delayMs: number, run: () => void): void {
    this.play([{ delayMs, run }]);
  }

  private whole(status: number, type: string, payload: string): void {
    if (this.gone) return;
    this.res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(payload) });
    this.record.status = status;
    this.record.chunksSent++;
    this.ended = true;
    this.record.completed = status < 400;
    this.res.end(payload);
  }

  private end(completed: boolean): void {
    this.ended = true;
    this.record.completed = completed;
    if (this.endApartMs === undefined) this.res.end();
    // After the corked batch has gone out, so the last line and the end of the body travel apart, as Ollama's do.
    else setTimeout(() => this.res.end(), this.endApartMs);
  }
}

function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

// ---------------------------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------------------------

type ParsedBody = { ok: true; body: Json } | { ok: false; error: string; raw: string };

/** Parses like Go's json decoder into a struct, with messages of the same form. */
function parseBody(raw: string, goType: string): ParsedBody {
  if (raw.trim() === '') return { ok: false, error: OLLAMA_ERRORS.missingBody, raw };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return { ok: false, error: goJsonError(raw, err), raw };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
    return { ok: false, error: `json: cannot unmarshal ${kind} into Go value of type api.${goType}`, raw };
  }
  return { ok: true, body: value as Json };
}

function goJsonError(raw: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/end of JSON input|Unterminated/i.test(message)) return 'unexpected EOF';
  // V8 names the offending token or its position, depending on the mistake; Go names the character.
  const token = /Unexpected token '?(.)/.exec(message)?.[1];
  const position = /position (\d+)/.exec(message);
  const char = token ?? raw[position ? Number(position[1]) : raw.search(/\S/)];
  return char === undefined ? 'unexpected EOF' : `invalid character '${char}' looking for beginning of value`;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

function stopList(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

function chatText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  return messages.map((m) => str((m as Json | null)?.content)).join('\n');
}

function toInferenceCall(endpoint: 'generate' | 'chat', body: Json): InferenceCall {
  const options = (body.options ?? {}) as Json;
  const raw = body.raw === true;
  const sentSuffix = endpoint === 'generate' ? str(body.suffix) : '';
  const text = endpoint === 'generate' ? str(body.prompt) : chatText(body.messages);
  return {
    endpoint,
    model: str(body.model),
    text,
    sentSuffix,
    // raw mode sends the prompt to the model as is: the suffix is not used (but still needs the capability).
    suffix: raw ? '' : sentSuffix,
    // Ollama streams unless told otherwise (ollama-js, unlike the server, defaults to false).
    stream: body.stream !== false,
    logprobs: body.logprobs === true,
    topLogprobs: num(body.top_logprobs, 0),
    numPredict: num(options.num_predict, -1),
    stop: stopList(options.stop),
    numCtx: num(options.num_ctx, DEFAULT_NUM_CTX),
    keepAliveMs: keepAliveMs(body.keep_alive),
    loadOnly: endpoint === 'generate' ? text === '' : !Array.isArray(body.messages) || body.messages.length === 0,
    think: body.think === true || typeof body.think === 'string',
    tools: Array.isArray(body.tools) && body.tools.length > 0,
  };
}

/** Roughly four characters per token: cheap, and only used for prompt_eval_count. */
function estimateTokens(call: InferenceCall): number {
  return Math.max(1, Math.ceil((call.text.length + call.suffix.length) / 4));
}

// ---------------------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------------------

type Handler = (ex: Exchange, body: Json) => void;
type Method = 'GET' | 'HEAD' | 'POST';
interface Route {
  /** The Go request type, for JSON decoding errors; absent for bodiless routes. */
  goType?: string;
  methods: Partial<Record<Method, Handler>>;
}

export class OllamaStub {
  /** Every request, in arrival order. Cleared in place by reset(). */
  readonly requests: RecordedRequest[] = [];
  /** 'http://127.0.0.1:PORT' once started. */
  url = '';
  /** Blobs uploaded with POST /api/blobs/:digest, by 'sha256:HEX'. Kept across reset(), like the models. */
  readonly blobs = new Map<string, Buffer>();

  private readonly catalogue = new Catalogue();
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly connectionIds = new WeakMap<Socket, number>();
  private connectionsSinceReset = 0;
  private nextConnection = 1;
  private readonly endApartMs: number | undefined;
  private readonly routes: Record<string, Route>;
  private readonly version: string;
  private readonly pullStepMs: number;
  private readonly onRequestEnd: ((request: RecordedRequest) => void) | undefined;
  private port: number;
  private nextId = 1;

  constructor(options: OllamaStubOptions = {}) {
    const startedAt = Date.now();
    for (const model of options.models ?? []) this.catalogue.install(model, startedAt);
    for (const model of options.pullable ?? []) this.catalogue.pullable.set(normalizeModelName(model.name), model);
    this.version = options.version ?? '0.13.0';
    this.port = options.port ?? 0;
    this.pullStepMs = options.pullStepMs ?? 5;
    this.onRequestEnd = options.onRequestEnd;
    this.endApartMs = options.endApartMs;
    this.routes = this.buildRoutes();
    this.server = http.createServer({ noDelay: true }, (req, res) => this.accept(req, res));
    this.server.on('connection', (socket) => {
      this.connectionIds.set(socket, this.nextConnection++);
      this.connectionsSinceReset++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  // --- lifecycle --------------------------------------------------------------------------------------------

  async start(): Promise<string> {
    if (!this.server.listening) {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        this.server.once('error', onError);
        this.server.listen(this.port, '127.0.0.1', () => {
          this.server.off('error', onError);
          resolve();
        });
      });
      this.port = (this.server.address() as AddressInfo).port;
      this.url = `http://127.0.0.1:${this.port}`;
    }
    return this.url;
  }

  /** Closes the listener and destroys every open socket; in-flight requests are recorded as aborted. */
  async stop(): Promise<void> {
    await this.closeListener();
  }

  /** Simulates Ollama not running: new connections get ECONNREFUSED until comeBack(). */
  async goDown(): Promise<void> {
    await this.closeListener();
  }

  /** Ollama is back, on the same port. */
  async comeBack(): Promise<void> {
    await this.start();
  }

  private async closeListener(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  // --- models -----------------------------------------------------------------------------------------------

  /** Adds or replaces (by name) an installed model. */
  setModel(model: StubModel): void {
    this.catalogue.install(model);
  }

  /** The live object: tests may change fault, latency, rules, answers while the stub runs. */
  model(name: string): StubModel | undefined {
    return this.catalogue.installed.get(normalizeModelName(name))?.model;
  }

  removeModel(name: string): void {
    this.catalogue.remove(name);
  }

  // --- the record -------------------------------------------------------------------------------------------

  generateRequests(model?: string): RecordedRequest[] {
    return this.requestsTo('/api/generate', model);
  }

  chatRequests(model?: string): RecordedRequest[] {
    return this.requestsTo('/api/chat', model);
  }

  /** POST /api/create requests (body: model, from, adapters, …). */
  createRequests(model?: string): RecordedRequest[] {
    return this.requestsTo('/api/create', model);
  }

  /** HEAD and POST /api/blobs/:digest requests (path names the digest). */
  blobRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith('/api/blobs/'));
  }

  /** Polls the record until the predicate holds; rejects with the record so far after timeoutMs (default 2 s). */
  async waitFor(predicate: (requests: RecordedRequest[]) => boolean, timeoutMs = 2000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!predicate(this.requests)) {
      if (performance.now() >= deadline) {
        throw new Error(`OllamaStub.waitFor: condition not met within ${timeoutMs} ms. Requests so far:\n${this.describeRequests()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** TCP connections accepted since the stub started or since the last reset(). */
  get connectionsOpened(): number {
    return this.connectionsSinceReset;
  }

  /** TCP connections open now (idle ones a client keeps for its next request included). */
  get connectionsOpen(): number {
    return this.sockets.size;
  }

  /** Clears the record and the count of connections opened (not the models, nor which ones are loaded). */
  reset(): void {
    this.requests.length = 0;
    this.connectionsSinceReset = 0;
  }

  /** One line per recorded request, for failure messages and the CLI log. */
  describeRequests(): string {
    return this.requests.length === 0 ? '  (none)' : this.requests.map((r) => `  ${describeRequest(r)}`).join('\n');
  }

  private requestsTo(path: string, model?: string): RecordedRequest[] {
    const wanted = model === undefined ? undefined : normalizeModelName(model);
    return this.requests.filter((r) => r.path === path && (wanted === undefined || (r.model !== undefined && normalizeModelName(r.model) === wanted)));
  }

  // --- HTTP -------------------------------------------------------------------------------------------------

  private accept(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const record: RecordedRequest = {
      id: this.nextId++,
      method: req.method ?? 'GET',
      path,
      body: undefined,
      startedAt: epochMs(),
      chunksSent: 0,
      completed: false,
      aborted: false,
      connection: this.connectionIds.get(req.socket) ?? 0,
    };
    this.requests.push(record);
    const ex = new Exchange(res, record, (r) => this.onRequestEnd?.(r), this.endApartMs);
    req.on('error', () => {});

    if (path.startsWith('/api/blobs/')) return this.blob(req, ex, decodeURIComponent(path.slice('/api/blobs/'.length)));
    const route = this.routes[path];
    if (!route) return ex.text(404, '404 page not found');
    const handler = route.methods[record.method as Method];
    if (!handler) return ex.text(405, '405 method not allowed');
    if (!route.goType) return handler(ex, {});

    readBody(req, (raw) => {
      const parsed = parseBody(raw, route.goType!);
      record.body = parsed.ok ? parsed.body : raw || undefined;
      if (!parsed.ok) return ex.json(400, { error: parsed.error });
      const model = parsed.body.model ?? parsed.body.name;
      if (typeof model === 'string') record.model = model;
      handler(ex, parsed.body);
    });
  }

  private buildRoutes(): Record<string, Route> {
    const running: Handler = (ex) => ex.text(200, 'Ollama is running');
    const version: Handler = (ex) => ex.json(200, { version: this.version });
    const tags: Handler = (ex) => ex.json(200, { models: this.tagList() });
    return {
      '/': { methods: { GET: running, HEAD: running } },
      '/api/version': { methods: { GET: version, HEAD: version } },
      '/api/tags': { methods: { GET: tags, HEAD: tags } },
      '/api/ps': { methods: { GET: (ex) => ex.json(200, { models: this.psList() }) } },
      '/api/show': { goType: 'ShowRequest', methods: { POST: (ex, body) => this.show(ex, body) } },
      '/api/pull': { goType: 'PullRequest', methods: { POST: (ex, body) => this.pull(ex, body) } },
      '/api/create': { goType: 'CreateRequest', methods: { POST: (ex, body) => this.create(ex, body) } },
      '/api/generate': { goType: 'GenerateRequest', methods: { POST: (ex, body) => this.infer(ex, toInferenceCall('generate', body), GENERATE_SHAPE) } },
      '/api/chat': { goType: 'ChatRequest', methods: { POST: (ex, body) => this.infer(ex, toInferenceCall('chat', body), CHAT_SHAPE) } },
    };
  }

  // --- /api/tags, /api/ps, /api/show ------------------------------------------------------------------------

  private tagList(): Json[] {
    const visible = [...this.catalogue.installed.values()].filter((e) => e.model.fault !== 'not-found');
    // Most recently modified first, as Ollama sorts them (a stable sort keeps the configured order otherwise).
    visible.sort((a, b) => b.installedAt - a.installedAt);
    return visible.map(({ model, installedAt }) => {
      const facts = describeModel(model);
      return {
        name: model.name,
        model: model.name,
        modified_at: new Date(installedAt).toISOString(),
        size: facts.size,
        digest: facts.digest,
        details: detailsOf(facts),
      };
    });
  }

  private psList(): Json[] {
    return this.catalogue.running().map(({ model, expiresAt, contextLength }) => {
      const facts = describeModel(model);
      return {
        name: model.name,
        model: model.name,
        size: facts.size,
        digest: facts.digest,
        details: detailsOf(facts),
        expires_at: new Date(expiresAt).toISOString(),
        size_vram: facts.size,
        context_length: contextLength,
      };
    });
  }

  private show(ex: Exchange, body: Json): void {
    const name = str(body.model) || str(body.name);
    if (!name) return ex.json(400, { error: OLLAMA_ERRORS.modelRequired });
    const entry = this.catalogue.visible(name);
    if (!entry) return ex.json(404, { error: OLLAMA_ERRORS.modelNotFound(name) });
    const facts = describeModel(entry.model);
    const parameters = facts.stop.map((s) => `${'stop'.padEnd(30)} ${JSON.stringify(s)}`).join('\n');
    ex.json(200, {
      modelfile: showModelfile(entry.model.name, facts, parameters),
      parameters,
      template: facts.template,
      details: detailsOf(facts),
      model_info: {
        'general.architecture': facts.family,
        'general.basename': baseName(entry.model.name),
        'general.file_type': 15,
        'general.parameter_count': Math.round(Number.parseFloat(facts.parameterSize) * 1e9),
        'general.quantization_version': 2,
        [`${facts.family}.context_length`]: 32768,
      },
      capabilities: facts.capabilities,
      modified_at: new Date(entry.installedAt).toISOString(),
    });
  }

  // --- /api/pull --------------------------------------------------------------------------------------------

  private pull(ex: Exchange, body: Json): void {
    const name = str(body.model) || str(body.name);
    if (!name) return ex.json(400, { error: 'invalid model name' });
    const key = normalizeModelName(name);
    // Pulling an installed model re-verifies it; a name the registry does not know fails after the manifest line.
    const source = this.catalogue.installed.get(key)?.model ?? this.catalogue.pullable.get(key);
    const lines: Json[] = source ? pullProgress(source) : [{ status: 'pulling manifest' }];
    const install = () => source && this.catalogue.install(source);
    const failure = source ? undefined : OLLAMA_ERRORS.pullManifest;

    if (body.stream === false) {
      return ex.after(this.pullStepMs * lines.length, () => {
        if (failure) return ex.json(500, { error: failure });
        install();
        ex.json(200, lines[lines.length - 1]);
      });
    }
    const steps: Step[] = lines.map((line, i) => ({
      delayMs: i === 0 ? 0 : this.pullStepMs,
      run: () => {
        const last = i === lines.length - 1 && !failure;
        if (last) install();
        ex.line(line, last);
      },
    }));
    if (failure) steps.push({ delayMs: this.pullStepMs, run: () => ex.fail(failure) });
    ex.play(steps);
  }

  // --- /api/blobs/:digest and /api/create (ollama-stub-create.ts) --------------------------------------------

  /** HEAD: 200 when stored, else 404. POST: 200 when already stored, else 201 once the body's sha256 is the digest. */
  private blob(req: IncomingMessage, ex: Exchange, raw: string): void {
    const digest = normalizeDigest(raw);
    if (ex.record.method !== 'HEAD' && ex.record.method !== 'POST') return ex.text(405, '405 method not allowed');
    if (!digest) return ex.json(400, { error: CREATE_ERRORS.invalidDigest });
    if (ex.record.method === 'HEAD') return this.blobs.has(digest) ? ex.text(200, '') : ex.json(404, { error: CREATE_ERRORS.blobNotFound(raw) });
    if (this.blobs.has(digest)) return ex.text(200, '');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const bytes = Buffer.concat(chunks);
      const got = sha256Digest(bytes);
      if (got !== digest) return ex.json(400, { error: CREATE_ERRORS.digestMismatch(raw, got) });
      this.blobs.set(digest, bytes);
      ex.text(201, '');
    });
  }

  private create(ex: Exchange, body: Json): void {
    const plan = planCreate(body, {
      version: this.version,
      blobs: this.blobs,
      modelDigest: (name) => {
        const entry = this.catalogue.visible(name);
        return entry && `sha256:${sha256(`weights:${normalizeModelName(entry.model.name)}`)}`;
      },
    });
    if (plan.reject) return ex.json(plan.reject.status, { error: plan.reject.error });
    const install = () => {
      if (!plan.install) return;
      const base = this.catalogue.visible(plan.install.from)!.model;
      this.catalogue.install({ ...base, name: plan.install.name, family: describeModel(base).family });
    };
    if (body.stream === false) {
      return ex.after(this.pullStepMs, () => {
        if (plan.error) return ex.json(500, { error: plan.error });
        install();
        ex.json(200, plan.lines[plan.lines.length - 1]);
      });
    }
    const steps: Step[] = plan.lines.map((line, i) => ({
      delayMs: i === 0 ? 0 : this.pullStepMs,
      run: () => {
        const last = i === plan.lines.length - 1 && !plan.error;
        if (last) install();
        ex.line(line, last);
      },
    }));
    if (plan.error) steps.push({ delayMs: this.pullStepMs, run: () => ex.fail(plan.error!) });
    ex.play(steps);
  }

  // --- /api/generate and /api/chat --------------------------------------------------------------------------

  /** Checks in the order Ollama does: the model exists, it has the capabilities, the scheduler gives it a runner
   *  (queue full, runner crash, or a runner that never comes), then an empty request only loads it. */
  private infer(ex: Exchange, call: InferenceCall, shape: Shape): void {
    if (!call.model) return ex.json(400, { error: OLLAMA_ERRORS.modelRequired });
    const entry = this.catalogue.visible(call.model);
    if (!entry) return ex.json(404, { error: OLLAMA_ERRORS.modelNotFound(call.model) });
    const { model } = entry;
    if (call.topLogprobs < 0 || call.topLogprobs > 20) return ex.json(400, { error: 'top_logprobs must be between 0 and 20' });

    const missing = missingCapability(call, model);
    if (missing) return ex.json(400, { error: missing });
    if (model.fault === 'queue-full') return ex.json(503, { error: OLLAMA_ERRORS.queueFull });
    if (model.fault === 'server-error') return ex.json(500, { error: OLLAMA_ERRORS.runnerTerminated });
    if (model.fault === 'hang') return; // Accepted, never answered: only the client closing ends it.
    if (model.fault === 'close-before-answer') return ex.drop('close');

    if (call.loadOnly) return this.loadOnly(ex, call, shape, model.name);
    this.catalogue.markLoaded(model.name, call.keepAliveMs, call.numCtx);
    const plan = planGeneration(pickAnswer(model, call), call, model.fault);
    const latency = { first: model.latency?.firstTokenMs ?? 0, per: model.latency?.perTokenMs ?? 0 };
    if (call.stream) this.streamAnswer(ex, call, shape, plan, latency);
    else this.wholeAnswer(ex, call, shape, plan, latency);
  }

  /** An empty prompt (generate) or no messages (chat) loads the model and answers done_reason 'load' at once
   *  (keep_alive 0: unloads it, 'unload'). Note that, like Ollama, an empty prompt WITH a suffix is a load too:
   *  a fill-in-the-middle request at the very start of a file gets no text back. */
  private loadOnly(ex: Exchange, call: InferenceCall, shape: Shape, name: string): void {
    if (call.keepAliveMs === 0) {
      this.catalogue.unload(name);
      return ex.json(200, shape.done(call.model, '', 'unload'));
    }
    this.catalogue.markLoaded(name, call.keepAliveMs, call.numCtx);
    ex.json(200, shape.done(call.model, '', 'load'));
  }

  private streamAnswer(ex: Exchange, call: InferenceCall, shape: Shape, plan: Plan, latency: { first: number; per: number }): void {
    const clock = new GenerationClock();
    const promptTokens = estimateTokens(call);
    const sent = plan.failAfter ?? plan.pieces.length;
    const steps: Step[] = plan.pieces.slice(0, sent).map((piece, i) => ({
      delayMs: i === 0 ? latency.first : latency.per,
      run: () => {
        clock.firstTokenAt ??= performance.now();
        const chunk = shape.chunk(call.model, piece.text);
        if (call.logprobs) chunk.logprobs = logprobEntries([piece], call.topLogprobs);
        ex.line(chunk);
      },
    }));
    const lastDelay = sent === 0 ? latency.first : 0;
    if (plan.drop) {
      const how = plan.drop;
      steps.push({ delayMs: Math.max(lastDelay, DROP_AFTER_MS), run: () => ex.drop(how) });
    } else if (plan.failAfter !== undefined) {
      steps.push({ delayMs: lastDelay, run: () => ex.fail(OLLAMA_ERRORS.midStream) });
    } else {
      steps.push({
        delayMs: lastDelay,
        run: () => ex.line(shape.done(call.model, '', plan.doneReason, clock.stats(promptTokens, sent)), true),
      });
    }
    ex.play(steps);
  }

  /** stream:false: the same generation, sent as one object once it is over (a failure becomes a 500). */
  private wholeAnswer(ex: Exchange, call: InferenceCall, shape: Shape, plan: Plan, latency: { first: number; per: number }): void {
    const clock = new GenerationClock();
    const sent = plan.failAfter ?? plan.pieces.length;
    const delay = latency.first + latency.per * Math.max(0, sent - 1);
    ex.after(delay, () => {
      // Nothing of a whole answer is sent before its end: a dropped connection drops it all.
      if (plan.drop) return ex.drop(plan.drop);
      if (plan.failAfter !== undefined) return ex.json(500, { error: OLLAMA_ERRORS.midStream });
      clock.firstTokenAt = clock.start + latency.first;
      const text = plan.pieces.map((p) => p.text).join('');
      const body = shape.done(call.model, text, plan.doneReason, clock.stats(estimateTokens(call), sent));
      if (call.logprobs) body.logprobs = logprobEntries(plan.pieces, call.topLogprobs);
      ex.json(200, body);
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers for the server
// ---------------------------------------------------------------------------------------------------------------

/** The first capability the request needs and the model lacks, worded as Ollama words it. */
function missingCapability(call: InferenceCall, model: StubModel): string | undefined {
  const capabilities = capabilitiesOf(model);
  if (!capabilities.includes('completion')) return OLLAMA_ERRORS.noCompletion(call.model, call.endpoint);
  if (call.think && !capabilities.includes('thinking')) return OLLAMA_ERRORS.noThinking(call.model);
  // Ollama asks for the insert capability whenever a suffix is sent, raw or not.
  if (call.sentSuffix !== '' && (!capabilities.includes('insert') || model.fault === 'no-insert')) return OLLAMA_ERRORS.noInsert(model.name);
  if (call.tools && !capabilities.includes('tools')) return OLLAMA_ERRORS.noTools(model.name);
  return undefined;
}

function readBody(req: IncomingMessage, done: (raw: string) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => done(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
}

/** pulling manifest → each layer's progress (0, ⅓, ⅔, all) → verifying → writing manifest → success. */
function pullProgress(model: StubModel): Json[] {
  const facts = describeModel(model);
  const layers = [
    { digest: sha256(`weights:${normalizeModelName(model.name)}`), total: facts.size },
    { digest: sha256(`template:${facts.template}`), total: Buffer.byteLength(facts.template) },
  ];
  const lines: Json[] = [{ status: 'pulling manifest' }];
  for (const { digest, total } of layers) {
    for (const fraction of [0, 1 / 3, 2 / 3, 1]) {
      const completed = Math.round(total * fraction);
      // Ollama omits completed while it is 0 (omitempty).
      lines.push({ status: `pulling ${digest.slice(0, 12)}`, digest: `sha256:${digest}`, total, ...(completed ? { completed } : {}) });
    }
  }
  lines.push({ status: 'verifying sha256 digest' }, { status: 'writing manifest' }, { status: 'success' });
  return lines;
}

function showModelfile(name: string, facts: ModelFacts, parameters: string): string {
  return [
    '# Modelfile generated by "ollama show"',
    '# To build a new Modelfile based on this, replace FROM with:',
    `# FROM ${name}`,
    '',
    `FROM /root/.ollama/models/blobs/sha256-${sha256(`weights:${normalizeModelName(name)}`)}`,
    `TEMPLATE """${facts.template}"""`,
    parameters.replace(/^stop\s+/gm, 'PARAMETER stop '),
    '',
  ].join('\n');
}

/** One line about a recorded request, for failure messages and logs. */
export function describeRequest(r: RecordedRequest): string {
  const state = r.aborted ? 'aborted' : r.completed ? 'completed' : r.endedAt === undefined ? 'open' : 'ended';
  const took = r.endedAt === undefined ? '' : ` ${(r.endedAt - r.startedAt).toFixed(1)}ms`;
  return `#${r.id} ${r.method} ${r.path}${r.model ? ` model=${r.model}` : ''} status=${r.status ?? '-'} chunks=${r.chunksSent} ${state}${took}`;
}
