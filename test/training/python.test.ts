// The trainer's foundation: the fetched python3 (Debian's PyTorch and transformers, .cache/debian/bin/python3)
// imports what the trainer needs, training/tiny_model.py writes the tiny model in Hugging Face form, and transformers
// runs the tiny GGUF exactly as llama-server does.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlamaServer, tinyModel, type RunningLlamaServer } from '../support/llama.js';
import { TINY_MODEL_SCRIPT, pythonTools, runPython, tinyHfModel } from '../support/python.js';

const GREEDY = join(dirname(fileURLToPath(import.meta.url)), 'greedy.py');
const PROMPT = 'function add(a, b) {\n  return a + b;';
const N = 16;

interface Greedy {
  readonly model: string;
  readonly config: Record<string, unknown>;
  /** What the model's own tokenizer gives for the prompt. */
  readonly encoded: number[];
  /** N greedy tokens after BOS + the prompt. */
  readonly tokens: number[];
}

function greedy(...models: string[]): Greedy[] {
  return JSON.parse(runPython([GREEDY, '--prompt', PROMPT, '--n', String(N), ...models]).stdout) as Greedy[];
}

async function post<T>(host: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${host}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as T;
}

let work: string;

beforeAll(() => {
  pythonTools(); // fetched by the global set-up; here only found
  work = mkdtempSync(join(tmpdir(), 'xencode-python-'));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the fetched python3', () => {
  it('imports torch, transformers, safetensors and gguf; writes bytecode; runs subprocesses of itself; one thread', () => {
    const gguf = tinyModel(1);
    const code = `
import json, os, subprocess, sys, tempfile
import torch, transformers, safetensors.torch, gguf
from transformers import LlamaForCausalLM
x = torch.arange(12, dtype=torch.float32).reshape(3, 4)
path = os.path.join(tempfile.mkdtemp(), "t.safetensors")
safetensors.torch.save_file({"x": x}, path)
back = safetensors.torch.load_file(path)["x"]
reader = gguf.GGUFReader(sys.argv[1])
arch = reader.fields["general.architecture"]
child = subprocess.run([sys.executable, "-c", "import torch; print(torch.tensor([2.0]).sum().item())"], capture_output=True, text=True)
print(json.dumps({
  "torch": torch.__version__, "transformers": transformers.__version__,
  "roundtrip": bool(torch.equal(x, back)), "matmul": (x @ x.T).tolist(),
  "gguf_arch": bytes(arch.parts[arch.data[0]]).decode(), "gguf_tensors": len(reader.tensors),
  "child": [child.returncode, child.stdout.strip(), child.stderr[-500:]],
  "threads": torch.get_num_threads(), "bytecode": not sys.dont_write_bytecode,
}))`;
    // PYTHONDONTWRITEBYTECODE=1 is what this environment may set; the wrapper unsets it.
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
    delete env.OMP_NUM_THREADS;
    const res = runPython(['-c', code, gguf], { env });
    const out = JSON.parse(res.stdout) as {
      torch: string; transformers: string; roundtrip: boolean; matmul: number[][]; gguf_arch: string; gguf_tensors: number;
      child: [number, string, string]; threads: number; bytecode: boolean;
    };
    expect(out.torch).toMatch(/^2\./);
    expect(out.transformers).toMatch(/^\d+\./);
    expect(out.roundtrip).toBe(true);
    // x·xᵀ computed here from the same x: row i of x is 4i..4i+3.
    const row = (i: number) => [0, 1, 2, 3].map((j) => 4 * i + j);
    const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k]!, 0);
    expect(out.matmul).toEqual([0, 1, 2].map((i) => [0, 1, 2].map((j) => dot(row(i), row(j)))));
    // The GGUF header (version at byte 4, tensor count at byte 8) and the gguf package agree.
    const head = readFileSync(gguf).subarray(0, 24);
    expect(out.gguf_arch).toBe('llama');
    expect(out.gguf_tensors).toBe(Number(head.readBigUInt64LE(8)));
    // sys.executable starts again through the unpacked loader (the host's glibc is too old for this python).
    expect(out.child[0], out.child[2]).toBe(0);
    expect(Number(out.child[1])).toBe(2);
    if (!process.env.XENCODE_PYTHON) {
      expect(out.threads).toBe(1);
      expect(out.bytecode).toBe(true);
    }
  });
});

describe('training/tiny_model.py', () => {
  it('writes a Hugging Face folder with the tiny GGUF architecture and vocabulary, which transformers loads and runs', () => {
    const out = join(work, 'tiny-hf');
    const printed = JSON.parse(runPython([TINY_MODEL_SCRIPT, out, '--seed', '7']).stdout) as { vocab: number; parameters: number };
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    // safetensors writes 0600; the folder is readable by another user (an Ollama service).
    expect(statSync(join(out, 'model.safetensors')).mode & 0o044).toBe(0o044);
    const [fromGguf, hf] = greedy(tinyModel(1), out);
    // Exactly the GGUF's hyper-parameters, as transformers reads them from scripts/tiny-gguf.mjs's header.
    expect(hf!.config).toEqual(fromGguf!.config);
    expect(printed.vocab).toBe(fromGguf!.config.vocab_size);
    // The same pieces: the folder's tokenizer adds BOS (as llama.cpp does), transformers' GGUF tokenizer does not.
    expect(hf!.encoded).toEqual([hf!.config.bos_token_id, ...fromGguf!.encoded]);
    expect(hf!.tokens).toHaveLength(N);
    for (const t of hf!.tokens) expect(t).toBeLessThan(printed.vocab);
    // Its own random weights, not the GGUF's.
    expect(hf!.tokens).not.toEqual(fromGguf!.tokens);
  });

  it('rejects a --from-gguf file that does not exist, saying how to make one', () => {
    expect(() => runPython([TINY_MODEL_SCRIPT, join(work, 'never'), '--from-gguf', join(work, 'missing.gguf')])).toThrow(
      /no such file \(write one with node scripts\/tiny-gguf\.mjs/,
    );
  });
});

describe('transformers on the tiny GGUF', () => {
  let server: RunningLlamaServer | undefined;
  afterAll(async () => server?.stop());

  it("gives llama-server's greedy tokens, straight from the GGUF and from its Hugging Face copy", async () => {
    const model = tinyModel(1);
    server = await startLlamaServer({ model });
    const { tokens: prompt } = await post<{ tokens: number[] }>(server.host, '/tokenize', { content: PROMPT, add_special: true });
    const answer = await post<{ tokens: number[] }>(server.host, '/completion', {
      prompt: PROMPT,
      n_predict: N,
      ignore_eos: true,
      temperature: 0,
      top_k: 1,
      return_tokens: true,
    });
    expect(answer.tokens).toHaveLength(N);

    const [gguf, hf] = greedy(model, tinyHfModel(1, { fromGguf: true })); // tiny_model.py --from-gguf, kept in .cache/models/
    // llama.cpp adds BOS (the GGUF's add_bos_token); transformers' GGUF tokenizer does not, greedy.py adds it.
    expect(prompt[0]).toBe(gguf!.config.bos_token_id);
    expect(gguf!.encoded).toEqual(prompt.slice(1));
    expect(hf!.encoded).toEqual(prompt);
    expect(gguf!.tokens).toEqual(answer.tokens);
    expect(hf!.tokens).toEqual(answer.tokens);
  });
});
