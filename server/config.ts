import { z } from 'zod';
import { DEFAULT_OLLAMA_PORT, modelIdentity, modelSchema, normalizeHost, ollamaHostSchema, type ModelSetting } from './config-models.js';

export { DEFAULT_OLLAMA_PORT, normalizeHost, modelLocations, modelIdentity, PROVIDERS, type Provider, type ModelSetting } from './config-models.js';

/**
 * The settings schema, defaults and validation. Settings arrive as `initializationOptions.xencode` and as the
 * `xencode` section of `workspace/configuration`. A bad value is reported by its key and replaced by its default;
 * nothing here throws.
 */

export const DEFAULT_MODEL = 'qwen2.5-coder:1.5b-base';
export const ENSEMBLE_METHODS = ['hybrid', 'vote', 'weighted', 'consensus', 'auto'] as const;
/** The methods `auto` chooses among (per language, by what the user keeps). */
export const FIXED_METHODS = ['hybrid', 'vote', 'weighted', 'consensus'] as const;
export type FixedMethod = (typeof FIXED_METHODS)[number];

function settingsSchema(defaultHost: string) {
  return z
    .object({
      ollama: z
        .object({
          host: ollamaHostSchema.default(defaultHost),
          keepAlive: z.string().min(1).default('30m'),
        })
        .strict()
        .default({}),
      models: z
        .array(modelSchema)
        .min(1)
        .default([{ name: DEFAULT_MODEL }]),
      ensemble: z
        .object({
          method: z.enum(ENSEMBLE_METHODS).default('hybrid'),
          deadlineMs: z.number().int().min(50).max(120_000).default(2000),
          samples: z.number().int().min(1).max(16).default(1),
          /** Token-level ROVER fusion on top of the method's pick. */
          rover: z.boolean().default(false),
        })
        .strict()
        .default({}),
      completion: z
        .object({
          maxTokens: z.number().int().min(1).max(4096).default(128),
          debounceMs: z.number().int().min(0).max(5000).default(0),
          contextChars: z.number().int().min(200).max(200_000).default(6000),
          /** Popup-only clients: answer textDocument/completion within this; a slower answer shows on the next
           *  trigger (0: wait for the ensemble's deadline). */
          popupWaitMs: z.number().int().min(0).max(120_000).default(400),
        })
        .strict()
        .default({}),
      cache: z
        .object({
          enabled: z.boolean().default(true),
          maxEntries: z.number().int().min(0).max(10_000_000).default(50_000),
        })
        .strict()
        .default({}),
      feedback: z
        .object({
          /** Record every shown completion and what became of it (the data directory's LMDB, never sent anywhere). */
          enabled: z.boolean().default(true),
          /** 'noCode' keeps outcomes and timings and drops all code (prompts, candidates, kept text). */
          level: z.enum(['full', 'noCode']).default('full'),
          /** Records kept at most, oldest removed first. */
          maxEvents: z.number().int().min(100).max(10_000_000).default(100_000),
          /** Records older than this are removed. */
          maxDays: z.number().int().min(1).max(3650).default(90),
          /** Learned weights (and `auto`'s method) are used once a language has this many labelled records. */
          minRecords: z.number().int().min(1).max(100_000).default(20),
        })
        .strict()
        .default({}),
      actions: z
        .object({
          /** Models asked for code actions and hovers (through chat); empty: the completion models. */
          models: z.array(modelSchema).default([]),
          maxTokens: z.number().int().min(16).max(32_768).default(2048),
          /** A code action's models are aborted after this long; the action reports that they were too slow. */
          timeoutMs: z.number().int().min(1000).max(600_000).default(120_000),
          /** Code around the target the models see (before and after it, each), besides imports and headers. */
          contextChars: z.number().int().min(0).max(200_000).default(3000),
        })
        .strict()
        .default({}),
      llamaCpp: z
        .object({
          /** The llama-server binary for models with `gguf`; default: llama-server on PATH. */
          serverPath: z.string().min(1).optional(),
          /** Tokens of context per slot of a managed llama-server. */
          contextSize: z.number().int().min(256).max(1_048_576).default(4096),
          /** Threads of a managed llama-server; default: derived from the machine's cores. */
          threads: z.number().int().min(1).max(1024).optional(),
          /** More arguments for a managed llama-server (e.g. ["-ngl", "99"] to offload to a GPU). */
          args: z.array(z.string()).default([]),
        })
        .strict()
        .default({}),
      hover: z
        .object({
          enabled: z.boolean().default(true),
          /** No answer by then: the hover shows nothing (the answer still arrives in the cache for the next hover). */
          deadlineMs: z.number().int().min(50).max(120_000).default(4000),
          maxTokens: z.number().int().min(16).max(4096).default(300),
        })
        .strict()
        .default({}),
    })
    .strict();
}

export type Settings = z.output<ReturnType<typeof settingsSchema>>;

/** The top-level setting names (`ollama`, `models`, …, `actions`, `hover`), from the schema itself. */
export const SETTING_SECTIONS: readonly string[] = Object.keys(settingsSchema(`http://127.0.0.1:${DEFAULT_OLLAMA_PORT}`).shape);

/** The models that answer code actions and hovers: `actions.models`, else the completion models. */
export function actionModels(settings: Settings): readonly ModelSetting[] {
  return settings.actions.models.length > 0 ? settings.actions.models : settings.models;
}

/** A fingerprint of what changes a hover's text: its models (with weights) and its token budget. */
export function hoverFingerprint(settings: Settings): string {
  return JSON.stringify([actionModels(settings).map((m) => [modelIdentity(m, settings.ollama.host), m.weight]), settings.hover.maxTokens, settings.actions.contextChars]);
}

export interface SettingsResult {
  settings: Settings;
  /** One line per problem, naming the key (`xencode.completion.maxTokens`), what was wrong and what is used. */
  problems: string[];
}

/** The host used when settings name none: `OLLAMA_HOST` if set and valid, else Ollama's default. */
export function defaultHost(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.OLLAMA_HOST?.trim();
  if (fromEnv) {
    try {
      return normalizeHost(fromEnv);
    } catch {
      /* reported by validateSettings through the ollama.host key when used */
    }
  }
  return `http://127.0.0.1:${DEFAULT_OLLAMA_PORT}`;
}

/** Validates raw settings; every invalid or unknown key is reported and falls back to its default. */
export function validateSettings(raw: unknown, env: NodeJS.ProcessEnv = process.env): SettingsResult {
  const schema = settingsSchema(defaultHost(env));
  const problems: string[] = [];
  const envHost = env.OLLAMA_HOST?.trim();
  if (envHost) {
    try {
      normalizeHost(envHost);
    } catch {
      problems.push(`OLLAMA_HOST="${envHost}" is not a host; using ${defaultHost({})}`);
    }
  }
  let input: unknown = Array.isArray(raw) && raw.length === 0 ? {} : (raw ?? {});
  if (typeof input !== 'object' || Array.isArray(input)) {
    problems.push(`xencode settings must be an object, got ${describe(input)}; using the defaults`);
    input = {};
  }
  input = structuredClone(input);
  emptyArraysAsObjects(input as Record<string, unknown>);
  // Each round removes the offending values; bounded because every round removes at least one key.
  for (let round = 0; round < 64; round++) {
    const result = schema.safeParse(input);
    if (result.success) return { settings: result.data, problems };
    // One issue per round: removing an array element shifts the paths of the issues after it.
    const issue = result.error.issues[0]!;
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      for (const key of issue.keys) {
        const hint = /^(api_?key|key|token|secret)$/i.test(key) ? ': never put a key in settings; put it in an environment variable and name that in apiKeyEnv' : '';
        problems.push(`unknown setting ${keyName([...issue.path, key])} (ignored${hint})`);
        removeAt(input, [...issue.path, key]);
      }
    } else {
      const current = valueAt(input, issue.path);
      // A required key that is missing cannot be removed: drop the entry that needs it (e.g. a model without a name).
      const target = current === undefined ? issue.path.slice(0, -1) : issue.path;
      const inList = typeof target[target.length - 1] === 'number';
      // A value given where a variable's name belongs may be the key itself: never repeat it.
      const shown = issue.path[issue.path.length - 1] === 'apiKeyEnv' ? 'a value, not shown' : describe(current);
      problems.push(`${keyName(issue.path)}: ${issue.message} (got ${shown}); ${inList ? 'that entry is ignored' : 'using the default'}`);
      removeAt(input, target);
    }
  }
  problems.push('xencode settings could not be validated; using the defaults');
  return { settings: schema.parse({}), problems };
}

/**
 * Lua (Neovim) encodes an empty table as `[]`: an empty array where an object belongs means an empty object, at
 * any depth. Arrays that hold values (`models`) are left alone.
 */
/** Settings whose value is a list (`models`, `actions.models`, `llamaCpp.args`, a model's `hosts`/`baseUrls`): an empty one stays a list. */
const ARRAY_SETTINGS: ReadonlySet<string> = new Set(['models', 'args', 'hosts', 'baseUrls']);

function emptyArraysAsObjects(record: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(record)) {
    if (ARRAY_SETTINGS.has(key)) continue;
    if (Array.isArray(value) && value.length === 0) record[key] = {};
    else if (value && typeof value === 'object' && !Array.isArray(value)) emptyArraysAsObjects(value as Record<string, unknown>);
  }
}

export const DEFAULT_SETTINGS: Settings = validateSettings({}, {}).settings;

function keyName(path: (string | number)[]): string {
  return ['xencode', ...path].map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '').replace(/\.\[/g, '[');
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text && text.length > 60 ? text.slice(0, 57) + '...' : String(text);
}

function valueAt(root: unknown, path: (string | number)[]): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** Deletes the value at `path`; an array element is removed, or the whole array when it would become empty. */
function removeAt(root: unknown, path: (string | number)[]): void {
  if (path.length === 0) return;
  const parent = valueAt(root, path.slice(0, -1));
  const key = path[path.length - 1];
  if (Array.isArray(parent) && typeof key === 'number') {
    parent.splice(key, 1);
    if (parent.length === 0) removeAt(root, path.slice(0, -1));
    return;
  }
  if (parent !== null && typeof parent === 'object') delete (parent as Record<string | number, unknown>)[key];
}

/**
 * A fingerprint of the settings that change a completion's text (models, method, options), for cache keys.
 * Debounce, cache and feedback settings do not change the answer and are left out.
 */
export function answerFingerprint(settings: Settings): string {
  return JSON.stringify([
    settings.models.map((m) => [modelIdentity(m, settings.ollama.host), m.weight]),
    // concurrency changes how fast, not what: left out.
    settings.ensemble,
    settings.completion.maxTokens,
    settings.completion.contextChars,
  ]);
}
