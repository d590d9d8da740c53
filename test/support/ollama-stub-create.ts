/**
 * The Ollama stand-in's model creation: blobs (`HEAD`/`POST /api/blobs/:digest`) and `POST /api/create` with `from`
 * and `adapters`, as Ollama's server/routes.go and server/create.go answer them: blobs are stored by digest and a
 * body whose sha256 is not the digest is refused; create streams `{"status": …}` lines, and its failures after the
 * stream started are `{"error": …}` lines in the 200 stream. Ollama 0.34.1 removed LoRA adapters: from that version
 * on, a create with `adapters` is a 400 "LoRA adapters are no longer supported".
 */
import { createHash } from 'node:crypto';

type Json = Record<string, unknown>;

export const CREATE_ERRORS = {
  invalidDigest: 'invalid digest format',
  blobNotFound: (digest: string) => `blob ${JSON.stringify(digest)} not found`,
  digestMismatch: (expected: string, got: string) => `digest mismatch, expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`,
  adaptersRemoved: 'LoRA adapters are no longer supported',
  invalidName: 'invalid model name',
  neitherFromNorFiles: "neither 'from' or 'files' was specified",
  onlyOneAdapter: 'only one adapter is currently supported',
  unknownType: 'unknown type',
  pullManifest: 'pull model manifest: file does not exist',
  missingBlob: (digest: string) => `open /root/.ollama/models/blobs/${digest.replace(':', '-')}: no such file or directory`,
} as const;

/** Ollama accepts `sha256:HEX` and `sha256-HEX`; the store keys by `sha256:HEX`. Undefined when malformed. */
export function normalizeDigest(raw: string): string | undefined {
  const m = /^sha256[:-]([0-9a-fA-F]{64})$/.exec(raw);
  return m ? `sha256:${m[1]!.toLowerCase()}` : undefined;
}

export const sha256Digest = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** 'major.minor.patch' ≥ 0.34.1, where Ollama stopped accepting adapters. */
export function refusesAdapters(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split(/[.-]/).map((n) => Number.parseInt(n, 10) || 0);
  return major > 0 || minor > 34 || (minor === 34 && patch >= 1);
}

export interface CreatePlan {
  /** A status before streaming (400): the whole answer is `{ error }`. */
  readonly reject?: { readonly status: number; readonly error: string };
  /** The stream: progress lines, then either `success` (and `install`) or an error line. */
  readonly lines: Json[];
  readonly error?: string;
  /** On success: the new model takes the base's facts under its own name. */
  readonly install?: { readonly name: string; readonly from: string };
}

export interface CreateContext {
  readonly version: string;
  readonly blobs: ReadonlyMap<string, Buffer>;
  /** The digest of an installed model's weights, or undefined when it is not installed. */
  readonly modelDigest: (name: string) => string | undefined;
}

export function planCreate(body: Json, ctx: CreateContext): CreatePlan {
  const name = typeof body.model === 'string' && body.model ? body.model : typeof body.name === 'string' ? body.name : '';
  const adapters = (body.adapters ?? {}) as Record<string, unknown>;
  const adapterFiles = Object.entries(adapters);
  if (adapterFiles.length > 0 && refusesAdapters(ctx.version)) return { reject: { status: 400, error: CREATE_ERRORS.adaptersRemoved }, lines: [] };
  if (!/^[A-Za-z0-9][\w.-]*(\/[\w.-]+)*(:[\w.-]+)?$/.test(name)) return { reject: { status: 400, error: CREATE_ERRORS.invalidName }, lines: [] };
  for (const [, digest] of adapterFiles) {
    if (typeof digest !== 'string' || !normalizeDigest(digest)) return { reject: { status: 400, error: CREATE_ERRORS.invalidDigest }, lines: [] };
  }
  const from = typeof body.from === 'string' ? body.from : '';
  if (!from) return { lines: [], error: CREATE_ERRORS.neitherFromNorFiles };
  const baseDigest = ctx.modelDigest(from);
  // Ollama pulls a `from` it does not have; the stand-in's registry has nothing to pull.
  if (!baseDigest) return { lines: [{ status: 'pulling manifest' }], error: CREATE_ERRORS.pullManifest };
  const lines: Json[] = [];
  if (adapterFiles.length > 1) return { lines, error: CREATE_ERRORS.onlyOneAdapter };
  const layers = [`using existing layer ${baseDigest}`];
  for (const [, raw] of adapterFiles) {
    const digest = normalizeDigest(raw as string)!;
    const blob = ctx.blobs.get(digest);
    if (!blob) return { lines, error: CREATE_ERRORS.missingBlob(digest) };
    lines.push({ status: 'parsing GGUF' });
    if (blob.toString('latin1', 0, 4) !== 'GGUF') return { lines, error: CREATE_ERRORS.unknownType };
    layers.push(`using existing layer ${digest}`);
  }
  lines.push(...layers.map((status) => ({ status })), { status: 'writing manifest' }, { status: 'success' });
  return { lines, install: { name, from } };
}
