// End-to-end: the Neovim plugin (clients/neovim) in real, headless Neovim 0.12 and 0.10, against the built server
// and the Ollama stand-in. Each test writes an init.lua that loads the plugin from clients/neovim and calls
// setup(), and a Lua script of steps (test/e2e/neovim/harness.lua) that types keys, waits for what Neovim shows
// and writes what it saw to a JSON file; the test reads that file and the stand-in's record. Every run is bounded:
// past its time Neovim (and the server it started) is killed and the test fails with Neovim's stderr, the steps it
// got through, :messages and the LSP log.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT, PACKAGE_VERSION } from '../../server/paths.js';
import { OllamaStub, type StubModel } from '../support/ollama-stub.js';
import { editorPath, ensureEditors, type EditorName } from './support/editors.js';
import { CLI, feedbackStats } from './support/feedback.js';

const PLUGIN = join(PACKAGE_ROOT, 'clients', 'neovim');
const HARNESS = join(PACKAGE_ROOT, 'test', 'e2e', 'neovim', 'harness.lua');

/** Budget for one Neovim run: the steps give up a little earlier, so a stuck step reports itself. */
const RUN_TIMEOUT_MS = 40_000;
const STEPS_TIMEOUT_MS = 30_000;

const FIM = 'qwen2.5-coder:1.5b-base';
const CHAT = 'qwen2.5-coder:7b';

const SOURCE = [
  "import { log } from './log';", // 1
  '', // 2
  'export class Calculator {', // 3
  '  total = 0;', // 4
  '', // 5
  '  add(a: number, b: number): number {', // 6
  '    const sum = a + b;', // 7
  '    this.total += sum;', // 8
  '    return sum;', // 9
  '  }', // 10
  '}', // 11
  '', // 12
  'export function max(a: number, b: number): number {', // 13
  '  return ', // 14
  '}', // 15
  '', // 16
  'export const biggest = Math.max();', // 17
  '', // 18
  'export const greeting = "é😀" + ;', // 19
  '',
].join('\n');

/** Line 14, `  return `: the cursor at its end. */
const RETURN_LINE = 14;
/** Line 17: the cursor between the parentheses (0-based byte column 32). */
const BIGGEST_LINE = 17;
const BIGGEST_COL = 'export const biggest = Math.max('.length;
/** Line 19: before the `;`, after two characters that are longer in UTF-8 and UTF-16 (positions are UTF-16). */
const GREETING_LINE = 19;
const GREETING_PREFIX = 'export const greeting = "é😀" + ';
const GREETING_COL = Buffer.byteLength(GREETING_PREFIX);

const REFACTORED = ['add(a: number, b: number): number {', '  const sum = a + b;', '  this.total += sum;', '  log(sum);', '  return sum;', '}'].join('\n');
const HOVER = 'Adds a and b to the running total and returns their sum.';

/** FIM answers: the call's arguments between the parentheses, `Math.max(a, b);` after `return `. */
function fimModel(extra: Partial<StubModel> = {}): StubModel {
  return {
    name: FIM,
    rules: [
      { promptIncludes: GREETING_PREFIX, answer: 'name' },
      { promptIncludes: 'biggest = Math.max(', answer: '1, 2' },
      { promptIncludes: 'function max', answer: 'Math.max(a, b);' },
    ],
    defaultAnswer: '',
    ...extra,
  };
}

function chatModel(): StubModel {
  return {
    name: CHAT,
    capabilities: ['completion', 'tools'],
    rules: [
      { messageIncludes: 'Refactor this method add', answer: `Here you go:\n\n\`\`\`typescript\n${REFACTORED}\n\`\`\`\n` },
      { messageIncludes: 'hover popup', answer: HOVER },
    ],
    defaultAnswer: 'I cannot help with that.',
  };
}

// --- Lua literals ------------------------------------------------------------------------------------------------

type LuaValue = string | number | boolean | null | undefined | LuaValue[] | { [key: string]: LuaValue };

/** A Lua string literal of `s` in UTF-8 (bytes outside printable ASCII as decimal escapes). */
function luaString(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (c === '\\' || c === "'") out += '\\' + c;
    else if (byte >= 0x20 && byte < 0x7f) out += c;
    else out += `\\${byte}`;
  }
  return `'${out}'`;
}

function lua(value: LuaValue): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return luaString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{ ${value.map(lua).join(', ')} }`;
  return `{ ${Object.entries(value)
    .map(([k, v]) => `[${luaString(k)}] = ${lua(v)}`)
    .join(', ')} }`;
}

// --- Running Neovim ----------------------------------------------------------------------------------------------

interface RunResult {
  ok: boolean;
  error?: string;
  steps: string[];
  data: Record<string, any>;
  messages: string;
}

interface Workspace {
  dir: string;
  file: string;
  xdg: string;
  data: string;
}

let stub: OllamaStub | undefined;
let workspace: Workspace | undefined;

beforeAll(() => {
  ensureEditors(['nvim-0.12', 'nvim-0.10']);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
}, 300_000);

afterEach(async () => {
  await stub?.stop();
  stub = undefined;
  if (workspace) rmSync(workspace.dir, { recursive: true, force: true });
  workspace = undefined;
});

async function startStub(models: StubModel[]): Promise<OllamaStub> {
  stub = new OllamaStub({ models });
  await stub.start();
  return stub;
}

function makeWorkspace(source = SOURCE, name = 'calculator.ts'): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'xencode-nvim-'));
  const root = join(dir, 'project');
  mkdirSync(join(root, '.git'), { recursive: true });
  const file = join(root, name);
  writeFileSync(file, source);
  workspace = { dir, file, xdg: join(dir, 'xdg'), data: join(dir, 'data') };
  for (const sub of ['config', 'data', 'state', 'cache']) mkdirSync(join(workspace.xdg, sub), { recursive: true });
  mkdirSync(workspace.data, { recursive: true });
  return workspace;
}

interface RunOptions {
  editor: EditorName;
  /** setup() options besides cmd (which always runs the built server with this Node). */
  setup: Record<string, LuaValue>;
  /** The steps: Lua table constructors `{ name = …, run = …, wait = … },` (H is the harness). */
  steps: string;
  /** Lua run in init.lua before setup(). */
  before?: string;
  /** false: the file is not one Xencode attaches to (no first step waiting for the client). */
  attach?: boolean;
}

function lspLog(ws: Workspace): string {
  const path = join(ws.xdg, 'state', 'nvim', 'lsp.log');
  if (!existsSync(path)) return '(no lsp.log)';
  return readFileSync(path, 'utf8').split('\n').slice(-60).join('\n');
}

/** The process ids below `pid` (Linux: /proc/PID/task/PID/children). */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    /* gone, or no /proc */
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

/** Kills Neovim's process group and the servers it started (Neovim puts each in a process group of its own). */
function killTree(pid: number): void {
  for (const target of [...descendants(pid).map((p) => -p), ...descendants(pid), -pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      /* not a group leader, or already gone */
    }
  }
}

async function runNeovim(options: RunOptions): Promise<RunResult> {
  const ws = workspace ?? makeWorkspace();
  const resultPath = join(ws.dir, 'result.json');
  const init = join(ws.dir, 'init.lua');
  const script = join(ws.dir, 'test.lua');
  const setup = { cmd: [process.execPath, CLI, '--stdio'], ...options.setup };
  writeFileSync(
    init,
    [
      'vim.opt.swapfile = false',
      'vim.opt.more = false',
      'vim.opt.shortmess:append("I")',
      `vim.opt.rtp:append(${luaString(PLUGIN)})`,
      options.before ?? '',
      `require('xencode').setup(${lua(setup)})`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    script,
    [
      `local H = dofile(${luaString(HARNESS)})`,
      `H.xencode = ${lua([process.execPath, CLI])}`,
      `H.run({ result = ${luaString(resultPath)}, timeout_ms = ${STEPS_TIMEOUT_MS}, steps = {`,
      options.attach === false
        ? ''
        : `  { name = 'attached', wait = function() return H.client() ~= nil end,\n` +
          `    describe = function() return { clients = #vim.lsp.get_clients(), ft = vim.bo.filetype } end },`,
      options.steps,
      '} })',
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_CONFIG_HOME: join(ws.xdg, 'config'),
    XDG_DATA_HOME: join(ws.xdg, 'data'),
    XDG_STATE_HOME: join(ws.xdg, 'state'),
    XDG_CACHE_HOME: join(ws.xdg, 'cache'),
    XENCODE_DATA_DIR: ws.data,
    XENCODE_NO_WARMUP: '1',
  };
  delete env.OLLAMA_HOST;
  delete env.XENCODE_LOG;
  const args = ['--headless', '-i', 'NONE', '-u', init, '-S', script, ws.file];
  const child = spawn(editorPath(options.editor), args, { cwd: join(ws.dir, 'project'), env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  let timedOut = false;
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      timedOut = true;
      killTree(child.pid!);
    }, RUN_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  const result: RunResult | undefined = existsSync(resultPath) ? JSON.parse(readFileSync(resultPath, 'utf8')) : undefined;
  if (timedOut || code !== 0 || !result?.ok) {
    const why = timedOut ? `killed after ${RUN_TIMEOUT_MS} ms` : `exit code ${code}`;
    throw new Error(
      [
        `${options.editor}: ${why}; ${result ? `failed: ${result.error}` : 'no result file'}`,
        `steps: ${result?.steps.join(' → ') ?? '(none)'}`,
        `data: ${JSON.stringify(result?.data ?? {}, null, 1).slice(0, 4000)}`,
        `messages:\n${result?.messages ?? ''}`,
        `output:\n${output.slice(-4000)}`,
        `lsp.log (tail):\n${lspLog(ws)}`,
        `Ollama stand-in:\n${stub?.describeRequests() ?? ''}`,
      ].join('\n'),
    );
  }
  return result;
}

function settings(extra: Record<string, LuaValue> = {}): Record<string, LuaValue> {
  return { ollama: { host: stub!.url }, models: [FIM], actions: { models: [CHAT] }, ...extra };
}

// --- Lua steps shared by the tests -------------------------------------------------------------------------------

/** Normal mode, the cursor on (line, col), then `keys` ('A', 'i') into insert mode. */
function enterInsert(name: string, line: number | string, col: number, keys: string): string {
  return `
  { name = ${luaString(name)}, run = function()
      vim.api.nvim_win_set_cursor(0, { ${line}, ${col} })
      H.feed(${luaString(keys)}, 'n')
    end, wait = function() return H.mode() == 'i' end },`;
}

/** Waits for ghost text in namespace `ns` that satisfies the Lua predicate `ok(m)`; stores the extmark. */
function waitGhost(name: string, ns: string, ok = 'm.virt_text ~= "" or #m.virt_lines > 0'): string {
  return `
  { name = ${luaString(name)}, wait = function()
      local m = H.extmarks(${luaString(ns)})[1]
      if m and (${ok}) then m.line = H.line(m.row + 1); m.cursor = H.cursor(); return m end
    end, describe = function() return { marks = H.extmarks(${luaString(ns)}), line = vim.api.nvim_get_current_line(), mode = H.mode() } end },`;
}

function feedThenLine(name: string, keys: string, line: number | string, expected: string): string {
  return `
  { name = ${luaString(name)}, run = function() H.feed(${luaString(keys)}) end,
    wait = function() if H.line(${line}) == ${luaString(expected)} then return { line = H.line(${line}), cursor = H.cursor() } end end,
    describe = function() return { line = H.line(${line}), mode = H.mode() } end },`;
}

/** Waits until xencode.stats satisfies the Lua predicate over `s`; stores the stats. */
function waitStats(name: string, predicate: string): string {
  return `
  { name = ${luaString(name)}, wait = function() local s = H.stats(); if ${predicate} then return s end end,
    describe = function() return H.stats() end },`;
}

/**
 * Waits until `xencode feedback stats --json` (the CLI, run from Neovim while the server it started runs, on the
 * same XENCODE_DATA_DIR) satisfies the Lua predicate over `f`; stores the stats. Only runs begun in this step count.
 */
function waitFeedback(name: string, predicate: string): string {
  return `
  { name = ${luaString(name)}, run = function() H.feedback_reset() end,
    wait = function() local f = H.feedback_stats(); if f and (${predicate}) then return f end end,
    describe = function() return H.feedback_describe() end },`;
}

const NATIVE_NS = 'nvim.lsp.inline_completion';
const PLUGIN_NS = 'xencode.ghost';

// --- The tests ---------------------------------------------------------------------------------------------------

describe('Neovim 0.12', () => {
  const editor: EditorName = 'nvim-0.12';

  it('shows ghost text through vim.lsp.inline_completion; the plugin accepts a word, then <Tab> accepts the rest, <C-]> dismisses; accepts and rejects reach the server', async () => {
    await startStub([fimModel()]);
    makeWorkspace();
    const result = await runNeovim({
      editor,
      setup: { settings: settings() },
      steps: `
  { name = 'mode', run = function() return { ghost = require('xencode').ghost_mode(), native = vim.lsp.inline_completion ~= nil } end },
  ${enterInsert('insert', RETURN_LINE, 0, 'A')}
  ${waitGhost('ghost', NATIVE_NS)}
  ${waitFeedback('disk_shown', 'f.shown >= 1')}
  ${feedThenLine('word', '<M-Right>', RETURN_LINE, '  return Math')}
  ${waitGhost('rest', NATIVE_NS, 'm.virt_text == ".max(a, b);"')}
  ${waitFeedback('disk_partly', 'f.partlyAccepted >= 1')}
  ${feedThenLine('tab', '<Tab>', RETURN_LINE, '  return Math.max(a, b);')}
  ${waitStats('stats', 's.feedback.accepted >= 1 and s.feedback.partiallyAccepted >= 1')}
  ${waitFeedback('disk_accepted', 'f.accepted >= 1')}
  { name = 'normal', run = function() H.feed('<Esc>', 'n') end, wait = function() return H.mode() == 'n' end },
  ${enterInsert('insert2', BIGGEST_LINE, BIGGEST_COL, 'i')}
  ${waitGhost('ghost2', NATIVE_NS)}
  { name = 'dismissed', run = function() H.feed('<C-]>') end, wait = function()
      if #H.extmarks(${luaString(NATIVE_NS)}) == 0 then return { line = H.line(${BIGGEST_LINE}), mode = H.mode() } end
    end },
  ${waitStats('rejected', 's.feedback.rejected >= 1')}
  ${waitFeedback('disk_rejected', 'f.rejected >= 1')}
  { name = 'buffer', run = function() return H.text() end },`,
    });
    expect(result.data.mode).toEqual({ ghost: 'native', native: true });
    expect(result.data.ghost).toMatchObject({ row: RETURN_LINE - 1, col: '  return '.length, virt_text: 'Math.max(a, b);', hl: 'ComplHint' });
    expect(result.data.word.cursor).toEqual([RETURN_LINE, '  return Math'.length]);
    expect(result.data.tab.cursor).toEqual([RETURN_LINE, '  return Math.max(a, b);'.length]);
    expect(result.data.buffer).toBe(SOURCE.replace('  return \n', '  return Math.max(a, b);\n').replace(/\n$/, ''));
    // The word: reported by the plugin with its length; the rest: by Neovim running the item's command.
    expect(result.data.stats.feedback).toMatchObject({ accepted: 1, partiallyAccepted: 1 });
    expect(result.data.stats.feedback.acceptedChars).toBe('Math'.length + '.max(a, b);'.length);
    // Dismiss: Neovim hides it, nothing is inserted, the plugin reports the reject.
    expect(result.data.dismissed).toEqual({ line: 'export const biggest = Math.max();', mode: 'i' });
    expect(result.data.rejected.feedback).toMatchObject({ accepted: 1, partiallyAccepted: 1, rejected: 1 });
    expect(stub!.generateRequests(FIM).length).toBeGreaterThanOrEqual(1);
    // The same outcomes in the feedback store, read by `xencode feedback stats --json` while the server ran: the
    // shown record before any key, the word (its own record: Neovim asks again after it), the <Tab>, the dismiss.
    expect(result.data.disk_shown.shown).toBeGreaterThanOrEqual(1);
    expect(result.data.disk_shown).toMatchObject({ accepted: 0, partlyAccepted: 0, rejected: 0 });
    expect(result.data.disk_partly).toMatchObject({ accepted: 0, partlyAccepted: 1, rejected: 0 });
    expect(result.data.disk_accepted).toMatchObject({ accepted: 1, partlyAccepted: 1, rejected: 0 });
    expect(result.data.disk_accepted.byLanguage.typescript).toMatchObject({ accepted: 1, partlyAccepted: 1 });
    expect(result.data.disk_accepted.byModel[FIM]).toMatchObject({ accepted: 1 });
    expect(result.data.disk_rejected).toMatchObject({ accepted: 1, partlyAccepted: 1, rejected: 1 });
    // And on disk after Neovim quit (and stopped the server): the data directory the test gave it.
    const after = await feedbackStats(workspace!.data);
    expect(after).toMatchObject({ accepted: 1, partlyAccepted: 1, rejected: 1 });
    expect(after.shown).toBeGreaterThanOrEqual(2);
  });

  it('puts the AI item in the completion popup (omnifunc); choosing it inserts the whole answer once and reports the accept', async () => {
    await startStub([fimModel()]);
    makeWorkspace();
    const result = await runNeovim({
      editor,
      setup: { settings: settings() },
      steps: `
  { name = 'request', run = function()
      return H.request('textDocument/completion', { textDocument = { uri = vim.uri_from_bufnr(0) }, position = { line = ${BIGGEST_LINE - 1}, character = ${BIGGEST_COL} } })
    end },
  ${enterInsert('insert', BIGGEST_LINE, BIGGEST_COL, 'i')}
  ${waitGhost('ghost', NATIVE_NS)}
  { name = 'popup', run = function() H.feed('<C-x><C-o>', 'n') end, wait = function()
      local info = vim.fn.complete_info({ 'items', 'selected', 'pum_visible' })
      if #info.items > 0 then
        local items = {}
        for _, it in ipairs(info.items) do items[#items + 1] = { word = it.word, abbr = it.abbr, menu = it.menu } end
        return { items = items, selected = info.selected, pum_visible = info.pum_visible }
      end
    end },
  ${feedThenLine('chosen', '<C-y>', BIGGEST_LINE, 'export const biggest = Math.max(1, 2);')}
  ${waitStats('stats', 's.feedback.accepted >= 1')}`,
    });
    const list = result.data.request;
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ label: '1, 2', textEdit: { newText: '1, 2);' }, command: { command: 'xencode.acceptCompletion' } });
    expect(result.data.popup.items).toEqual([expect.objectContaining({ word: '1, 2);', abbr: expect.stringContaining('1, 2') })]);
    // Neovim alone would leave `Math.max(1, 2););`: the plugin puts the item's whole textEdit in place.
    expect(result.data.chosen).toEqual({ line: 'export const biggest = Math.max(1, 2);', cursor: [BIGGEST_LINE, BIGGEST_COL + '1, 2'.length] });
    expect(result.data.stats.feedback.accepted).toBe(1);
  });

  it('applies a code action: Refactor method add through codeAction/resolve', async () => {
    await startStub([fimModel(), chatModel()]);
    makeWorkspace();
    const result = await runNeovim({
      editor,
      setup: { settings: settings() },
      steps: `
  { name = 'titles', run = function()
      vim.api.nvim_win_set_cursor(0, { 7, 10 })
      local actions = H.request('textDocument/codeAction', { textDocument = { uri = vim.uri_from_bufnr(0) },
        range = { start = { line = 6, character = 10 }, ['end'] = { line = 6, character = 10 } }, context = { diagnostics = {} } })
      local titles = {}
      for _, a in ipairs(actions) do titles[#titles + 1] = a.title end
      return titles
    end },
  { name = 'applied', run = function()
      vim.lsp.buf.code_action({ apply = true, filter = function(a) return a.title == 'Xencode: Refactor method add' end })
    end, wait = function() if H.text():find('log(sum);', 1, true) then return H.text() end end },
  ${waitStats('stats', 's.actions.requests >= 1')}`,
    });
    expect(result.data.titles).toContain('Xencode: Refactor method add');
    const expected = SOURCE.replace('    this.total += sum;\n', '    this.total += sum;\n    log(sum);\n').replace(/\n$/, '');
    expect(result.data.applied).toBe(expected);
    expect(result.data.stats.actions).toMatchObject({ requests: 1, edits: 1 });
    expect(stub!.chatRequests(CHAT)).toHaveLength(1);
  });

  it('shows the hover explanation in a float (vim.lsp.buf.hover)', async () => {
    await startStub([fimModel(), chatModel()]);
    makeWorkspace();
    const result = await runNeovim({
      editor,
      setup: { settings: settings() },
      steps: `
  { name = 'float', run = function()
      vim.api.nvim_win_set_cursor(0, { 6, 3 })
      vim.lsp.buf.hover()
    end, wait = function()
      for _, lines in ipairs(H.floats()) do
        if table.concat(lines, '\\n'):find(${luaString(HOVER)}, 1, true) then return lines end
      end
    end, describe = function() return H.floats() end },
  { name = 'hover', run = function()
      return H.request('textDocument/hover', { textDocument = { uri = vim.uri_from_bufnr(0) }, position = { line = 5, character = 3 } })
    end },
  ${waitStats('stats', 's.hover.answered >= 2')}`,
    });
    expect(result.data.float.join('\n')).toContain(HOVER);
    expect(result.data.hover.contents).toMatchObject({ kind: 'markdown' });
    expect(result.data.hover.contents.value).toContain(HOVER);
    expect(result.data.stats.hover).toMatchObject({ requests: 2, answered: 2, cacheHits: 1 });
  });

  it('draws the plugin\'s own ghost text when asked to (ghost.native = false): the 0.11 path on the 0.11+ client API', async () => {
    await startStub([fimModel()]);
    makeWorkspace();
    const result = await runNeovim({ editor, setup: { settings: settings(), ghost: { native: false } }, steps: pluginGhostSteps() });
    checkPluginGhost(result);
  });

  it(':checkhealth xencode reports the version, the ghost-text path, the running client and the open problems', async () => {
    await startStub([fimModel()]);
    makeWorkspace();
    const result = await runNeovim({
      editor,
      // A model the stand-in does not have: its failure is an open problem.
      setup: { settings: settings({ models: [FIM, 'missing-model:1b'] }) },
      steps: `
  { name = 'complete', run = function()
      H.request('textDocument/completion', { textDocument = { uri = vim.uri_from_bufnr(0) }, position = { line = ${RETURN_LINE - 1}, character = 9 } })
    end },
  ${waitStats('problems', '#s.problems > 0')}
  { name = 'health', run = function()
      vim.cmd('checkhealth xencode')
      return vim.api.nvim_buf_get_lines(0, 0, -1, false)
    end },`,
    });
    const report = (result.data.health as string[]).join('\n');
    expect(report).toMatch(/OK Neovim 0\.12\.\d+/);
    expect(report).toContain("ghost text: Neovim's own vim.lsp.inline_completion");
    expect(report).toMatch(/OK .* is executable/);
    expect(report).toMatch(new RegExp(`OK client \\d+: xencode ${PACKAGE_VERSION.replace(/\./g, '\\.')}, root .*project, attached to calculator\\.ts`));
    expect(report).toContain('OK the server offers inline completion');
    expect(report).toMatch(/WARNING .*missing-model/);
    expect(report).toContain('OK accept: <Tab>');
  });
});

/** The plugin's ghost text: word accept (partial, reported), the rest on screen, <Tab>; then an answer inside a
 *  call (the rest of the line kept once) accepted whole. */
function pluginGhostSteps(): string {
  return `
  { name = 'mode', run = function() return { ghost = require('xencode').ghost_mode() } end },
  ${enterInsert('insert', RETURN_LINE, 0, 'A')}
  ${waitGhost('ghost', PLUGIN_NS)}
  ${waitFeedback('disk_shown', 'f.shown >= 1')}
  ${feedThenLine('word', '<M-Right>', RETURN_LINE, '  return Math')}
  ${waitGhost('rest', PLUGIN_NS, 'm.virt_text == ".max(a, b);"')}
  ${waitStats('partial', 's.feedback.partiallyAccepted >= 1')}
  ${waitFeedback('disk_partly', 'f.partlyAccepted >= 1')}
  ${feedThenLine('tab', '<Tab>', RETURN_LINE, '  return Math.max(a, b);')}
  { name = 'cleared', wait = function() return #H.extmarks(${luaString(PLUGIN_NS)}) == 0 end },
  { name = 'normal', run = function() H.feed('<Esc>', 'n') end, wait = function() return H.mode() == 'n' end },
  ${enterInsert('insert2', BIGGEST_LINE, BIGGEST_COL, 'i')}
  ${waitGhost('ghost2', PLUGIN_NS)}
  ${feedThenLine('tab2', '<Tab>', BIGGEST_LINE, 'export const biggest = Math.max(1, 2);')}
  { name = 'normal2', run = function() H.feed('<Esc>', 'n') end, wait = function() return H.mode() == 'n' end },
  ${enterInsert('insert3', GREETING_LINE, GREETING_COL, 'i')}
  ${waitGhost('ghost3', PLUGIN_NS)}
  ${feedThenLine('tab3', '<Tab>', GREETING_LINE, `${GREETING_PREFIX}name;`)}
  ${waitStats('stats', 's.feedback.accepted >= 3')}
  ${waitFeedback('disk_accepted', 'f.accepted >= 3')}
  { name = 'buffer', run = function() return H.text() end },`;
}

function checkPluginGhost(result: RunResult): void {
  expect(result.data.mode).toEqual({ ghost: 'plugin' });
  expect(result.data.ghost).toMatchObject({ row: RETURN_LINE - 1, col: '  return '.length, virt_text: 'Math.max(a, b);', pos: 'inline', hl: 'XencodeGhost', virt_lines: [] });
  expect(result.data.word.cursor).toEqual([RETURN_LINE, '  return Math'.length]);
  expect(result.data.rest).toMatchObject({ col: '  return Math'.length });
  // acceptedLength: the word's length, in the answer's UTF-16 units.
  expect(result.data.partial.feedback).toMatchObject({ partiallyAccepted: 1, accepted: 0, acceptedChars: 'Math'.length });
  expect(result.data.tab.cursor).toEqual([RETURN_LINE, '  return Math.max(a, b);'.length]);
  // Inside the call: the ghost text is the answer alone, the `);` after the cursor stays once.
  expect(result.data.ghost2).toMatchObject({ row: BIGGEST_LINE - 1, col: BIGGEST_COL, virt_text: '1, 2' });
  expect(result.data.tab2.cursor).toEqual([BIGGEST_LINE, BIGGEST_COL + '1, 2'.length]);
  // The <Tab> after the word accepted the rest of the same answer: the partial accept became an accept. The answers
  // in the call and after the non-ASCII text are whole accepts.
  // After non-ASCII text: UTF-16 positions from the server, byte columns in Neovim.
  expect(result.data.ghost3).toMatchObject({ row: GREETING_LINE - 1, col: GREETING_COL, virt_text: 'name' });
  expect(result.data.tab3.cursor).toEqual([GREETING_LINE, GREETING_COL + 'name'.length]);
  expect(result.data.stats.feedback).toMatchObject({ accepted: 3, partiallyAccepted: 0, acceptedChars: 'Math.max(a, b);'.length + '1, 2'.length + 'name'.length });
  // The feedback store, through `xencode feedback stats --json` while the server ran: shown before any key; the
  // word a partial accept; after <Tab> the same record an accept.
  expect(result.data.disk_shown.shown).toBeGreaterThanOrEqual(1);
  expect(result.data.disk_shown).toMatchObject({ accepted: 0, partlyAccepted: 0, rejected: 0 });
  expect(result.data.disk_partly).toMatchObject({ accepted: 0, partlyAccepted: 1 });
  expect(result.data.disk_accepted).toMatchObject({ accepted: 3, partlyAccepted: 0, rejected: 0 });
  expect(result.data.disk_accepted.byLanguage.typescript).toMatchObject({ accepted: 3 });
  expect(result.data.buffer).toBe(
    SOURCE.replace('  return \n', '  return Math.max(a, b);\n')
      .replace('Math.max();', 'Math.max(1, 2);')
      .replace('" + ;', '" + name;')
      .replace(/\n$/, ''),
  );
}

describe('Neovim 0.10', () => {
  const editor: EditorName = 'nvim-0.10';

  it('draws the plugin\'s ghost text (extmarks), accepts a word (reported with acceptedLength) and the rest with <Tab>', async () => {
    await startStub([fimModel()]);
    makeWorkspace();
    const result = await runNeovim({ editor, setup: { settings: settings() }, steps: pluginGhostSteps() });
    checkPluginGhost(result);
  });

  it('multi-line ghost text: virtual lines, accept line by line, dismiss (a reject), cleared on cursor move and on leaving insert mode', async () => {
    const answer = 'a > b\n    ? a\n    : b;';
    await startStub([fimModel({ rules: [{ promptIncludes: 'biggest = Math.max(', answer: '1, 2' }, { promptIncludes: 'function max', answer }] })]);
    makeWorkspace();
    const result = await runNeovim({
      editor,
      setup: { settings: settings() },
      steps: `
  ${enterInsert('insert', RETURN_LINE, 0, 'A')}
  ${waitGhost('ghost', PLUGIN_NS)}
  ${feedThenLine('line1', '<M-Down>', RETURN_LINE, '  return a > b')}
  ${waitGhost('rest', PLUGIN_NS, '#m.virt_lines == 2')}
  ${feedThenLine('line2', '<M-Down>', RETURN_LINE + 1, '    ? a')}
  ${waitStats('partial', `s.feedback.acceptedChars >= ${'a > b\n    ? a'.length}`)}
  ${feedThenLine('all', '<Tab>', RETURN_LINE + 2, '    : b;')}
  { name = 'normal', run = function() H.feed('<Esc>', 'n') end, wait = function() return H.mode() == 'n' end },
  ${enterInsert('insert2', BIGGEST_LINE + 2, BIGGEST_COL, 'i')}
  ${waitGhost('ghost2', PLUGIN_NS)}
  { name = 'dismissed', run = function() H.feed('<C-]>') end, wait = function()
      if #H.extmarks(${luaString(PLUGIN_NS)}) == 0 then return { line = H.line(${BIGGEST_LINE + 2}), mode = H.mode() } end
    end },
  ${waitStats('rejected', 's.feedback.rejected >= 1')}
  { name = 'moved', run = function() H.feed('<Left>', 'n') end, wait = function() return H.cursor()[2] == ${BIGGEST_COL - 1} end },
  { name = 'back', run = function() H.feed('<Right>', 'n') end, wait = function() return H.cursor()[2] == ${BIGGEST_COL} end },
  ${waitGhost('ghost3', PLUGIN_NS)}
  { name = 'cleared_on_move', run = function() H.feed('<Left>', 'n') end, wait = function()
      local m = H.extmarks(${luaString(PLUGIN_NS)})[1]
      return (m == nil or m.col ~= ${BIGGEST_COL}) and { marks = H.extmarks(${luaString(PLUGIN_NS)}) }
    end },
  { name = 'back2', run = function() H.feed('<Right>', 'n') end, wait = function() return H.cursor()[2] == ${BIGGEST_COL} end },
  ${waitGhost('ghost4', PLUGIN_NS)}
  { name = 'left_insert', run = function() H.feed('<Esc>', 'n') end, wait = function()
      if H.mode() == 'n' and #H.extmarks(${luaString(PLUGIN_NS)}) == 0 then return { line = H.line(${BIGGEST_LINE + 2}) } end
    end },
  ${waitStats('stats', 'true')}
  { name = 'buffer', run = function() return H.text() end },`,
    });
    expect(result.data.ghost).toMatchObject({ row: RETURN_LINE - 1, col: '  return '.length, virt_text: 'a > b', virt_lines: ['    ? a', '    : b;'] });
    expect(result.data.rest).toMatchObject({ virt_text: '', virt_lines: ['    ? a', '    : b;'], col: '  return a > b'.length });
    expect(result.data.line2.cursor).toEqual([RETURN_LINE + 1, '    ? a'.length]);
    expect(result.data.all.cursor).toEqual([RETURN_LINE + 2, '    : b;'.length]);
    expect(result.data.ghost2).toMatchObject({ row: BIGGEST_LINE + 1, col: BIGGEST_COL, virt_text: '1, 2' });
    expect(result.data.dismissed).toEqual({ line: 'export const biggest = Math.max();', mode: 'i' });
    expect(result.data.left_insert).toEqual({ line: 'export const biggest = Math.max();' });
    // Line by line to the end: the partial accept became an accept.
    expect(result.data.stats.feedback).toMatchObject({ accepted: 1, partiallyAccepted: 0, rejected: 1, acceptedChars: answer.length });
    expect(result.data.buffer).toBe(SOURCE.replace('  return \n', `  return ${answer}\n`).replace(/\n$/, ''));
  });

  it('popup, code action and hover work too', async () => {
    await startStub([fimModel(), chatModel()]);
    makeWorkspace();
    const result = await runNeovim({
      editor,
      setup: { settings: settings(), inline: false },
      steps: `
  ${enterInsert('insert', BIGGEST_LINE, BIGGEST_COL, 'i')}
  { name = 'popup', run = function() H.feed('<C-x><C-o>', 'n') end, wait = function()
      local info = vim.fn.complete_info({ 'items' })
      if #info.items > 0 then return { word = info.items[1].word } end
    end },
  ${feedThenLine('chosen', '<C-y>', BIGGEST_LINE, 'export const biggest = Math.max(1, 2);')}
  { name = 'normal', run = function() H.feed('<Esc>', 'n') end, wait = function() return H.mode() == 'n' end },
  { name = 'applied', run = function()
      vim.api.nvim_win_set_cursor(0, { 7, 10 })
      vim.lsp.buf.code_action({ apply = true, filter = function(a) return a.title == 'Xencode: Refactor method add' end })
    end, wait = function() if H.text():find('log(sum);', 1, true) then return H.text() end end },
  { name = 'float', run = function()
      vim.api.nvim_win_set_cursor(0, { 6, 3 })
      vim.lsp.buf.hover()
    end, wait = function()
      for _, lines in ipairs(H.floats()) do
        if table.concat(lines, '\\n'):find(${luaString(HOVER)}, 1, true) then return lines end
      end
    end, describe = function() return H.floats() end },
  ${waitStats('stats', 's.feedback.accepted >= 1 and s.actions.edits >= 1 and s.hover.answered >= 1')}`,
    });
    expect(result.data.popup).toEqual({ word: '1, 2);' });
    expect(result.data.chosen.line).toBe('export const biggest = Math.max(1, 2);');
    expect(result.data.applied).toContain('    this.total += sum;\n    log(sum);\n    return sum;');
    expect(result.data.applied).toContain('export const biggest = Math.max(1, 2);');
    expect(result.data.float.join('\n')).toContain(HOVER);
  });

  it('without ghost text the keys do what they did before setup(): the earlier mapping, else the key itself', async () => {
    await startStub([fimModel({ rules: [] })]); // no answers: never any ghost text
    makeWorkspace();
    const result = await runNeovim({
      editor,
      before: "vim.keymap.set('i', '<M-Down>', 'PREV')",
      // An empty section: sent as {} (an empty Lua table is a JSON [] otherwise, which the server reports).
      setup: { settings: settings({ cache: {} }) },
      steps: `
  { name = 'maps', run = function()
      local out = {}
      for _, lhs in ipairs({ '<Tab>', '<M-Right>', '<M-Down>', '<C-]>' }) do out[lhs] = vim.fn.maparg(lhs, 'i', false, true).desc end
      return out
    end },
  ${enterInsert('insert', RETURN_LINE, 0, 'A')}
  { name = 'asked', wait = function() return H.stats().completions.requests >= 1 end },
  ${feedThenLine('tab', '<Tab>', RETURN_LINE, '  return \t')}
  ${feedThenLine('previous', '<M-Down>', RETURN_LINE, '  return \tPREV')}
  ${feedThenLine('word', '<M-Right>', RETURN_LINE, '  return \tPREV')}
  { name = 'command', run = function()
      vim.cmd('Xencode stats')
      vim.cmd('Xencode toggle')
      local off = require('xencode.ghost').enabled
      vim.cmd('Xencode toggle')
      return { off = off, on = require('xencode.ghost').enabled }
    end },
  { name = 'second file', run = function() vim.cmd('stopinsert | edit other.ts') end, wait = function()
      local clients = vim.lsp.get_clients({ name = 'xencode' })
      if H.client() and #clients == 1 then return { clients = #clients, buffers = vim.tbl_count(clients[1].attached_buffers) } end
    end },`,
    });
    expect(result.data.maps).toEqual({
      '<Tab>': 'xencode: accept (ghost text)',
      '<M-Right>': 'xencode: accept word (ghost text)',
      '<M-Down>': 'xencode: accept line (ghost text)',
      '<C-]>': 'xencode: dismiss (ghost text)',
    });
    expect(result.data.word.cursor).toEqual([RETURN_LINE, '  return \tPREV'.length]);
    expect(result.data.command).toEqual({ off: false, on: true });
    expect(result.messages).not.toMatch(/settings/i);
    // One server per root: the second file of the project joins the first file's client.
    expect(result.data['second file']).toEqual({ clients: 1, buffers: 2 });
  });

  it(':checkhealth xencode starts a server for the check when none is running', async () => {
    await startStub([fimModel()]);
    makeWorkspace('plain notes\n', 'notes.txt');
    const result = await runNeovim({
      editor,
      setup: { settings: settings() },
      steps: `
  { name = 'health', run = function()
      vim.cmd('checkhealth xencode')
      return vim.api.nvim_buf_get_lines(0, 0, -1, false)
    end },`,
      // No filetype for Xencode here: no client attaches.
      attach: false,
    });
    const report = (result.data.health as string[]).join('\n');
    expect(report).toMatch(/OK Neovim 0\.10\.\d+/);
    expect(report).toContain('ghost text: drawn by the plugin');
    expect(report).toContain('started by a FileType autocmd');
    expect(report).toMatch(new RegExp(`OK client \\d+: xencode ${PACKAGE_VERSION.replace(/\./g, '\\.')}, root .*project, started for this check`));
    expect(report).toContain('OK no open problems');
  });
});
