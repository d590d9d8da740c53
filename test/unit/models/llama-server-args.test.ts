import { describe, expect, it } from 'vitest';
import { batchSize, defaultThreads, llamaServerArgs, reservedArgsProblems } from '../../../server/models/llama-server-args.js';

/** The value after `option` in an argument list (the last one: llama.cpp takes an option's last value). */
function valueOf(args: readonly string[], option: string): string | undefined {
  const at = args.lastIndexOf(option);
  return at >= 0 ? args[at + 1] : undefined;
}

describe('llama-server arguments', () => {
  const base = { gguf: '/models/coder.gguf', port: 41234, slots: 1, cpuCount: 8 };

  it('listens on loopback at the given port and serves the given model', () => {
    const args = llamaServerArgs(base);
    expect(valueOf(args, '--host')).toBe('127.0.0.1');
    expect(valueOf(args, '--port')).toBe('41234');
    expect(valueOf(args, '-m')).toBe('/models/coder.gguf');
    expect(args).toContain('--no-webui');
    expect(args).toContain('--metrics');
  });

  it('gives each slot the context size: -c is the per-slot context times the slots (llama-server divides it)', () => {
    for (const [slots, contextSize] of [
      [1, 4096],
      [3, 2048],
      [4, 8192],
    ] as const) {
      const args = llamaServerArgs({ ...base, slots, contextSize });
      expect(valueOf(args, '-np')).toBe(String(slots));
      expect(Number(valueOf(args, '-c')) / slots).toBe(contextSize);
    }
  });

  it('defaults to 4096 tokens per slot', () => {
    expect(valueOf(llamaServerArgs({ ...base, slots: 2 }), '-c')).toBe(String(2 * 4096));
  });

  it('leaves a core for the editor when there are several, and uses the only one otherwise', () => {
    expect(defaultThreads(1)).toBe(1);
    expect(defaultThreads(2)).toBe(1);
    expect(defaultThreads(8)).toBe(7);
    expect(valueOf(llamaServerArgs({ ...base, cpuCount: 4 }), '-t')).toBe('3');
    expect(valueOf(llamaServerArgs({ ...base, cpuCount: 4, threads: 2 }), '-t')).toBe('2');
  });

  it('keeps the batch small enough that /infill keeps input_extra (n_batch < n_ctx_slot − 2·n_predict)', () => {
    for (const contextSize of [256, 1024, 2048, 4096, 32768]) {
      const batch = batchSize(contextSize);
      expect(batch).toBeLessThanOrEqual(512);
      // Room for answers of a quarter of the slot each way.
      expect(batch).toBeLessThan(contextSize - 2 * (contextSize / 4) + 1);
      expect(valueOf(llamaServerArgs({ ...base, contextSize }), '-b')).toBe(String(batch));
    }
    expect(batchSize(4096)).toBe(512);
  });

  it('appends llamaCpp.args last, so that they win over the derived values', () => {
    const args = llamaServerArgs({ ...base, extraArgs: ['-b', '128', '--flash-attn', 'on'] });
    expect(valueOf(args, '-b')).toBe('128');
    expect(args.slice(-4)).toEqual(['-b', '128', '--flash-attn', 'on']);
  });

  it('reports llamaCpp.args that set what Xencode must set itself', () => {
    expect(reservedArgsProblems(['-b', '128', '--mlock'])).toEqual([]);
    const problems = reservedArgsProblems(['--port', '8080', '--host=0.0.0.0', '-m', 'x.gguf', '-np', '4']);
    expect(problems).toHaveLength(4);
    expect(problems.join(' ')).toMatch(/--port.*--host.*-m.*models\[\]\.gguf.*-np.*models\[\]\.concurrency/s);
  });
});
