// `xencode train` end to end, as a user runs it: the built CLI reads a feedback store in which the user always kept
// `'sN';` and rejected `null;`, trains a DPO adapter on the tiny GGUF with the real PyTorch, writes PEFT's files and
// adapter.gguf, judges it on the held-out records — and the adapter, served by the real llama-server, moves the
// model towards what the user kept (per-request LoRA scale 1 against 0).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedFeedbackStore } from '../support/feedback-store.js';
import { sequenceLogprob, startLlamaServer, tinyModel } from '../support/llama.js';
import { CLI } from '../support/lsp-client.js';
import { pythonTools } from '../support/python.js';
import { fimPrompt, preferenceHistory } from './preference-history.js';

let folder: string;

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'xencode-train-'));
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

function xencode(args: readonly string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
}

async function dataDir(name: string, records: number): Promise<string> {
  const dir = join(folder, name);
  await seedFeedbackStore(dir, preferenceHistory(records));
  return dir;
}

describe('xencode train', () => {
  it('trains a DPO adapter from the feedback store, judges it better on the held-out records, and llama-server serving it prefers what the user kept', async () => {
    const data = await dataDir('history', 60);
    const out = join(folder, 'adapter');
    const base = tinyModel(1);
    const run = xencode(['train', '--base', base, '--objective', 'dpo', '--max-steps', '30', '--lr', '1e-2', '--out', out, '--json'], {
      XENCODE_DATA_DIR: data,
      XENCODE_PYTHON: pythonTools().python,
    });
    expect(run.status, run.stderr).toBe(0);
    const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as { event: string } & Record<string, unknown>);
    expect(events.map((e) => e.event).filter((e, i, all) => all.indexOf(e) === i)).toEqual(['start', 'eval', 'step', 'done', 'result']);
    const result = events.at(-1)!;
    expect(result).toMatchObject({ verdict: 'better', trainRecords: expect.any(Number), heldOutRecords: expect.any(Number) });
    for (const file of ['adapter_model.safetensors', 'adapter_config.json', 'adapter.gguf', 'evaluation.json', 'evaluation.md']) expect(existsSync(join(out, file)), file).toBe(true);
    expect(readFileSync(join(out, 'evaluation.md'), 'utf8')).toMatch(/\| preference accuracy \(kept scored above rejected\) \| [\d.]+ % \| [\d.]+ % \|/);

    // Trained elsewhere (only PEFT's files came back): `adapter convert` writes the same adapter.gguf.
    const written = readFileSync(join(out, 'adapter.gguf'));
    rmSync(join(out, 'adapter.gguf'));
    const convert = xencode(['adapter', 'convert', '--base', base, '--adapter', out], {});
    expect(convert.status, convert.stderr).toBe(0);
    expect(convert.stdout.trim()).toBe(join(out, 'adapter.gguf'));
    expect(readFileSync(join(out, 'adapter.gguf')).equals(written)).toBe(true);

    // A held-out record's prompt: how much more likely the kept text is than the rejected one, adapter off and on.
    const server = await startLlamaServer({ model: base, args: ['--lora', join(out, 'adapter.gguf')] });
    try {
      const prompt = fimPrompt(58);
      const margin = async (scale: number) => (await sequenceLogprob(server.host, prompt, "'s58';", scale)) - (await sequenceLogprob(server.host, prompt, 'null;', scale));
      expect(await margin(1)).toBeGreaterThan(await margin(0));
    } finally {
      await server.stop();
    }
  });

  it('refuses too little data, saying how much there is', async () => {
    const data = await dataDir('little', 10);
    const run = xencode(['train', '--base', tinyModel(1), '--objective', 'dpo', '--out', join(folder, 'none')], { XENCODE_DATA_DIR: data, XENCODE_PYTHON: pythonTools().python });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/Too little data to train dpo: \d+ usable records? of 10 read/);
    expect(existsSync(join(folder, 'none'))).toBe(false);
  });

  it('says what to install when the Python has no PyTorch', async () => {
    const python = join(folder, 'python3');
    writeFileSync(python, `#!/bin/sh\necho '{"python": "3.12.1", "torchError": "No module named torch", "transformersError": "No module named transformers"}'\n`);
    chmodSync(python, 0o755);
    const run = xencode(['train', '--base', tinyModel(1), '--objective', 'sft'], { XENCODE_DATA_DIR: join(folder, 'history'), XENCODE_PYTHON: python });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${python} -m pip install torch transformers safetensors`);
  });
});
