/**
 * Checks a model file before llama-server is started on it: llama-server's own message for a bad file is a page of
 * loader errors after the process has started; this says what is wrong with the path, at once, in one line.
 */
import { open, stat } from 'node:fs/promises';

/** The bytes every GGUF file starts with. */
const GGUF_MAGIC = 'GGUF';
/** GGUF versions llama.cpp reads (version 1 was dropped in 2023). */
export const SUPPORTED_GGUF_VERSIONS: readonly number[] = [2, 3];

export type GgufFileCheck =
  | { readonly ok: true; readonly version: number; readonly bytes: number }
  | { readonly ok: false; readonly problem: string };

/**
 * Whether `path` is a GGUF model file llama.cpp can read: it exists, is a readable file, starts with "GGUF" and
 * a supported version. `problem` says what is wrong and what to do, naming the setting.
 */
export async function checkGgufFile(path: string, setting = 'xencode.models[].gguf'): Promise<GgufFileCheck> {
  const fail = (problem: string): GgufFileCheck => ({ ok: false, problem });
  let bytes: number;
  try {
    const info = await stat(path);
    if (info.isDirectory()) return fail(`The model path ${path} is a directory, not a GGUF file. Set ${setting} to the .gguf file inside it.`);
    if (!info.isFile()) return fail(`The model path ${path} is not a regular file. Set ${setting} to a .gguf model file.`);
    bytes = info.size;
  } catch (err) {
    return fail(describeAccessError(path, err, setting));
  }
  let head: Buffer;
  try {
    const file = await open(path, 'r');
    try {
      head = Buffer.alloc(8);
      const { bytesRead } = await file.read(head, 0, 8, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch (err) {
    return fail(describeAccessError(path, err, setting));
  }
  if (head.length < 8 || head.toString('latin1', 0, 4) !== GGUF_MAGIC) {
    return fail(`${path} is not a GGUF model file (${describeStart(head)}). llama-server needs a .gguf file: download one (e.g. from Hugging Face) or convert the model with llama.cpp's convert_hf_to_gguf.py, then set ${setting} to it.`);
  }
  const version = head.readUInt32LE(4);
  if (!SUPPORTED_GGUF_VERSIONS.includes(version)) {
    return fail(`${path} is GGUF version ${version}; llama.cpp reads versions ${SUPPORTED_GGUF_VERSIONS.join(' and ')}. Download a current build of the model, or update llama.cpp if the file is newer than it.`);
  }
  return { ok: true, version, bytes };
}

function describeAccessError(path: string, err: unknown, setting: string): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `The model file ${path} does not exist. Check ${setting} (an absolute path to a .gguf file).`;
  if (code === 'ENOTDIR') return `The model path ${path} does not exist (a part of it is a file, not a folder). Check ${setting}.`;
  if (code === 'EACCES' || code === 'EPERM') return `The model file ${path} cannot be read (permission denied). Make it readable (chmod a+r) or check ${setting}.`;
  if (code === 'EISDIR') return `The model path ${path} is a directory, not a GGUF file. Set ${setting} to the .gguf file inside it.`;
  return `The model file ${path} cannot be read: ${(err as Error | undefined)?.message ?? String(err)}. Check ${setting}.`;
}

/** What the file starts with instead of "GGUF", in words a user recognises. */
function describeStart(head: Buffer): string {
  if (head.length === 0) return 'it is empty';
  if (head.length < 8) return `it is only ${head.length} bytes long`;
  const text = head.toString('latin1');
  // A model cloned from Hugging Face without git-lfs is a small text file starting "version https://git-lfs…".
  if (text.startsWith('version ')) return 'it looks like a Git LFS pointer: fetch the real file with git lfs pull';
  if (/^[\x09\x0a\x0d\x20-\x7e]+$/.test(text)) return `it starts with the text "${text.replace(/\s+/g, ' ').trim()}"`;
  return `it starts with the bytes ${head.subarray(0, 4).toString('hex')}, not "GGUF"`;
}
