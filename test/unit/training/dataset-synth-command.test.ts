import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerDatasetSynth } from '../../../server/cli/dataset-synth-command.js';
import { SYNTH_DOMAINS } from '../../../server/training/synth-domains.js';
import { OllamaStub } from '../../support/ollama-stub.js';

const MODEL = 'qwen2.5-coder:7b';

/** A different, valid refactor pair for every topic. */
const answerFor = (i: number) =>
  `Before:\n\`\`\`ts\nfunction f${i}(x: number): number {\n  if (x > ${i}) { return x; } else { return ${i}; }\n}\n\`\`\`\n\n` +
  `After:\n\`\`\`ts\nfunction f${i}(x: number): number {\n  return Math.max(x, ${i});\n}\n\`\`\`\n`;

let stub: OllamaStub;
let dir: string;
let stderr: string;

beforeEach(async () => {
  stub = new OllamaStub({ models: [{ name: MODEL, capabilities: ['completion'], rules: SYNTH_DOMAINS.map((d, i) => ({ messageIncludes: d, answer: answerFor(i) })) }] });
  await stub.start();
  dir = await mkdtemp(join(tmpdir(), 'xencode-synth-'));
  stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
  await stub.stop();
  await rm(dir, { recursive: true, force: true });
});

/** `xencode dataset synth ARGS` through commander, as the CLI registers it under `dataset`. */
async function xencode(...args: string[]): Promise<number> {
  const program = new Command().exitOverride();
  registerDatasetSynth(program.command('dataset'));
  await program.parseAsync(['dataset', 'synth', ...args], { from: 'user' });
  return Number(process.exitCode ?? 0);
}

describe('xencode dataset synth (the command)', () => {
  it('writes the kept pairs as JSONL rows to --out and the summary to stderr', async () => {
    const out = join(dir, 'pairs.jsonl');
    const code = await xencode('--task', 'refactor', '--count', '3', '--model', MODEL, '--host', stub.url, '--seed', '5', '--format', 'dpo', '--out', out);
    expect(code).toBe(0);
    const rows = (await readFile(out, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(['prompt', 'chosen', 'rejected']);
      expect(row.prompt).toMatch(/^You are an expert TypeScript engineer[\s\S]*\n\nFile: example\.ts\n[\s\S]*Refactor this function f\d+/);
      expect(row.chosen).toMatch(/^```ts\nfunction f\d+\(x: number\): number \{\n {2}return Math\.max/);
      expect(row.rejected).toMatch(/^```ts\nfunction f\d+[\s\S]*else/);
    }
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(stub.chatRequests()).toHaveLength(3);
    expect(stderr).toContain('xencode: kept 3 of 3 refactor pairs asked for (typescript, dpo) after 3 requests\n');
    expect(stderr).toContain(`xencode: wrote 3 dpo rows to ${out}`);
  });

  it('--json: the summary as one JSON object on stdout, the rows in --out', async () => {
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    const out = join(dir, 'explain.jsonl');
    expect(await xencode('--task', 'explain', '--count', '1', '--max-attempts', '1', '--model', MODEL, '--host', stub.url, '--out', out, '--json')).toBe(1);
    // The topics' answers are refactor pairs: an explanation is missing, nothing is kept.
    expect(JSON.parse(stdout)).toMatchObject({ task: 'explain', format: 'sft', asked: 1, attempts: 1, kept: 0, dropped: { noCode: 1 }, syntaxChecked: true, models: [MODEL], out });
  });

  it('exits 1 with the model\'s message when it cannot be reached, and writes nothing', async () => {
    const out = join(dir, 'none.jsonl');
    await stub.goDown();
    const code = await xencode('--task', 'fix', '--count', '2', '--model', MODEL, '--host', stub.url, '--out', out);
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`xencode: .*${stub.url.replace(/[.:/]/g, '\\$&')}`));
    expect(stderr).toContain('after 1 request\n');
    await expect(stat(out)).rejects.toThrow();
  });

  it('exits 1 when no pair was kept, and refuses bad options with what to use', async () => {
    stub.model(MODEL)!.rules = [];
    stub.model(MODEL)!.defaultAnswer = 'Sorry, no code.';
    expect(await xencode('--task', 'optimize', '--count', '1', '--max-attempts', '2', '--model', MODEL, '--host', stub.url, '--out', join(dir, 'x.jsonl'))).toBe(1);
    expect(stderr).toContain('dropped: 2 without the two labelled code blocks');
    expect(stderr).toContain('fell short by 1: the limit is 2 requests');
    expect(stderr).toContain('xencode: no pair was kept, nothing written');
    for (const [args, message] of [
      [['--task', 'rewrite', '--count', '1'], '--task must be refactor, fix, optimize, explain (got rewrite)'],
      [['--task', 'explain', '--count', '1', '--format', 'dpo'], 'explain gives sft rows only'],
      [['--task', 'fix', '--count', 'many'], '--count must be a whole number of pairs, 1 or more (got many)'],
      [['--task', 'fix', '--count', '1', '--json'], '--json prints the summary on stdout: write the rows elsewhere with --out FILE'],
    ] as const) {
      stderr = '';
      process.exitCode = undefined;
      expect(await xencode(...args)).toBe(1);
      expect(stderr).toContain(message);
    }
  });
});
