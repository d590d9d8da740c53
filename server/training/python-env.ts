/**
 * The Python that runs the trainer: XENCODE_PYTHON, else the one the project's fetch unpacked (.cache/debian, a
 * checkout's tests use it), else python3 on PATH; and whether it has what the trainer needs, in words that say what
 * to install.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';

export interface PythonEnvironment {
  readonly python: string;
  readonly torch: string;
  readonly transformers: string;
  /** Accelerators torch can use here. */
  readonly cuda: boolean;
  readonly mps: boolean;
}

export type PythonCheck = { readonly ok: true; readonly environment: PythonEnvironment } | { readonly ok: false; readonly problem: string };

/** The candidates in order of preference. */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const fetched = join(PACKAGE_ROOT, '.cache', 'debian', 'bin', 'python3');
  return [env.XENCODE_PYTHON, existsSync(fetched) ? fetched : undefined, 'python3'].filter((p): p is string => !!p);
}

const PROBE = `
import json, sys
found = {"python": sys.version.split()[0]}
try:
    import torch
    found["torch"] = torch.__version__
    found["cuda"] = bool(torch.cuda.is_available())
    found["mps"] = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
except Exception as e:
    found["torchError"] = str(e)
try:
    import transformers, safetensors
    found["transformers"] = transformers.__version__
except Exception as e:
    found["transformersError"] = str(e)
print(json.dumps(found))
`;

/** Runs the probe with the first candidate that starts; says what is missing and how to get it. */
export async function checkPython(env: NodeJS.ProcessEnv = process.env, candidates: readonly string[] = pythonCandidates(env)): Promise<PythonCheck> {
  const tried: string[] = [];
  for (const python of candidates) {
    const result = await run(python, ['-c', PROBE], env);
    if (result.spawnError) {
      tried.push(`${python} (${result.spawnError})`);
      continue;
    }
    let found: Record<string, unknown>;
    try {
      found = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
    } catch {
      tried.push(`${python} (exited ${result.code}: ${result.stderr.trim().split('\n').pop() ?? ''})`);
      continue;
    }
    if (typeof found.torch !== 'string' || typeof found.transformers !== 'string') {
      const missing = [typeof found.torch !== 'string' && 'torch', typeof found.transformers !== 'string' && 'transformers safetensors'].filter(Boolean).join(' ');
      return {
        ok: false,
        problem:
          `${python} (Python ${String(found.python)}) cannot import ${missing.replace(' safetensors', ', safetensors')}: install them with ` +
          `\`${python} -m pip install ${missing}\` (or your system's packages, e.g. Debian's python3-torch python3-transformers python3-safetensors), ` +
          'or point XENCODE_PYTHON at a Python that has them.',
      };
    }
    return { ok: true, environment: { python, torch: found.torch, transformers: found.transformers, cuda: found.cuda === true, mps: found.mps === true } };
  }
  return {
    ok: false,
    problem: `No Python found to run the trainer (tried ${tried.join(', ')}). Install Python 3 with torch, transformers and safetensors (\`pip install torch transformers safetensors\`), or set XENCODE_PYTHON to one.`,
  };
}

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly spawnError?: string;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (err: NodeJS.ErrnoException) => resolve({ code: null, stdout, stderr, spawnError: err.code === 'ENOENT' ? 'not found' : err.message }));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
