import { type ModelSetting, PROVIDERS, type Settings, validateSettings } from '../config.js';
import { languageFor, type SyntaxLanguage } from '../documents/syntax.js';
import { languageNames, promptMessages } from '../engine/actions/prompts.js';
import { type Logger, silentLogger } from '../log.js';
import { BackendError, type BackendEnvironment, type CompletionBackend } from '../models/backend.js';
import { createBackend } from '../models/registry.js';
import { domainOrder, SYNTH_DOMAINS } from './synth-domains.js';
import { checkPair, DROP_REASONS, type DpoRow, type DropReason, extractPair, pairKey, pairRow, type SftRow, type SynthTask } from './synth-pair.js';

/**
 * `xencode dataset synth`: asks the chat models for code-task pairs (prompts/synth-<task>.md, one topic per request
 * in the seed's order, the models in turn), keeps the pairs whose code parses and differs, once each, and turns
 * them into training rows with the code action's own prompt. Stops at `count` kept pairs or after `maxAttempts`
 * requests. A model that cannot be reached (or does not exist, or refuses the key) ends the run with its message.
 */

export type SynthFormat = 'sft' | 'dpo';

export interface SynthOptions {
  readonly task: SynthTask;
  /** Pairs wanted. */
  readonly count: number;
  /** The LSP languageId of the code asked for (typescript, python, …). */
  readonly languageId: string;
  readonly format: SynthFormat;
  /** Decides the order of the topics: the same seed asks for the same topics in the same order. */
  readonly seed: number;
  /** Asked in turn, one request at a time. */
  readonly models: readonly ModelSetting[];
  readonly settings: Pick<Settings, 'ollama' | 'llamaCpp'>;
  /** Requests at most (default: 4 per pair wanted). */
  readonly maxAttempts?: number;
  /** Topics (default SYNTH_DOMAINS). */
  readonly domains?: readonly string[];
  /** Per answer (default 1536: two functions of 40 lines and the labels). */
  readonly maxTokens?: number;
  /** Default 0.7: some variety between answers to the same topic. */
  readonly temperature?: number;
  /** One request's limit (default 120 s, the code actions' default). */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly logger?: Logger;
  /** After each request: what became of its answer. */
  readonly onAttempt?: (attempt: SynthAttempt) => void;
}

export interface SynthAttempt {
  /** 1-based. */
  readonly index: number;
  readonly domain: string;
  readonly model: string;
  readonly outcome: 'kept' | DropReason;
  /** modelError: the model's message. */
  readonly message?: string;
}

export interface SynthSummary {
  readonly task: SynthTask;
  readonly language: string;
  readonly format: SynthFormat;
  readonly seed: number;
  /** Pairs asked for (count). */
  readonly asked: number;
  /** Requests sent. */
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly kept: number;
  readonly dropped: Record<DropReason, number>;
  /** False when the language has no grammar here: pairs were not checked for syntax errors. */
  readonly syntaxChecked: boolean;
  readonly models: readonly string[];
}

export interface SynthResult {
  readonly rows: (SftRow | DpoRow)[];
  readonly summary: SynthSummary;
  /** Why the run stopped early: a model's BackendError message (unreachable, no such model, refused key). */
  readonly problem?: string;
}

/** Errors that every later request would repeat: the run stops at once with the message. */
const FATAL = new Set(['unreachable', 'model-not-found', 'unauthorized', 'wrong-provider', 'bad-request']);

export async function synthesize(options: SynthOptions): Promise<SynthResult> {
  const { task, languageId, format, count } = options;
  const maxAttempts = options.maxAttempts ?? count * 4;
  const syntax: SyntaxLanguage | undefined = languageFor(languageId, '');
  const domains = domainOrder(options.seed, options.domains ?? SYNTH_DOMAINS);
  const environment: BackendEnvironment = {
    logger: options.logger ?? silentLogger,
    notify: (severity, message) => (severity === 'warn' ? (options.logger ?? silentLogger).warn(message) : undefined),
    env: options.env ?? process.env,
  };
  const backends: CompletionBackend[] = options.models.map((model) => createBackend(model, options.settings, environment));
  const dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  const rows: (SftRow | DpoRow)[] = [];
  const seen = new Set<string>();
  const { name, fence } = languageNames(languageId);
  let attempts = 0;
  let problem: string | undefined;
  try {
    while (rows.length < count && attempts < maxAttempts && backends.length > 0) {
      const domain = domains[attempts % domains.length]!;
      const backend = backends[attempts % backends.length]!;
      attempts++;
      let outcome: 'kept' | DropReason;
      let message: string | undefined;
      try {
        const answer = await backend.chat({
          messages: promptMessages(`synth-${task}`, { language: name, fence, domain }),
          maxTokens: options.maxTokens ?? 1536,
          temperature: options.temperature ?? 0.7,
          signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
        });
        const pair = extractPair(answer.text, task, languageId);
        const rejected = pair ? checkPair(pair, task, syntax) : 'noCode';
        const key = pair && !rejected ? pairKey(pair, syntax) : undefined;
        outcome = rejected ?? (seen.has(key!) ? 'duplicate' : 'kept');
        if (outcome === 'kept') {
          seen.add(key!);
          rows.push(pairRow(pair!, task, languageId, format));
        }
      } catch (err) {
        if (!(err instanceof BackendError)) throw err;
        if (FATAL.has(err.kind)) {
          problem = err.message;
          break;
        }
        outcome = 'modelError';
        message = err.message;
      }
      if (outcome !== 'kept') dropped[outcome]++;
      options.onAttempt?.({ index: attempts, domain, model: backend.model, outcome, ...(message ? { message } : {}) });
    }
  } finally {
    await Promise.all(backends.map((b) => b.close?.()));
  }
  const summary: SynthSummary = {
    task,
    language: languageId,
    format,
    seed: options.seed,
    asked: count,
    attempts,
    maxAttempts,
    kept: rows.length,
    dropped,
    syntaxChecked: syntax !== undefined,
    models: backends.map((b) => b.model),
  };
  return { rows, summary, ...(problem !== undefined ? { problem } : {}) };
}

/** The summary as the command prints it on stderr: what was kept and dropped, and why it fell short. */
export function formatSummary(summary: SynthSummary): string[] {
  const reasons = DROP_REASONS.filter((r) => summary.dropped[r] > 0).map((r) => `${summary.dropped[r]} ${DROP_LABELS[r]}`);
  const lines = [
    `kept ${summary.kept} of ${summary.asked} ${summary.task} pairs asked for (${summary.language}, ${summary.format}) after ${summary.attempts} request${summary.attempts === 1 ? '' : 's'}` +
      (reasons.length > 0 ? `; dropped: ${reasons.join(', ')}` : ''),
  ];
  if (!summary.syntaxChecked) lines.push(`no grammar for ${summary.language} here: the code was not checked for syntax errors`);
  if (summary.kept < summary.asked && summary.attempts >= summary.maxAttempts) {
    lines.push(`fell short by ${summary.asked - summary.kept}: the limit is ${summary.maxAttempts} requests (--max-attempts); try another --seed or a stronger chat model`);
  }
  return lines;
}

const DROP_LABELS: Readonly<Record<DropReason, string>> = {
  noCode: 'without the two labelled code blocks',
  syntaxError: 'with syntax errors',
  unchanged: 'unchanged (same tokens)',
  duplicate: 'duplicates',
  modelError: 'model errors',
};

export interface ModelChoice {
  /** Model names; none: the default model. */
  readonly models: readonly string[];
  readonly provider?: string;
  readonly host?: string;
  readonly baseUrl?: string;
  readonly apiKeyEnv?: string;
}

/**
 * The models and server settings from the command's options, validated as the editor's settings are (there is no
 * settings file): each --model on --provider at --host or --base-url; no --model: the default model on OLLAMA_HOST.
 * `warnings`: problems that fell back to a default (a bad OLLAMA_HOST); `problem`: one that leaves no model to ask.
 */
export function synthSettings(choice: ModelChoice, env: NodeJS.ProcessEnv = process.env): { settings: Settings; warnings: string[] } | { problem: string } {
  const { provider, host, baseUrl, apiKeyEnv } = choice;
  if (provider !== undefined && !(PROVIDERS as readonly string[]).includes(provider)) return { problem: `--provider must be ${PROVIDERS.join(', ')} (got ${provider})` };
  if (provider === 'openai' && baseUrl === undefined) return { problem: '--provider openai needs --base-url, the server\'s OpenAI URL ending in /v1 (e.g. http://gpu-box:8000/v1)' };
  if (provider !== 'openai' && baseUrl !== undefined) return { problem: '--base-url is for --provider openai; an Ollama or llama.cpp server takes --host' };
  if (provider === 'openai' && host !== undefined) return { problem: '--host is for Ollama and llama.cpp servers; --provider openai takes --base-url' };
  if (choice.models.length === 0 && (provider !== undefined || baseUrl !== undefined || apiKeyEnv !== undefined)) return { problem: 'name the model with --model NAME' };
  const raw: Record<string, unknown> = {};
  if (choice.models.length > 0) {
    raw.models = choice.models.map((name) => ({ name, provider, host, baseUrl, apiKeyEnv }));
  } else if (host !== undefined) {
    raw.ollama = { host };
  }
  const { settings, problems } = validateSettings(raw, env);
  // Settings fall back to defaults on a bad value; a command must not quietly ask another model or server.
  const fatal = problems.filter((p) => !p.startsWith('OLLAMA_HOST'));
  if (fatal.length > 0) return { problem: fatal.map((p) => p.replace(/^xencode\.models\[\d+\]\./, '').replace(/^xencode\.ollama\.host/, '--host')).join('; ') };
  return { settings, warnings: problems.filter((p) => p.startsWith('OLLAMA_HOST')) };
}
