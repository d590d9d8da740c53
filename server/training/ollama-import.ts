/**
 * An adapter into Ollama, as `ollama create` with `FROM base` and `ADAPTER adapter.gguf` does it over the API: the
 * base is asked for (`/api/show`: 404 means it is not pulled), the file goes up as a blob (`HEAD
 * /api/blobs/:digest`, `POST` only when missing), and `/api/create` with `from` and `adapters` streams its progress.
 * Each failure is an ImportError whose message says what to do.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { AdapterFile } from './adapter-file.js';
import { sha256File } from './adapter-file.js';

export class ImportError extends Error {}

export interface OllamaImport {
  readonly host: string;
  readonly base: string;
  readonly name: string;
  readonly adapter: AdapterFile;
  /** Each progress line (for stderr). */
  readonly progress: (line: string) => void;
}

export interface OllamaImportResult {
  readonly digest: string;
  /** False when Ollama had the blob already. */
  readonly uploaded: boolean;
}

/** Ollama 0.34.1 removed LoRA adapters; its message for a create with `adapters`. */
const ADAPTERS_REMOVED = /LoRA adapters are no longer supported/i;

export async function importToOllama(job: OllamaImport): Promise<OllamaImportResult> {
  const { host, base, name, adapter, progress } = job;
  const version = await call(host, '/api/version', { method: 'GET' });
  const versionText = ((await version.json().catch(() => ({}))) as { version?: string }).version ?? 'unknown';

  const show = await call(host, '/api/show', { method: 'POST', body: JSON.stringify({ model: base }) });
  if (show.status === 404) throw new ImportError(`The base model ${base} is not on the Ollama server at ${host}: pull it with \`ollama pull ${base}\` (\`ollama list\` shows what is there), then import again.`);
  if (!show.ok) throw new ImportError(`Ollama at ${host} could not show ${base}: ${await errorOf(show)}`);
  const info = (await show.json()) as { model_info?: Record<string, unknown> };
  const baseArchitecture = info.model_info?.['general.architecture'];
  if (typeof baseArchitecture === 'string' && adapter.architecture && baseArchitecture !== adapter.architecture) {
    throw new ImportError(`${adapter.path} adapts a ${adapter.architecture} model, but ${base} is ${baseArchitecture}: pass the base model the adapter was trained on as --base.`);
  }

  const digest = await sha256File(adapter.path);
  const blobPath = `/api/blobs/${digest}`;
  const head = await call(host, blobPath, { method: 'HEAD' });
  let uploaded = false;
  if (head.status === 404) {
    progress(`uploading ${adapter.path} (${(adapter.bytes / 1e6).toFixed(1)} MB, ${digest.slice(0, 19)}…)`);
    const body = Readable.toWeb(createReadStream(adapter.path)) as ReadableStream<Uint8Array>;
    const post = await call(host, blobPath, { method: 'POST', body, duplex: 'half' } as RequestInit);
    if (!post.ok) throw new ImportError(`Ollama at ${host} refused the adapter upload: ${await errorOf(post)}`);
    uploaded = true;
  } else if (head.ok) {
    progress(`the adapter is on the server already (${digest.slice(0, 19)}…)`);
  } else {
    throw new ImportError(`Ollama at ${host} answered ${head.status} to HEAD ${blobPath}`);
  }

  const create = await call(host, '/api/create', {
    method: 'POST',
    body: JSON.stringify({ model: name, from: base, adapters: { 'adapter.gguf': digest }, stream: true }),
  });
  if (!create.ok) {
    const error = await errorOf(create);
    if (ADAPTERS_REMOVED.test(error)) {
      throw new ImportError(`This Ollama (version ${versionText}) no longer accepts LoRA adapters (removed in Ollama 0.34.1): serve the adapter with llama.cpp instead (\`xencode adapter import --provider llama.cpp --base BASE.gguf --adapter ${adapter.path} --name ${name}\`), or use an Ollama older than 0.34.1.`);
    }
    throw new ImportError(`Ollama at ${host} could not create ${name}: ${error}`);
  }
  let last = '';
  for await (const line of ndjson(create)) {
    if (typeof line.error === 'string') throw new ImportError(`Ollama at ${host} could not create ${name} from ${base}: ${line.error}`);
    if (typeof line.status === 'string') {
      last = line.status;
      progress(last);
    }
  }
  if (last !== 'success') throw new ImportError(`Ollama at ${host} stopped creating ${name} before it succeeded (last status: ${last || 'none'}); run the import again.`);
  return { digest, uploaded };
}

/** A request to Ollama; a connection failure becomes an ImportError naming the host and what to run. */
async function call(host: string, path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(`${host}${path}`, { ...init, headers: typeof init.body === 'string' ? { 'content-type': 'application/json' } : undefined });
  } catch (err) {
    const code = codeOf(err);
    const why = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' ? 'no such host' : (code ?? (err as Error).message);
    throw new ImportError(`Cannot reach Ollama at ${host} (${why}). Start it with \`ollama serve\`, or point --host / OLLAMA_HOST at your server.`);
  }
}

function codeOf(err: unknown): string | undefined {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (typeof e.code === 'string') return e.code;
  return undefined;
}

async function errorOf(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    return (JSON.parse(text) as { error?: string }).error ?? `HTTP ${res.status}`;
  } catch {
    return text.trim() || `HTTP ${res.status}`;
  }
}

async function* ndjson(res: Response): AsyncGenerator<Record<string, unknown>> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line) yield JSON.parse(line) as Record<string, unknown>;
    }
  }
  if (pending.trim()) yield JSON.parse(pending) as Record<string, unknown>;
}
