import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPython, pythonCandidates } from '../../../server/training/python-env.js';

/** A stand-in "python" (a shell script) that answers the probe as a Python with or without torch would. */
function fakePython(answer: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'xencode-py-')), 'python3');
  writeFileSync(file, `#!/bin/sh\necho '${JSON.stringify(answer)}'\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('the Python that runs the trainer', () => {
  it('prefers XENCODE_PYTHON', () => {
    expect(pythonCandidates({ XENCODE_PYTHON: '/opt/py/bin/python3' })[0]).toBe('/opt/py/bin/python3');
    expect(pythonCandidates({}).at(-1)).toBe('python3');
  });

  it('reports what it has when torch and transformers import', async () => {
    const python = fakePython({ python: '3.14.0', torch: '2.14.0', cuda: false, mps: false, transformers: '5.12.0' });
    expect(await checkPython({ PATH: '/nonexistent' }, [python])).toEqual({
      ok: true,
      environment: { python, torch: '2.14.0', transformers: '5.12.0', cuda: false, mps: false },
    });
  });

  it('says to install torch when it is missing, with the Python that lacks it', async () => {
    const python = fakePython({ python: '3.12.1', torchError: "No module named 'torch'", transformers: '4.50.0' });
    const check = await checkPython({ PATH: '/nonexistent' }, [python]);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.problem).toContain(`${python} -m pip install torch`);
  });

  it('says so when there is no Python at all', async () => {
    const check = await checkPython({ PATH: '/nonexistent' }, ['/nonexistent/python3', 'python3']);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.problem).toMatch(/No Python found to run the trainer \(tried \/nonexistent\/python3 \(not found\), python3 \(not found\)\).*pip install torch transformers safetensors/);
  });
});
