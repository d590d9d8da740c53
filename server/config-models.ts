import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';

/**
 * The `models[]` entries of the settings: which server each model is on (provider, host or base URL, replicas, a
 * GGUF file Xencode serves itself) and how it is weighed. Part of config.ts's schema; kept apart because it is
 * the one part that knows the providers.
 */

export const PROVIDERS = ['ollama', 'llama.cpp', 'openai'] as const;
export type Provider = (typeof PROVIDERS)[number];
export const DEFAULT_OLLAMA_PORT = 11434;
/** llama-server's documented port (its built-in default differs by build; 8080 is what its docs and users use). */
export const DEFAULT_LLAMA_CPP_PORT = 8080;
/** FIM template families a model may name when its name does not say (fim-templates.ts has the formats). */
export const FIM_FAMILIES = ['qwen2.5-coder', 'starcoder2', 'codellama', 'deepseek-coder', 'codegemma', 'codestral'] as const;

/**
 * Accepts what users put in OLLAMA_HOST or a host setting: `host`, `host:port`, `http://host`, `https://host:port/`.
 * A plain http URL without a port gets the provider's default port.
 */
export function normalizeHost(raw: string, defaultPort = DEFAULT_OLLAMA_PORT): string {
  let host = raw.trim().replace(/\/+$/, '');
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) host = `http://${host}`;
  const url = new URL(host);
  // 0.0.0.0 is what a server binds to, not an address to connect to.
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  if (!url.port && url.protocol === 'http:' && !/:\d+$/.test(host)) url.port = String(defaultPort);
  return url.toString().replace(/\/+$/, '');
}

function checkUrl(value: string, ctx: z.RefinementCtx, example: string, normalize: (v: string) => string): void {
  try {
    const url = new URL(normalize(value));
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
  } catch {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${value}" is not a URL (expected e.g. ${example})` });
  }
}

/** A server root as users write it; normalised once the provider (and so the default port) is known. */
const hostField = z.string().min(1).superRefine((v, ctx) => checkUrl(v, ctx, 'http://127.0.0.1:8080', (s) => normalizeHost(s)));
/** An OpenAI base URL, kept as written but for trailing slashes. */
const baseUrlField = z
  .string()
  .min(1)
  .superRefine((v, ctx) => checkUrl(v, ctx, 'http://gpu-box:8000/v1', (s) => s))
  .transform((v) => v.trim().replace(/\/+$/, ''));

/** The host field of the top-level `ollama` section (Ollama's default port). */
export const ollamaHostSchema = z
  .string()
  .min(1)
  .superRefine((v, ctx) => checkUrl(v, ctx, `http://127.0.0.1:${DEFAULT_OLLAMA_PORT}`, (s) => normalizeHost(s)))
  .transform((v) => normalizeHost(v));

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function expandPath(path: string): string {
  return path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

const rawModelSchema = z
  .object({
    name: z.string().min(1),
    provider: z.enum(PROVIDERS).optional(),
    /** The server's root URL (ollama, llama.cpp). */
    host: hostField.optional(),
    /** More servers of the same model (replicas), besides `host`. */
    hosts: z.array(hostField).min(1).optional(),
    /** The OpenAI URL, ending in /v1 (openai). */
    baseUrl: baseUrlField.optional(),
    baseUrls: z.array(baseUrlField).min(1).optional(),
    /** The NAME of the environment variable that holds the API key; never the key. */
    apiKeyEnv: z
      .string()
      .regex(ENV_NAME, 'must name an environment variable (e.g. OPENAI_API_KEY) that holds the key, never the key itself')
      .optional(),
    /** A GGUF file Xencode serves itself with a llama-server it starts (provider llama.cpp). */
    gguf: z
      .string()
      .min(1)
      .transform(expandPath)
      .refine((p) => isAbsolute(p), 'must be an absolute path (or start with ~/) to a .gguf file')
      .optional(),
    /** The FIM format, when the model's name does not say which family it is. */
    fimTemplate: z.enum(FIM_FAMILIES).optional(),
    weight: z.number().positive().finite().default(1),
    /** Requests sent to this model at once; default: the server's slot count where it says (llama-server), else 1. */
    concurrency: z.number().int().min(1).max(64).optional(),
  })
  .strict();

type RawModel = z.output<typeof rawModelSchema>;

/** The fields that do not belong to the model's provider, with what to use instead. */
function misplaced(m: RawModel, provider: Provider): [keyof RawModel, string][] {
  const found: [keyof RawModel, string][] = [];
  const onOpenAI = provider === 'openai';
  if (onOpenAI && m.host !== undefined) found.push(['host', 'is for Ollama and llama.cpp servers; an OpenAI-compatible server takes baseUrl (ending in /v1)']);
  if (onOpenAI && m.hosts !== undefined) found.push(['hosts', 'is for Ollama and llama.cpp servers; list OpenAI-compatible replicas in baseUrls']);
  if (!onOpenAI && m.baseUrl !== undefined) found.push(['baseUrl', `is for provider "openai"; a ${provider} server takes host (its root URL)`]);
  if (!onOpenAI && m.baseUrls !== undefined) found.push(['baseUrls', `is for provider "openai"; list ${provider} replicas in hosts`]);
  if (provider === 'ollama' && m.apiKeyEnv !== undefined) found.push(['apiKeyEnv', 'is for llama.cpp and OpenAI-compatible servers; Ollama takes no key']);
  if (m.gguf !== undefined && provider !== 'llama.cpp') found.push(['gguf', `is served by a llama-server Xencode starts: use provider "llama.cpp" (not "${provider}")`]);
  if (m.gguf !== undefined && provider === 'llama.cpp') {
    if (m.host !== undefined) found.push(['host', 'is not used with gguf: Xencode runs its own llama-server for the file (remove host, or gguf to use a running server)']);
    if (m.hosts !== undefined) found.push(['hosts', 'is not used with gguf: Xencode runs one llama-server for the file']);
  }
  return found;
}

/** A model entry: a name, or an object; `gguf` without a provider means llama.cpp. */
export const modelSchema = z
  .preprocess((v) => (typeof v === 'string' ? { name: v } : v), rawModelSchema)
  .superRefine((m, ctx) => {
    const provider = m.provider ?? (m.gguf !== undefined ? 'llama.cpp' : 'ollama');
    for (const [key, message] of misplaced(m, provider)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message });
    if (provider === 'openai' && m.baseUrl === undefined && m.baseUrls === undefined)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['baseUrl'], message: 'provider "openai" needs baseUrl, the server\'s OpenAI URL ending in /v1 (e.g. http://gpu-box:8000/v1)' });
  })
  .transform((m) => {
    const provider: Provider = m.provider ?? (m.gguf !== undefined ? 'llama.cpp' : 'ollama');
    const port = provider === 'llama.cpp' ? DEFAULT_LLAMA_CPP_PORT : DEFAULT_OLLAMA_PORT;
    const { host, hosts, ...rest } = m;
    return {
      ...rest,
      provider,
      ...(host !== undefined ? { host: normalizeHost(host, port) } : {}),
      ...(hosts !== undefined ? { hosts: hosts.map((h) => normalizeHost(h, port)) } : {}),
    };
  });

export type ModelSetting = z.output<typeof modelSchema>;

/**
 * Where a model is served: the server roots (ollama, llama.cpp) or OpenAI base URLs of its replicas, in order,
 * without repeats; empty for a GGUF file Xencode serves itself. `ollamaHost`: the default for Ollama models.
 */
export function modelLocations(model: ModelSetting, ollamaHost: string): string[] {
  if (model.gguf !== undefined) return [];
  const listed =
    model.provider === 'openai'
      ? [model.baseUrl, ...(model.baseUrls ?? [])]
      : [model.host ?? (model.hosts ? undefined : model.provider === 'llama.cpp' ? `http://127.0.0.1:${DEFAULT_LLAMA_CPP_PORT}` : ollamaHost), ...(model.hosts ?? [])];
  return [...new Set(listed.filter((l): l is string => l !== undefined))];
}

/** What identifies a model's answers: its provider, name and where it runs (the file, or its replicas). */
export function modelIdentity(model: ModelSetting, ollamaHost: string): string {
  return `${model.provider}:${model.name}@${model.gguf ?? modelLocations(model, ollamaHost).join(',')}`;
}
