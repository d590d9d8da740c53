import { describe, expect, it } from 'vitest';
import { describeExit, WatchedProcess } from '../../../server/models/watched-process.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!condition()) throw new Error(`timed out waiting until ${what}`);
}

const sh = (script: string) => new WatchedProcess({ command: '/bin/sh', args: ['-c', script], env: process.env, graceSeconds: 1 });

describe.skipIf(process.platform === 'win32')('a watched process', () => {
  it("exits with the child's status and keeps its last output lines", async () => {
    const child = sh('echo starting; echo "it went wrong" >&2; exit 3');
    const exit = await child.exited;
    expect(exit).toMatchObject({ code: 3, description: 'exited with code 3' });
    expect(child.lastLines()).toEqual(['starting', 'it went wrong']);
    expect(child.running).toBe(false);
  });

  it('keeps only the last 40 lines, and cuts a runaway line', async () => {
    const child = sh(`i=1; while [ $i -le 100 ]; do echo "line $i" >&2; i=$((i+1)); done; printf '%3000s' x`);
    await child.exited;
    const lines = child.lastLines();
    expect(lines).toHaveLength(40);
    expect(lines[0]).toBe('line 62');
    expect(lines.at(-1)!.length).toBeLessThanOrEqual(1001);
  });

  it('tells the child pid (not the watchdog) and does not give the child its control pipe', async () => {
    // The child lists its own open descriptors: fd 3 must not be among them.
    const child = sh('ls /proc/$$/fd >&2; echo "pid $$" >&2; exec sleep 30');
    await until(() => child.lastLines().some((l) => l.startsWith('pid ')), 'the child wrote its pid');
    const said = Number(child.lastLines().find((l) => l.startsWith('pid '))!.slice(4));
    expect(child.pid).toBe(said);
    expect(child.pid).not.toBe(child.watchdogPid);
    if (process.platform === 'linux') expect(child.lastLines()).not.toContain('3');
    const exit = await child.stop();
    expect(exit.signal).toBe('SIGTERM');
    expect(alive(said)).toBe(false);
  });

  it('stops a child that ignores SIGTERM with SIGKILL after the grace', async () => {
    const child = sh(`trap '' TERM; echo "pid $$" >&2; while :; do sleep 1; done`);
    await until(() => child.pid !== undefined && child.lastLines().length > 0, 'it started');
    const exit = await child.stop();
    expect(exit.signal).toBe('SIGKILL');
    expect(alive(child.pid!)).toBe(false);
  });

  it('names the signal that killed the child from the shell status', () => {
    expect(describeExit(137, null)).toMatchObject({ signal: 'SIGKILL', description: 'was killed by SIGKILL' });
    expect(describeExit(139, null).signal).toBe('SIGSEGV');
    expect(describeExit(1, null)).toMatchObject({ signal: null, description: 'exited with code 1' });
    expect(describeExit(null, 'SIGTERM').description).toBe('was killed by SIGTERM');
  });
});
