import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkGgufFile } from '../../../server/models/gguf-file.js';
import { tinyModel } from '../../support/llama.js';

const dir = mkdtempSync(join(tmpdir(), 'xencode-gguf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file with a GGUF header of the given version (the rest of a real file is not read by the check). */
function ggufHeader(name: string, version: number): string {
  const head = Buffer.alloc(24);
  head.write('GGUF', 0, 'latin1');
  head.writeUInt32LE(version, 4);
  const file = join(dir, name);
  writeFileSync(file, head);
  return file;
}

async function problemOf(path: string): Promise<string> {
  const check = await checkGgufFile(path);
  if (check.ok) throw new Error(`${path} passed the check`);
  return check.problem;
}

describe('GGUF file check', () => {
  it('accepts a real GGUF model and says its version and size', async () => {
    const check = await checkGgufFile(tinyModel(1));
    expect(check).toMatchObject({ ok: true, version: 3 });
    expect(check.ok && check.bytes).toBeGreaterThan(1000);
  });

  it('accepts GGUF versions 2 and 3', async () => {
    expect(await checkGgufFile(ggufHeader('v2.gguf', 2))).toMatchObject({ ok: true, version: 2 });
    expect(await checkGgufFile(ggufHeader('v3.gguf', 3))).toMatchObject({ ok: true, version: 3 });
  });

  it('says a missing file does not exist and names the setting', async () => {
    const missing = join(dir, 'nope.gguf');
    const problem = await problemOf(missing);
    expect(problem).toContain(missing);
    expect(problem).toMatch(/does not exist/);
    expect(problem).toContain('xencode.models[].gguf');
  });

  it('says a path through a file does not exist', async () => {
    expect(await problemOf(join(ggufHeader('plain.gguf', 3), 'inside.gguf'))).toMatch(/does not exist/);
  });

  it('says a directory is a directory', async () => {
    const folder = join(dir, 'model-folder');
    mkdirSync(folder);
    expect(await problemOf(folder)).toMatch(/is a directory.*\.gguf file inside it/);
  });

  it('says a text file is not GGUF and shows how it starts', async () => {
    const text = join(dir, 'notes.gguf');
    writeFileSync(text, 'hello, this is not a model\n');
    const problem = await problemOf(text);
    expect(problem).toMatch(/is not a GGUF model file/);
    expect(problem).toContain('"hello, t');
  });

  it('recognises a Git LFS pointer (a model cloned without git-lfs)', async () => {
    const pointer = join(dir, 'lfs.gguf');
    writeFileSync(pointer, 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n');
    expect(await problemOf(pointer)).toMatch(/Git LFS pointer.*git lfs pull/);
  });

  it('says an empty or truncated file is too short', async () => {
    const empty = join(dir, 'empty.gguf');
    writeFileSync(empty, '');
    expect(await problemOf(empty)).toMatch(/it is empty/);
    const short = join(dir, 'short.gguf');
    writeFileSync(short, 'GGUF');
    expect(await problemOf(short)).toMatch(/only 4 bytes/);
  });

  it('shows the bytes of a binary file that is not GGUF', async () => {
    const binary = join(dir, 'model.bin');
    writeFileSync(binary, Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x01]));
    expect(await problemOf(binary)).toMatch(/80027d71/);
  });

  it('rejects an unsupported GGUF version with the versions llama.cpp reads', async () => {
    const problem = await problemOf(ggufHeader('v1.gguf', 1));
    expect(problem).toMatch(/GGUF version 1; llama.cpp reads versions 2 and 3/);
    expect(await problemOf(ggufHeader('v9.gguf', 9))).toMatch(/version 9/);
  });

  // root reads every file: the permission check can only be seen as another user.
  it.skipIf(process.getuid?.() === 0)('says an unreadable file cannot be read', async () => {
    const locked = ggufHeader('locked.gguf', 3);
    chmodSync(locked, 0o000);
    expect(await problemOf(locked)).toMatch(/cannot be read \(permission denied\)/);
  });
});
