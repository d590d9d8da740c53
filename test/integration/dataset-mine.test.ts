// `xencode dataset mine` (the built CLI) on a real git repository made here: the fix and the refactor commits give
// exactly the function they changed, before and after; a comment-only change, a docs commit and a large commit give
// nothing; rows have exactly their format's columns; refusals are a message and exit code 1.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../support/lsp-client.js';

const SUM_BEFORE = `export function sum(values: number[]): number {
  let total = 0;
  for (let i = 0; i < values.length - 1; i++) total += values[i]!;
  return total;
}`;
const SUM_AFTER = SUM_BEFORE.replace('values.length - 1', 'values.length');
const MEAN_BEFORE = `export function mean(values: number[]): number {
  const n = values.length;
  return n === 0 ? 0 : sum(values) / n;
}`;
const MEAN_AFTER = `export function mean(values: number[]): number {
  const count = values.length;
  return count === 0 ? 0 : sum(values) / count;
}`;
const STACK = (push: string, comment: string) => `export class Stack<T> {
  private items: T[] = [];

  push(item: T): void {
    // ${comment}
    ${push}
  }
}`;
const PUSH = 'this.items.push(item);';

let repo: string;
let work: string;

function gitIn(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'commit.gpgsign=false', '-C', dir, ...args], { encoding: 'utf8' });
}

function commit(files: Record<string, string>, message: string): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(repo, path, '..'), { recursive: true });
    writeFileSync(join(repo, path), text);
  }
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-q', '-m', message);
}

const math = (sum: string, mean: string, doc = '') => `${doc}${sum}\n\n${mean}\n`;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'xencode-mine-'));
  repo = join(work, 'repo');
  mkdirSync(repo);
  gitIn(repo, 'init', '-q');
  gitIn(repo, 'config', 'user.name', 'Test');
  gitIn(repo, 'config', 'user.email', 'test@example.com');
  commit({ 'src/math.ts': math(SUM_BEFORE, MEAN_BEFORE), 'src/stack.ts': `${STACK(PUSH, 'add on top')}\n` }, 'initial version');
  commit({ 'src/math.ts': math(SUM_AFTER, MEAN_BEFORE) }, 'fix: off-by-one in sum');
  commit({ 'src/math.ts': math(SUM_AFTER, MEAN_BEFORE, '// Small numeric helpers.\n\n') }, 'add docs');
  // Names the task, changes only a comment inside a method: no pair.
  commit({ 'src/stack.ts': `${STACK(PUSH, 'adds on top')}\n` }, 'Fix typo in comment');
  commit({ 'src/math.ts': math(SUM_AFTER, MEAN_AFTER, '// Small numeric helpers.\n\n') }, 'refactor: rename n to count in mean');
  // Names the task and changes a method, but with 200 lines of data beside it: not a focused change.
  const table = Array.from({ length: 200 }, (_, i) => `  ${i * 7},`).join('\n');
  commit(
    { 'src/stack.ts': `${STACK('this.items = [...this.items, item];', 'adds on top')}\n`, 'src/table.ts': `export const TABLE = [\n${table}\n];\n` },
    'fix: regenerate the lookup table',
  );
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

function mine(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, 'dataset', 'mine', ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function rows(stdout: string): Record<string, string>[] {
  return stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, string>);
}

const fenced = (code: string) => `\`\`\`ts\n${code}\n\`\`\``;

describe('xencode dataset mine', () => {
  it('--task fix cuts exactly the function the fix changed, with the fix prompt; comment-only and large commits give nothing', () => {
    const result = mine('--repo', repo, '--task', 'fix', '--json');
    expect(result.status, result.stderr).toBe(0);
    const mined = rows(result.stdout);
    expect(mined).toHaveLength(1);
    const [row] = mined;
    expect(Object.keys(row!).sort()).toEqual(['completion', 'prompt']);
    expect(row!.completion).toBe(fenced(SUM_AFTER));
    // The action's fix prompt, with the function before the change as its code and the subject as the problem.
    expect(row!.prompt).toContain(`\`\`\`ts\n${SUM_BEFORE}\n\`\`\``);
    expect(row!.prompt).toContain('You fix bugs with the smallest change');
    expect(row!.prompt).toContain('- fix: off-by-one in sum');
    expect(row!.prompt).toContain('File: math.ts');
    expect(row!.prompt).toContain('function sum');
    // The surrounding code is context; the other function's text is there, the changed one's only once.
    expect(row!.prompt).toContain('<<< the code below goes here >>>');
    expect(row!.prompt.split('values.length - 1').length - 1).toBe(1);
    expect(row!.prompt).not.toContain('TABLE');

    const summary = JSON.parse(result.stderr.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(summary).toMatchObject({ ok: true, task: 'fix', format: 'sft', scanned: 6, picked: 3, used: 1, rows: 1 });
    expect(summary.skippedCommits).toMatchObject({ tooManyLines: 1, noChangedFunction: 1 });
    expect(summary.skippedFunctions).toMatchObject({ layoutOnly: 1 });
  });

  it('--task refactor finds the rename; dpo rows reject the function unchanged', () => {
    const result = mine('--repo', join(repo, 'src'), '--task', 'refactor', '--format', 'dpo');
    expect(result.status, result.stderr).toBe(0);
    const mined = rows(result.stdout);
    expect(mined).toHaveLength(1);
    expect(Object.keys(mined[0]!).sort()).toEqual(['chosen', 'prompt', 'rejected']);
    expect(mined[0]!.chosen).toBe(fenced(MEAN_AFTER));
    expect(mined[0]!.rejected).toBe(fenced(MEAN_BEFORE));
    expect(mined[0]!.prompt).toContain('Refactor this function mean');
    expect(result.stderr).toMatch(/^xencode: 1 dpo rows from 1 of 1 refactor commits \(6 commits scanned\)/);
  });

  it('writes --out only when it found rows, and stops at --max', () => {
    const out = join(work, 'fix.jsonl');
    const result = mine('--repo', repo, '--task', 'fix', '--out', out, '--max', '1');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    expect(rows(readFileSync(out, 'utf8'))).toHaveLength(1);
    expect(result.stderr).toContain('stopped at --max');

    const none = join(work, 'none.jsonl');
    expect(mine('--repo', repo, '--task', 'optimize', '--out', none).status).toBe(1);
    expect(existsSync(none)).toBe(false);
  });

  it('refuses a folder that is no repository, a history without matching commits, and bad options, with exit code 1', () => {
    const plain = join(work, 'plain');
    mkdirSync(plain, { recursive: true });
    const notRepo = mine('--repo', plain, '--task', 'fix');
    expect(notRepo.status).toBe(1);
    expect(notRepo.stderr).toMatch(/is not a git repository/);
    expect(notRepo.stdout).toBe('');

    const noMatch = mine('--repo', repo, '--task', 'optimize');
    expect(noMatch.status).toBe(1);
    expect(noMatch.stderr).toMatch(/none of the 6 commits .* names --task optimize/);

    const future = mine('--repo', repo, '--task', 'fix', '--since', '2999-01-01');
    expect(future.status).toBe(1);
    expect(future.stderr).toMatch(/no commits in .* since/);

    const badTask = mine('--repo', repo, '--task', 'document');
    expect(badTask.status).toBe(1);
    expect(badTask.stderr).toMatch(/--task must be refactor, fix or optimize \(got document\)/);
    expect(mine('--repo', repo, '--task', 'fix', '--format', 'kto').stderr).toMatch(/--format must be sft or dpo/);
    expect(mine('--repo', join(work, 'absent'), '--task', 'fix').stderr).toMatch(/does not exist/);
  });
});
