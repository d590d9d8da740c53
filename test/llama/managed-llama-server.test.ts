// The managed llama-server against the real binary: lazy start, shared starts, restart after a crash with one
// message each way, close(), no orphan after kill -9 of its parent, and each bad input's message.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BackendError, type BackendEnvironment } from '../../server/models/backend.js';
import { ManagedLlamaServer, freeLoopbackPort, type ManagedLlamaServerOptions } from '../../server/models/managed-llama-server.js';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { llamaTools, tinyModel } from '../support/llama.js';

const dir = mkdtempSync(join(tmpdir(), 'xencode-managed-'));
const servers: ManagedLlamaServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Recorded {
  readonly environment: BackendEnvironment;
  readonly notes: { severity: 'info' | 'warn'; message: string }[];
  readonly log: string[];
}

function recorder(env: NodeJS.ProcessEnv = process.env): Recorded {
  const notes: Recorded['notes'] = [];
  const log: string[] = [];
  const write = (message: string) => log.push(message);
  return { notes, log, environment: { logger: { error: write, warn: write, info: write, debug: write }, notify: (severity, message) => notes.push({ severity, message }), env } };
}

/** A managed server on the tiny model, one thread, that the test closes afterwards. */
function managed(recorded: Recorded, options: Partial<ManagedLlamaServerOptions> = {}): ManagedLlamaServer {
  const server = new ManagedLlamaServer({
    gguf: tinyModel(1),
    label: 'tiny',
    serverPath: llamaTools().llamaServer,
    slots: 1,
    contextSize: 1024,
    threads: 1,
    backoff: { firstMs: 200, maxMs: 1000 },
    environment: recorded.environment,
    ...options,
  });
  servers.push(server);
  return server;
}

const starts = (recorded: Recorded) => recorded.log.filter((line) => line.startsWith('Starting llama-server')).length;
const signal = () => AbortSignal.timeout(30_000);

/** Alive, and not a zombie (here PID 1 reaps orphans late, and a zombie runs nothing). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, what: string, tries = 400): Promise<void> {
  for (let i = 0; i < tries && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!condition()) throw new Error(`timed out waiting until ${what}`);
}

async function rejection(promise: Promise<unknown>): Promise<BackendError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof BackendError)) throw new Error(`expected a BackendError, got ${String(err)}`);
  return err;
}

async function infill(url: string, extra = 'import math\nimport os\n'): Promise<{ status: number; content: unknown; promptTokens: number }> {
  const res = await fetch(`${url}/infill`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input_prefix: 'def add(a, b):\n    ', input_suffix: '\n', input_extra: extra ? [{ filename: 'util.py', text: extra }] : [], n_predict: 16, seed: 1, cache_prompt: false }),
  });
  const body = (await res.json()) as { content?: unknown; tokens_evaluated: number };
  return { status: res.status, content: body.content, promptTokens: body.tokens_evaluated };
}

describe('managed llama-server (real binary)', () => {
  it('starts lazily on the first endpoint() and serves /infill with the derived slots and context', async () => {
    const recorded = recorder();
    const server = managed(recorded, { slots: 2 });
    expect(server.pid).toBeUndefined();
    expect(starts(recorded)).toBe(0);
    const url = await server.endpoint(signal());
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(alive(server.pid!)).toBe(true);
    const answer = await infill(url);
    expect(answer.status).toBe(200);
    expect(typeof answer.content).toBe('string');
    // The derived batch size keeps /infill's input_extra (llama-server's default -b 2048 drops it with this context).
    expect(answer.promptTokens).toBeGreaterThan((await infill(url, '')).promptTokens);
    const slots = (await (await fetch(`${url}/slots`)).json()) as { n_ctx: number }[];
    expect(slots.map((s) => s.n_ctx)).toEqual([1024, 1024]);
    expect(await server.endpoint(signal())).toBe(url);
    expect(starts(recorded)).toBe(1);
  });

  it('shares one start among concurrent callers', async () => {
    const recorded = recorder();
    const server = managed(recorded);
    const urls = await Promise.all([server.endpoint(signal()), server.endpoint(signal()), server.endpoint(signal())]);
    expect(new Set(urls).size).toBe(1);
    expect(starts(recorded)).toBe(1);
  });

  it("gives up waiting when the caller's signal says so ('loading'), and the start goes on", async () => {
    const recorded = recorder();
    const server = managed(recorded);
    const early = await rejection(server.endpoint(AbortSignal.abort()));
    expect(early.kind).toBe('loading');
    expect(early.message).toMatch(/still starting for tiny.*Try again/);
    const url = await server.endpoint(signal());
    expect((await infill(url)).status).toBe(200);
    expect(starts(recorded)).toBe(1);
  });

  it('restarts after kill -9, telling the user once that it stopped and once that it serves again', async () => {
    const recorded = recorder();
    const server = managed(recorded);
    await server.endpoint(signal());
    const first = server.pid!;
    process.kill(first, 'SIGKILL');
    await until(() => server.pid !== first, 'the crash was noticed');
    const url = await server.endpoint(signal());
    expect(server.pid).not.toBe(first);
    expect((await infill(url)).status).toBe(200);
    expect(recorded.notes.map((n) => n.severity)).toEqual(['warn', 'info']);
    expect(recorded.notes[0]!.message).toMatch(/llama-server for tiny stopped unexpectedly: it was killed by SIGKILL\. Restarting it in/);
    expect(recorded.notes[0]!.message).toContain('Its last output:');
    expect(recorded.notes[1]!.message).toMatch(/serving again/);

    // A second crash soon after is the same streak: logged, not shown again.
    const second = server.pid!;
    process.kill(second, 'SIGKILL');
    await until(() => server.pid !== second, 'the second crash was noticed');
    await server.endpoint(signal());
    expect(alive(server.pid!)).toBe(true);
    expect(recorded.notes).toHaveLength(2);
    expect(recorded.log.filter((l) => l.includes('stopped unexpectedly'))).toHaveLength(1);
    expect(starts(recorded)).toBe(3);
  });

  it('close() stops the process and its watchdog, and nothing restarts it', async () => {
    const recorded = recorder();
    const server = managed(recorded);
    await server.endpoint(signal());
    const pid = server.pid!;
    const watchdog = server.watchdogPid!;
    await server.close();
    expect(alive(pid)).toBe(false);
    expect(alive(watchdog)).toBe(false);
    expect(server.pid).toBeUndefined();
    await server.close();
    await new Promise((r) => setTimeout(r, 400)); // past the first back-off
    expect(starts(recorded)).toBe(1);
    expect(recorded.notes).toEqual([]);
    expect((await rejection(server.endpoint(signal()))).message).toMatch(/was stopped/);
  });

  it('leaves no llama-server and no watchdog behind when its parent is killed with SIGKILL', async () => {
    const module = pathToFileURL(join(PACKAGE_ROOT, 'dist', 'server', 'models', 'managed-llama-server.js')).href;
    expect(existsSync(new URL(module)), 'run npm run build first').toBe(true);
    const script = join(dir, 'parent.mjs');
    writeFileSync(
      script,
      `import { ManagedLlamaServer } from ${JSON.stringify(module)};
const quiet = () => {};
const server = new ManagedLlamaServer({ gguf: ${JSON.stringify(tinyModel(1))}, label: 'tiny', serverPath: ${JSON.stringify(llamaTools().llamaServer)},
  slots: 1, contextSize: 512, threads: 1, environment: { logger: { error: quiet, warn: quiet, info: quiet, debug: quiet }, notify: quiet, env: process.env } });
await server.endpoint(AbortSignal.timeout(30000));
console.log(JSON.stringify({ pid: server.pid, watchdog: server.watchdogPid }));
setInterval(() => {}, 1000);
`,
    );
    const parent = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const left: number[] = [];
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        parent.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        parent.once('exit', (code) => reject(new Error(`the parent exited (${code}) before it said the pid`)));
      });
      const { pid, watchdog } = JSON.parse(line) as { pid: number; watchdog: number };
      left.push(watchdog, pid);
      expect(alive(pid)).toBe(true);
      expect(alive(watchdog)).toBe(true);
      parent.kill('SIGKILL');
      await until(() => !alive(pid) && !alive(watchdog), 'llama-server and its watchdog were gone');
    } finally {
      parent.kill('SIGKILL');
      // Should the guard fail, the test must not leave the processes behind either.
      for (const pid of left.filter(alive)) process.kill(pid, 'SIGKILL');
    }
  });

  it("says how to install llama-server when serverPath does not exist and PATH has none ('unreachable')", async () => {
    const emptyPath = join(dir, 'empty-bin');
    mkdirSync(emptyPath, { recursive: true });
    const recorded = recorder({ ...process.env, PATH: emptyPath });
    for (const serverPath of [join(dir, 'no', 'llama-server'), undefined]) {
      const server = managed(recorded, { serverPath });
      const err = await rejection(server.endpoint(signal()));
      expect(err.kind).toBe('unreachable');
      expect(err.message).toMatch(serverPath ? /serverPath is .*no\/llama-server, which does not exist/ : /not found on PATH/);
      expect(err.message).toMatch(/llama\.cpp-tools.*brew install llama\.cpp.*releases.*xencode\.llamaCpp\.serverPath/s);
    }
    expect(starts(recorded)).toBe(0);
  });

  it("rejects a bad model file ('bad-request') without starting anything", async () => {
    const folder = join(dir, 'models');
    mkdirSync(folder, { recursive: true });
    const text = join(dir, 'readme.gguf');
    writeFileSync(text, 'This is a README, not a model.\n');
    const recorded = recorder();
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.gguf'), /missing\.gguf does not exist/],
      [folder, /is a directory/],
      [text, /readme\.gguf is not a GGUF model file \(it starts with the text "This is"\)/],
    ];
    for (const [gguf, expected] of cases) {
      const server = managed(recorded, { gguf });
      const err = await rejection(server.endpoint(signal()));
      expect(err.kind).toBe('bad-request');
      expect(err.message).toMatch(expected);
      expect(server.pid).toBeUndefined();
    }
    const reserved = await rejection(managed(recorded, { extraArgs: ['--port', '8080'] }).endpoint(signal()));
    expect(reserved.kind).toBe('bad-request');
    expect(reserved.message).toMatch(/llamaCpp\.args sets --port/);
    expect(starts(recorded)).toBe(0);
  });

  it('quotes the last stderr lines of a binary that cannot start, and does not start it again during the back-off', async () => {
    const count = join(dir, 'starts.txt');
    const broken = join(dir, 'broken-llama-server');
    writeFileSync(broken, `#!/bin/sh\necho started >> ${JSON.stringify(count)}\necho "loading libggml.so" >&2\necho "error: libggml.so: cannot open shared object file" >&2\nexit 1\n`);
    chmodSync(broken, 0o755);
    const recorded = recorder();
    const server = managed(recorded, { serverPath: broken, backoff: { firstMs: 500, maxMs: 1000 } });
    const err = await rejection(server.endpoint(signal()));
    expect(err.kind).toBe('server');
    expect(err.message).toMatch(/could not start: it exited with code 1 before serving/);
    expect(err.message).toContain('error: libggml.so: cannot open shared object file');
    expect(err.message).toContain(broken);
    // Asked again at once: the same answer, not another start.
    for (let i = 0; i < 5; i++) expect((await rejection(server.endpoint(signal()))).message).toMatch(/Next try in 0\.5 s/);
    expect(readFileSync(count, 'utf8').trim().split('\n')).toHaveLength(1);
    // After the back-off one more try, and the message says it keeps failing.
    await new Promise((r) => setTimeout(r, 600));
    const third = await rejection(server.endpoint(signal()));
    expect(third.message).toContain('cannot open shared object file');
    expect((await rejection(server.endpoint(signal()))).message).toMatch(/failed 2 times in a row; next try in 1 s/);
    expect(readFileSync(count, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(recorded.notes).toEqual([]);
  });

  it('stops a server that never becomes ready within the start time-out, and says so', async () => {
    const pidFile = join(dir, 'hanging.pid');
    const hanging = join(dir, 'hanging-llama-server');
    writeFileSync(hanging, `#!/bin/sh\necho $$ > ${JSON.stringify(pidFile)}\necho "loading model tensors" >&2\nexec sleep 60\n`);
    chmodSync(hanging, 0o755);
    const server = managed(recorder(), { serverPath: hanging, startTimeoutMs: 300 });
    const err = await rejection(server.endpoint(signal()));
    expect(err.kind).toBe('server');
    expect(err.message).toMatch(/did not become ready within 0\.3 s \(its \/health never answered\) and was stopped/);
    expect(err.message).toContain('loading model tensors');
    expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    expect(server.pid).toBeUndefined();
  });

  it("quotes llama-server's own error when its arguments are wrong", async () => {
    const server = managed(recorder(), { extraArgs: ['--no-such-option'] });
    const err = await rejection(server.endpoint(signal()));
    expect(err.kind).toBe('server');
    expect(err.message).toMatch(/--no-such-option/);
    expect(err.message).toMatch(/Its last output:/);
  });

  it('takes another port when the picked one is taken before llama-server binds it', async () => {
    const taken: Server = createServer();
    const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)));
    try {
      const picks: number[] = [];
      const recorded = recorder();
      const server = managed(recorded, { pickPort: async () => (picks.push(picks.length === 0 ? port : await freeLoopbackPort()), picks.at(-1)!) });
      const url = await server.endpoint(signal());
      expect(picks).toHaveLength(2);
      expect(url).toBe(`http://127.0.0.1:${picks[1]}`);
      expect((await infill(url)).status).toBe(200);
      expect(recorded.log.some((l) => l.includes('its port was taken'))).toBe(true);
    } finally {
      taken.close();
    }
  });
});
