import { execFile, execFileSync, type ExecFileOptions } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import type { CachedAnswer } from '../../../server/store/answer-cache.js';

export const isRoot = process.getuid?.() === 0;

const made: string[] = [];
/** A fresh temp directory, removed by cleanupTempDirs(). */
export function tempDir(prefix = 'xencode-store-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
export function cleanupTempDirs(): void {
  for (const dir of made.splice(0)) {
    try {
      chmodSync(dir, 0o700);
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
}

export function answer(text: string, createdAt = 1_700_000_000_000): CachedAnswer {
  return { text, model: 'qwen2.5-coder:1.5b-base', method: 'hybrid', rule: 'agree', agreeing: ['a', 'b'], createdAt };
}

/**
 * Child processes must run the real store code, but Node 20 cannot load .ts: transpile server/store/*.ts once with
 * the project's TypeScript into a temp folder (ES modules; the bare 'lmdb' import pointed at this checkout's copy).
 */
let transpiled: string | undefined;
export function transpiledStoreDir(): string {
  if (transpiled) return transpiled;
  const out = mkdtempSync(join(tmpdir(), 'xencode-store-js-')); // outlives each test's temp dirs: removeTranspiled()
  chmodSync(out, 0o755); // readable by the unprivileged child of the read-only test
  const lmdbCjs = createRequire(import.meta.url).resolve('lmdb');
  const lmdbUrl = pathToFileURL(lmdbCjs).href.replace(/dist\/index\.cjs$/, 'node-index.js');
  const source = fileURLToPath(new URL('../../../server/store/', import.meta.url));
  // Bare 'lmdb' does not resolve from a temp folder: point the import (and the probe's require) at this checkout.
  const probeLookup = "createRequire(import.meta.url).resolve('lmdb')";
  let probeRewritten = false;
  for (const name of readdirSync(source).filter((f) => f.endsWith('.ts'))) {
    const code = ts.transpileModule(readFileSync(join(source, name), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    probeRewritten ||= code.includes(probeLookup);
    writeFileSync(join(out, name.replace(/\.ts$/, '.js')), code.replace(/from ['"]lmdb['"]/g, `from '${lmdbUrl}'`).replace(probeLookup, JSON.stringify(lmdbCjs)));
  }
  if (!probeRewritten) throw new Error('helpers.ts: update the lmdb rewrite');
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  transpiled = out;
  return out;
}

/** For afterAll: vitest's workers do not always run 'exit' handlers. */
export function removeTranspiled(): void {
  if (transpiled) rmSync(transpiled, { recursive: true, force: true });
  transpiled = undefined;
}

/**
 * Runs an ES-module snippet in a fresh Node process with `openLmdbStore`, `AnswerCache` and `describeStoreProblem`
 * in scope; whatever it passes to `report(value)` comes back parsed.
 */
export function runChild(body: string, options: ExecFileOptions & { wrapper?: string[] } = {}): Promise<{ result: any; stderr: string; code: number | null; signal: string | null }> {
  const dir = transpiledStoreDir();
  const script = join(dir, `child-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(
    script,
    `import { openLmdbStore, describeStoreProblem } from './lmdb-store.js';
import { AnswerCache } from './answer-cache.js';
process.on('SIGXFSZ', () => {}); // a file-size limit then fails the write (EFBIG) instead of killing us
const answer = (text) => ({ text, model: 'm', method: 'hybrid', rule: 'r', agreeing: [], createdAt: 1 });
const report = (value) => process.stdout.write('\\n@@' + JSON.stringify(value) + '\\n');
${body}
`,
  );
  chmodSync(script, 0o644);
  const [command, ...prefix] = options.wrapper ?? [process.execPath];
  const args = options.wrapper ? [...prefix, process.execPath, script] : [script];
  return new Promise((resolve) => {
    execFile(command!, args, { timeout: 30_000, ...options }, (error, stdout, stderr) => {
      const line = String(stdout).split('\n').find((l) => l.startsWith('@@'));
      const failure = error as { code?: number; signal?: string } | null;
      resolve({ result: line ? JSON.parse(line.slice(2)) : undefined, stderr: String(stderr), code: failure?.code ?? 0, signal: failure?.signal ?? null });
    });
  });
}

/** True when this process may make private mount namespaces (root in most containers/CI): real EROFS/ENOSPC. */
export function canMountTmpfs(): boolean {
  try {
    const dir = tempDir('xencode-mnt-');
    execFileSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs '${dir}'`], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** A shell line for `sh -c` that mounts a small tmpfs on `dir` inside a private mount namespace, then runs node. */
export function inTmpfs(dir: string, sizeKiB: number, readOnly = false): string[] {
  mkdirSync(dir, { recursive: true });
  const remount = readOnly ? ` && mount -o remount,ro '${dir}'` : '';
  return ['unshare', '-m', 'sh', '-c', `mount -t tmpfs -o size=${sizeKiB}k tmpfs '${dir}'${remount} && exec "$0" "$@"`];
}
