// The no-daemon path through the built server: a model given as a GGUF file makes Xencode run llama-server itself
// (the real binary from Debian's llama.cpp): started when first needed, restarted after a crash with one message
// each way, gone when Xencode exits — also on kill -9 of Xencode — and split over ggml-rpc-servers by its args.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LspClient } from '../support/lsp-client.js';
import { llamaTools, processesWith, startRpcServer, tinyModel, until, type RunningProcess } from '../support/llama.js';

const URI = 'file:///work/src/notes.txt';
const SOURCE = 'The list of things to do:\n- buy milk\n- write the report\n- \n\nDone.\n';
const CURSOR = { line: 3, character: 2 };

let folder: string;
let client: LspClient | undefined;

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'xencode-managed-'));
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

afterEach(async () => {
  await client?.shutdown();
  client = undefined;
});

/** A copy of the tiny model under a name no other process has on its command line. */
function uniqueModel(tag: string): string {
  const file = join(folder, `tiny-${tag}-${process.pid}.gguf`);
  copyFileSync(tinyModel(1), file);
  return file;
}

async function start(gguf: string, extra: Record<string, unknown> = {}, env: Record<string, string> = {}): Promise<LspClient> {
  client = new LspClient({ env });
  await client.initialize({
    xencode: { models: [{ name: 'tiny', gguf }], llamaCpp: { serverPath: llamaTools().llamaServer, threads: 1 }, cache: { enabled: false }, completion: { maxTokens: 16 }, ...extra },
  });
  await client.open(URI, SOURCE, 'plaintext');
  return client;
}

/** The managed llama-server: the process that runs the model file, not the watchdog shell that started it. */
function llamaPids(gguf: string): number[] {
  return processesWith(gguf).filter((pid) => commandName(pid) !== 'sh');
}

function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function modelStats(c: LspClient): Promise<Record<string, number>> {
  return (await c.executeCommand('xencode.stats')).models.tiny ?? {};
}

describe('a GGUF file served by a llama-server Xencode runs', () => {
  it('starts it when first needed, serves completions, and stops it on shutdown', async () => {
    const gguf = uniqueModel('life');
    const c = await start(gguf);
    await c.completion(URI, CURSOR);
    expect(await modelStats(c)).toMatchObject({ requests: 1, failures: 0 });
    expect(llamaPids(gguf).length).toBe(1);
    const pids = processesWith(gguf);
    await c.shutdown();
    client = undefined;
    await until(() => pids.every((pid) => !alive(pid)), 10_000, 'the managed llama-server to exit');
  });

  it('restarts a crashed llama-server, saying so once, and says when it serves again', async () => {
    const gguf = uniqueModel('crash');
    const c = await start(gguf);
    await c.completion(URI, CURSOR);
    const [pid] = llamaPids(gguf);
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await until(() => !alive(pid!), 5_000, 'the kill');
    // The next completions find it gone and get a new one (after the back-off).
    await until(async () => {
      await c.completion(URI, CURSOR);
      return llamaPids(gguf).some((p) => p !== pid);
    }, 30_000, 'a restarted llama-server');
    await until(async () => ((await modelStats(c)).answers ?? 0) + ((await modelStats(c)).filtered ?? 0) >= 2, 30_000, 'an answer from the new server');
    const warnings = c.messages(2).filter((m) => /llama-server/.test(m));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/exited|killed|SIGKILL|signal/i);
    await c.waitFor(() => c.messages(3).some((m) => /llama-server/.test(m) && /again|serving/i.test(m)), 10_000, 'the message that it serves again');
  });

  it('leaves no llama-server behind when Xencode is killed with SIGKILL', async () => {
    const gguf = uniqueModel('orphan');
    const c = await start(gguf);
    await c.completion(URI, CURSOR);
    expect(llamaPids(gguf).length).toBe(1);
    const pids = processesWith(gguf);
    c.process.kill('SIGKILL');
    await c.exitCode;
    client = undefined;
    await until(() => pids.every((pid) => !alive(pid)), 10_000, 'every process of the managed server to exit after Xencode was killed');
  });

  it('splits the model over two ggml-rpc-servers given in llamaCpp.args, with the local answers', async () => {
    const local = await start(uniqueModel('local'));
    const expected = await local.completion(URI, CURSOR);
    await local.shutdown();
    client = undefined;
    let rpc: RunningProcess[] = [];
    try {
      rpc = await Promise.all([startRpcServer(), startRpcServer()]);
      const c = await start(uniqueModel('rpc'), {
        llamaCpp: { serverPath: llamaTools().llamaServer, threads: 1, args: ['--rpc', rpc.map((r) => `127.0.0.1:${r.port}`).join(','), '-ngl', '99'] },
      });
      const split = await c.completion(URI, CURSOR);
      expect(expected.items.length).toBeGreaterThan(0);
      expect(split.items.map((i) => i.label)).toEqual(expected.items.map((i) => i.label));
      expect(await modelStats(c)).toMatchObject({ requests: 1, failures: 0 });
      for (const server of rpc) expect(server.log()).toMatch(/accepted client connection/i);
    } finally {
      await (client as LspClient | undefined)?.shutdown();
      client = undefined;
      await Promise.all(rpc.map((r) => r.stop()));
    }
  });
});

describe('what a managed llama-server cannot do, said once and clearly', () => {
  it('a model file that does not exist, or is not GGUF: one message naming it, nothing started, the server serves on', async () => {
    const missing = join(folder, 'nope.gguf');
    const c = await start(missing);
    await c.completion(URI, CURSOR);
    await c.completion(URI, CURSOR);
    await c.waitFor(() => c.messages(2).some((m) => m.includes(missing)), 5_000, 'the message');
    expect(c.messages(2).filter((m) => m.includes(missing))).toHaveLength(1);
    await c.shutdown();

    const text = join(folder, 'notes.gguf');
    writeFileSync(text, 'these are notes, not a model\n');
    const d = await start(text);
    await d.completion(URI, CURSOR);
    await d.waitFor(() => d.messages(2).some((m) => m.includes(text) && /not a GGUF/i.test(m)), 5_000, 'the not-GGUF message');
    expect(processesWith(text)).toEqual([]);
    expect((await d.executeCommand('xencode.stats')).completions.requests).toBe(1);
  });

  it('a llama-server that cannot start: its last lines of output in the message, no busy restart loop', async () => {
    const fake = join(folder, 'broken-llama-server');
    writeFileSync(fake, '#!/bin/sh\necho "error: unknown argument: --this-build-is-broken" >&2\nexit 1\n', { mode: 0o755 });
    client = new LspClient();
    await client.initialize({ xencode: { models: [{ name: 'tiny', gguf: uniqueModel('broken') }], llamaCpp: { serverPath: fake }, cache: { enabled: false } } });
    await client.open(URI, SOURCE, 'plaintext');
    await client.completion(URI, CURSOR);
    await client.waitFor(() => client!.messages(2).some((m) => m.includes('this-build-is-broken')), 15_000, 'the message with its stderr');
    for (let i = 0; i < 3; i++) await client.completion(URI, CURSOR);
    expect(client.messages(2).filter((m) => m.includes('this-build-is-broken'))).toHaveLength(1);
  });

  it('no llama-server anywhere: says how to install it or where to point llamaCpp.serverPath', async () => {
    client = new LspClient({ env: { PATH: join(folder, 'empty-path') } });
    await client.initialize({ xencode: { models: [{ name: 'tiny', gguf: uniqueModel('nobin') }], cache: { enabled: false } } });
    await client.open(URI, SOURCE, 'plaintext');
    await client.completion(URI, CURSOR);
    await client.waitFor(() => client!.messages(2).some((m) => /llamaCpp\.serverPath/.test(m)), 5_000, 'the message');
    expect(client.messages(2).find((m) => /llamaCpp\.serverPath/.test(m))).toMatch(/llama\.cpp/);
  });
});
