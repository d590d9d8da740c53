import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findLlamaServer } from '../../../server/models/llama-server-binary.js';

const dir = mkdtempSync(join(tmpdir(), 'xencode-bin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(path: string, mode: number): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '#!/bin/sh\nexit 0\n');
  chmodSync(path, mode);
  return path;
}

/** The install advice every "not found" message carries. */
function expectDoctorAdvice(problem: string): void {
  expect(problem).toContain('llama.cpp-tools');
  expect(problem).toContain('brew install llama.cpp');
  expect(problem).toContain('https://github.com/ggml-org/llama.cpp/releases');
  expect(problem).toContain('xencode.llamaCpp.serverPath');
}

describe('finding llama-server', () => {
  it('uses llamaCpp.serverPath when it is an executable file', async () => {
    const server = file(join(dir, 'custom', 'my-llama-server'), 0o755);
    expect(await findLlamaServer(server, { PATH: '' })).toEqual({ ok: true, path: server });
  });

  it('takes the first llama-server on PATH, skipping folders where it is not executable', async () => {
    const notExecutable = join(dir, 'a');
    file(join(notExecutable, 'llama-server'), 0o644);
    const empty = join(dir, 'b');
    mkdirSync(empty);
    const found = file(join(dir, 'c', 'llama-server'), 0o755);
    file(join(dir, 'd', 'llama-server'), 0o755);
    const PATH = [notExecutable, empty, join(dir, 'c'), join(dir, 'd')].join(delimiter);
    expect(await findLlamaServer(undefined, { PATH })).toEqual({ ok: true, path: found });
  });

  it('does not fall back to PATH when serverPath is wrong (a typo must not be hidden)', async () => {
    const onPath = join(dir, 'e');
    file(join(onPath, 'llama-server'), 0o755);
    const missing = join(dir, 'nowhere', 'llama-server');
    const found = await findLlamaServer(missing, { PATH: onPath });
    expect(found.ok).toBe(false);
    if (found.ok) return;
    expect(found.problem).toContain(`xencode.llamaCpp.serverPath is ${missing}, which does not exist`);
    expectDoctorAdvice(found.problem);
  });

  it('says when serverPath is a directory or not executable', async () => {
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    const dirFound = await findLlamaServer(folder, {});
    expect(!dirFound.ok && dirFound.problem).toMatch(/is a directory/);
    if (process.getuid?.() !== 0) {
      const plain = file(join(dir, 'plain', 'llama-server'), 0o644);
      const plainFound = await findLlamaServer(plain, {});
      expect(!plainFound.ok && plainFound.problem).toMatch(/is not executable \(chmod \+x it\)/);
    }
  });

  it('gives a doctor-style message when there is neither serverPath nor llama-server on PATH', async () => {
    const empty = join(dir, 'empty-path');
    mkdirSync(empty);
    for (const env of [{ PATH: empty }, {}]) {
      const found = await findLlamaServer(undefined, env);
      expect(found.ok).toBe(false);
      if (found.ok) return;
      expect(found.problem).toMatch(/llama-server was not found on PATH and xencode.llamaCpp.serverPath is not set/);
      expectDoctorAdvice(found.problem);
    }
  });
});
