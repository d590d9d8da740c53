// The Python LoRA trainer (training/xencode_train.py) run for real: PyTorch on a tiny random llama built from the
// tiny GGUF's hyper-parameters, a synthetic feedback set where the user always keeps single quotes and rejects double
// quotes. Asserts behaviour only (a loss falls, the held-out metrics move the right way, files a PEFT/hand merge can
// read), never values or times.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { TINY_GGUF_SCRIPT, tinyModel } from '../support/llama.js';
import { pythonTools } from '../support/python.js';

/** The Python with torch + transformers + safetensors: Debian's, fetched by the project (or XENCODE_PYTHON). */
function pythonPath(): string {
  return pythonTools().python;
}

const TRAINER = join(PACKAGE_ROOT, 'training', 'xencode_train.py');
// One torch thread: a second one on a shared 2-core machine makes every step many times slower.
const ENV = { ...process.env, OMP_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' };
const OBJECTIVES = ['sft', 'dpo', 'kto'] as const;
type Objective = (typeof OBJECTIVES)[number];

interface Run {
  readonly code: number | null;
  readonly lines: string[];
  readonly events: Array<Record<string, unknown> & { event: string }>;
  readonly stderr: string;
}

function python(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(pythonPath(), args, { env: ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = out.split('\n').filter((l) => l !== '');
      let events: Run['events'] = [];
      try {
        events = lines.map((l) => JSON.parse(l) as Run['events'][number]);
      } catch {
        events = [];
      }
      resolve({ code, lines, events, stderr: err });
    });
    child.stdin.end(input ?? '');
  });
}

const trainer = (args: string[]) => python([TRAINER, ...args]);

let dir: string;
let base: string;
const runs = new Map<Objective, Run>();

// prompt "const sN = " → kept 'sN'; / not kept "sN";  — the pattern the adapter should pick up.
function rows(objective: Objective, ids: number[]): object[] {
  return ids.flatMap((i): object[] => {
    const prompt = `const s${i} = `;
    const kept = `'s${i}';`;
    const rejected = `"s${i}";`;
    if (objective === 'sft') return [{ prompt, completion: kept }];
    if (objective === 'dpo') return [{ prompt, chosen: kept, rejected }];
    return [{ prompt, completion: kept, label: true }, { prompt, completion: rejected, label: false }];
  });
}

function writeJsonl(name: string, data: object[]): string {
  const file = join(dir, name);
  writeFileSync(file, data.map((r) => JSON.stringify(r) + '\n').join(''));
  return file;
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

interface Metrics {
  kept_loss: number;
  rejected_loss: number | null;
  preference_accuracy: number | null;
  mean_margin: number | null;
  exact_match: number | null;
  edit_similarity: number | null;
}
interface Evaluation {
  before: Metrics;
  after: Metrics;
  merge_check: { max_abs_logit_diff: number };
  base: { format: string; tokenizer: string };
}
const evaluation = (objective: Objective): Evaluation =>
  JSON.parse(readFileSync(join(dir, `out-${objective}`, 'evaluation.json'), 'utf8')) as Evaluation;

/** The safetensors header (8-byte little-endian length, then JSON), read without Python. */
function safetensorsHeader(file: string): Record<string, { dtype: string; shape: number[] }> {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[] }>;
  delete header.__metadata__;
  return header;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xencode-trainer-'));
  base = join(dir, 'base');
  const { buildVocab } = (await import(pathToFileURL(TINY_GGUF_SCRIPT).href)) as { buildVocab(): { tokens: string[] } };
  // scripts/tiny-gguf.mjs's defaults: 64 wide, 2 layers, 4 heads (4 KV), FFN 128, context 2048, RMS eps 1e-5, rope 1e4.
  const made = await python(['-c', `
import sys, torch
from transformers import LlamaConfig, LlamaForCausalLM
torch.manual_seed(1)
cfg = LlamaConfig(vocab_size=${buildVocab().tokens.length}, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
    num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048, rms_norm_eps=1e-5, rope_theta=10000.0,
    bos_token_id=1, eos_token_id=2, tie_word_embeddings=False)
LlamaForCausalLM(cfg).save_pretrained(sys.argv[1])
`, base]);
  if (made.code !== 0) throw new Error(`building the tiny model failed (is PyTorch at ${pythonPath()}?):\n${made.stderr}`);
  for (const objective of OBJECTIVES) {
    writeJsonl(`${objective}-train.jsonl`, rows(objective, range(0, 32)));
    writeJsonl(`${objective}-eval.jsonl`, rows(objective, range(100, 8)));
  }
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(OBJECTIVES)('%s', (objective) => {
  beforeAll(async () => {
    runs.set(objective, await trainer(['--base', base, '--objective', objective, '--train', join(dir, `${objective}-train.jsonl`),
      '--eval', join(dir, `${objective}-eval.jsonl`), '--out', join(dir, `out-${objective}`), '--max-steps', '30',
      '--lr', '1e-2', '--seed', '1', '--gen-tokens', '8']));
  }, 120_000);

  it('reports its progress as JSON lines only, in order, and exits 0', () => {
    const run = runs.get(objective)!;
    expect(run.code, run.stderr).toBe(0);
    expect(run.events).toHaveLength(run.lines.length); // every stdout line parsed
    const kinds = run.events.map((e) => e.event);
    expect(kinds[0]).toBe('start');
    expect(kinds.at(-1)).toBe('done');
    const start = run.events[0]!;
    expect(start).toMatchObject({ objective, total_steps: 30, records: objective === 'kto' ? 64 : 32, tokenizer: 'byte-fallback' });
    const steps = run.events.filter((e) => e.event === 'step');
    expect(steps.map((s) => s.step)).toEqual(range(1, 30));
    for (const s of steps) {
      expect(s).toMatchObject({ total: 30 });
      for (const k of ['loss', 'lr', 'elapsed_s', 'eta_s']) expect(Number.isFinite(s[k])).toBe(true);
    }
    expect(steps.at(-1)!.eta_s).toBe(0);
    expect(run.events.filter((e) => e.event === 'eval').map((e) => e.phase)).toEqual(['before', 'after']);
    expect(kinds.indexOf('step')).toBeGreaterThan(kinds.indexOf('eval'));
  });

  it('lowers its training loss', () => {
    const losses = runs.get(objective)!.events.filter((e) => e.event === 'step').map((e) => e.loss as number);
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)));
  });

  it('does better than the base on the held-out records', () => {
    const { before, after } = evaluation(objective);
    if (objective === 'sft') {
      expect(after.kept_loss).toBeLessThan(before.kept_loss);
      expect(after.preference_accuracy).toBeNull();
    } else {
      expect(after.mean_margin!).toBeGreaterThan(before.mean_margin!);
      expect(after.preference_accuracy!).toBeGreaterThanOrEqual(before.preference_accuracy!);
      expect(after.preference_accuracy!).toBeGreaterThan(0.5);
      expect(after.rejected_loss!).toBeGreaterThan(before.rejected_loss!);
    }
    for (const m of [before, after]) {
      for (const v of [m.exact_match!, m.edit_similarity!]) expect(v >= 0 && v <= 1).toBe(true);
    }
  });

  it("writes PEFT's adapter files", () => {
    const out = join(dir, `out-${objective}`);
    const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'], base_model_name_or_path: base });
    const header = safetensorsHeader(join(out, 'adapter_model.safetensors'));
    const keys = Object.keys(header).sort();
    const expected = [0, 1].flatMap((l) => ['q_proj', 'v_proj'].flatMap((m) => ['A', 'B'].map((ab) => `base_model.model.model.layers.${l}.self_attn.${m}.lora_${ab}.weight`)));
    expect(keys).toEqual(expected.sort());
    expect(header['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight']!.shape).toEqual([8, 64]);
    expect(header['base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight']!.shape).toEqual([64, 8]);
    expect(statSync(join(out, 'adapter_model.safetensors')).mode & 0o044).toBe(0o044); // readable by others (Ollama)
    expect(evaluation(objective).merge_check.max_abs_logit_diff).toBeLessThan(1e-5);
  });
});

describe('the saved adapter', () => {
  it('merged by hand into the base gives the adapted model: its held-out loss before and after', async () => {
    // Independent of the trainer's code: W += alpha/r * B @ A from the files, byte tokens as documented
    // (BOS 1, 3 + byte, EOS 2), per-token loss of the kept texts.
    const script = `
import json, sys, torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM
base, work = sys.argv[1], sys.argv[2]
res = {}
for obj in ("sft", "dpo", "kto"):
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32).eval()
    rows = [json.loads(l) for l in open(f"{work}/{obj}-eval.jsonl")]
    kept = [(r["prompt"], r["chosen"] if obj == "dpo" else r["completion"]) for r in rows if r.get("label", True)]
    def loss():
        total, count = 0.0, 0
        with torch.no_grad():
            for p, t in kept:
                prompt = [1] + [3 + b for b in p.encode()]
                text = [3 + b for b in t.encode()] + [2]
                ids = torch.tensor([prompt + text])
                logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1)
                for pos in range(len(prompt), len(prompt) + len(text)):
                    total -= logp[pos - 1, ids[0, pos]].item()
                    count += 1
        return total / count
    before = loss()
    cfg = json.load(open(f"{work}/out-{obj}/adapter_config.json"))
    t = load_file(f"{work}/out-{obj}/adapter_model.safetensors")
    with torch.no_grad():
        for key in t:
            if key.endswith(".lora_A.weight"):
                name = key[len("base_model.model."):-len(".lora_A.weight")]
                b = t[key.replace("lora_A", "lora_B")]
                model.get_submodule(name).weight += cfg["lora_alpha"] / cfg["r"] * (b @ t[key])
    res[obj] = {"before": before, "after": loss()}
print(json.dumps(res))
`;
    const run = await python(['-c', script, base, dir]);
    expect(run.code, run.stderr).toBe(0);
    const merged = JSON.parse(run.lines.at(-1)!) as Record<Objective, { before: number; after: number }>;
    for (const objective of OBJECTIVES) {
      const { before, after } = evaluation(objective);
      expect(Math.abs(merged[objective].before - before.kept_loss)).toBeLessThan(1e-5);
      expect(Math.abs(merged[objective].after - after.kept_loss)).toBeLessThan(1e-5);
      expect(merged[objective].after).not.toBeCloseTo(merged[objective].before, 3); // the adapter does something
    }
  }, 60_000);
});

describe('a GGUF base', () => {
  it('trains with the file’s own tokenizer', async () => {
    const gguf = tinyModel(1);
    const run = await trainer(['--base', gguf, '--objective', 'dpo', '--train', join(dir, 'dpo-train.jsonl'), '--eval',
      join(dir, 'dpo-eval.jsonl'), '--out', join(dir, 'out-gguf'), '--max-steps', '3', '--gen-tokens', '2']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.events[0]).toMatchObject({ event: 'start', base_format: 'gguf', tokenizer: 'base' });
    expect(run.events.at(-1)!.event).toBe('done');
    expect(existsSync(join(dir, 'out-gguf', 'adapter_model.safetensors'))).toBe(true);
  }, 60_000);
});

describe('bad input', () => {
  const expectError = (run: Run, pattern: RegExp) => {
    expect(run.code).not.toBe(0);
    expect(run.events).toHaveLength(run.lines.length);
    expect(run.events.map((e) => e.event)).toEqual(['error']);
    expect(run.events[0]!.message).toMatch(pattern);
  };

  it('too little data: an error event that says how much is needed', async () => {
    const few = writeJsonl('few.jsonl', rows('sft', range(0, 5)));
    const run = await trainer(['--base', base, '--objective', 'sft', '--train', few, '--eval', join(dir, 'sft-eval.jsonl'), '--out', join(dir, 'out-few')]);
    expectError(run, /Too little data: 5 records.*at least 8/);
    expect(existsSync(join(dir, 'out-few'))).toBe(false);
  });

  it('a missing base: an error event naming it', async () => {
    const missing = join(dir, 'no-such-model');
    const run = await trainer(['--base', missing, '--objective', 'sft', '--train', join(dir, 'sft-train.jsonl'), '--out', join(dir, 'out-missing')]);
    expectError(run, new RegExp(`${missing}.*does not exist`));
  });

  it('data of another objective: an error event that names the right one', async () => {
    const run = await trainer(['--base', base, '--objective', 'sft', '--train', join(dir, 'dpo-train.jsonl'), '--out', join(dir, 'out-wrong')]);
    expectError(run, /--objective dpo/);
  });

  it('no PyTorch: an error event that says what to install', async () => {
    // -S leaves site-packages off the path: the same interpreter without torch.
    const run = await python(['-S', TRAINER, '--base', base, '--objective', 'sft', '--train', join(dir, 'sft-train.jsonl'), '--out', join(dir, 'out-notorch')]);
    expectError(run, /pip install torch transformers/);
  });
});
