-- :checkhealth xencode
local util = require('xencode.util')

local M = {}

local health = vim.health

local function start_temporary(config)
  local client_config = require('xencode').client_config(config)
  client_config.root_dir = vim.fn.getcwd()
  client_config.root_markers = nil
  client_config.filetypes = nil
  client_config.name = util.NAME
  local id
  if util.has_011 then
    id = vim.lsp.start(client_config, {
      attach = false,
      silent = true,
      reuse_client = function()
        return false
      end,
    })
  else
    id = vim.lsp.start_client(client_config)
  end
  return id and vim.lsp.get_client_by_id(id)
end

local function check_neovim(xencode, config)
  health.start('xencode: Neovim')
  local v = vim.version()
  local version = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.10') == 0 then
    health.error('Neovim ' .. version .. ': Xencode needs 0.10 or newer')
    return false
  end
  health.ok('Neovim ' .. version)
  if not xencode.config then
    health.warn('setup() has not run: showing the defaults', { "call require('xencode').setup({ ... }) in your config" })
  end
  local mode = xencode.ghost_mode()
  if mode == 'native' then
    health.ok('ghost text: Neovim\'s own vim.lsp.inline_completion (0.12+), highlight ComplHint')
  elseif mode == 'plugin' then
    local why = require('xencode.native').available() and 'ghost.native = false' or 'this Neovim has no vim.lsp.inline_completion'
    health.ok(('ghost text: drawn by the plugin (extmarks, highlight %s; %s)'):format(config.ghost.hl_group or 'XencodeGhost', why))
  else
    health.info('ghost text: off (inline = false); answers still come in the completion popup')
  end
  if util.has_011 then
    local enabled = vim.lsp.is_enabled and vim.lsp.is_enabled(util.NAME)
    health.info('started by vim.lsp.config + vim.lsp.enable' .. (enabled == false and ' (not enabled)' or ''))
  else
    health.info('started by a FileType autocmd (vim.lsp.start; Neovim 0.10)')
  end
  for _, action in ipairs(mode == 'off' and {} or { 'accept', 'accept_word', 'accept_line', 'dismiss' }) do
    local lhs = config.keys[action]
    if lhs and lhs ~= '' then
      local m = vim.fn.maparg(lhs, 'i', false, true)
      if type(m.desc) == 'string' and m.desc:match('^xencode:') then
        health.ok(('%s: %s'):format(action, lhs))
      elseif xencode.config then
        health.warn(('%s: %s is mapped to something else now'):format(action, lhs), {
          'another plugin mapped the key after setup(); call require("xencode").' .. action
            .. '() from that mapping, or choose another key in keys.' .. action,
        })
      end
    else
      health.info(action .. ': not mapped')
    end
  end
  return true
end

local function check_command(config)
  health.start('xencode: server command')
  local cmd = config.cmd or require('xencode').default_cmd()
  if type(cmd) == 'function' then
    health.info('cmd is a function: not checked')
    return true
  end
  health.info('cmd: ' .. table.concat(cmd, ' '))
  if vim.fn.executable(cmd[1]) ~= 1 then
    health.error(cmd[1] .. ' is not executable (or not on $PATH)', {
      'install Xencode (`npm install -g xencode`, or `npm ci` in a checkout) and make `xencode` reachable,',
      'or set cmd = { "node", "/path/to/xencode/dist/server/cli.js", "--stdio" }',
    })
    return false
  end
  health.ok(cmd[1] .. ' is executable')
  local script = cmd[2]
  if vim.fn.fnamemodify(cmd[1], ':t'):match('^node') then
    local out = vim.fn.system({ cmd[1], '--version' })
    local major = tonumber((out or ''):match('v(%d+)'))
    if major and major >= 20 then
      health.ok('Node.js ' .. vim.trim(out))
    else
      health.error('Node.js 20 or newer is needed; ' .. cmd[1] .. ' --version says ' .. vim.trim(out or '?'))
    end
    if script and vim.fn.filereadable(script) ~= 1 then
      health.error(script .. ' does not exist', { 'run `npm run build` in the Xencode checkout' })
      return false
    end
  end
  return true
end

local function report_stats(stats)
  local c = stats.completions or {}
  local f = stats.feedback or {}
  health.info(('completions: %d requests, %d answered; accepted %d (partly %d), rejected %d'):format(
    c.requests or 0, c.answered or 0, f.accepted or 0, f.partiallyAccepted or 0, f.rejected or 0))
  local a, h = stats.actions or {}, stats.hover or {}
  health.info(('code actions: %d run, %d edits; hovers: %d, %d answered'):format(
    a.requests or 0, a.edits or 0, h.requests or 0, h.answered or 0))
  local models = vim.tbl_keys(stats.models or {})
  table.sort(models)
  if #models > 0 then
    health.info('models asked: ' .. table.concat(models, ', '))
  end
  local problems = stats.problems or {}
  if #problems == 0 then
    health.ok('no open problems (they show after the first request to a model)')
  end
  for _, problem in ipairs(problems) do
    health.warn(problem)
  end
end

local function check_server(config)
  health.start('xencode: server')
  local clients = util.clients()
  local started
  if #clients == 0 then
    health.info('no Xencode client is running: starting one for this check')
    started = start_temporary(config)
    if not started then
      health.error('the server did not start', { 'see :LspLog, and the command above' })
      return
    end
    clients = { started }
  end
  for _, client in ipairs(clients) do
    local ok = vim.wait(10000, function()
      return client.initialized or util.is_stopped(client)
    end, 50)
    if not ok or util.is_stopped(client) then
      health.error(('client %d: the server did not initialize'):format(client.id), { 'see :LspLog' })
    else
      local info = client.server_info or client.xencode_server_info or {}
      local buffers = {}
      for bufnr in pairs(client.attached_buffers or {}) do
        buffers[#buffers + 1] = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':~:.')
      end
      local where = client == started and 'started for this check'
        or (#buffers > 0 and 'attached to ' .. table.concat(buffers, ', ') or 'attached to no buffer')
      health.ok(('client %d: %s %s, root %s, %s'):format(client.id, info.name or 'xencode', info.version or '?',
        client.config.root_dir or '(none)', where))
      local caps = client.server_capabilities or {}
      if caps.inlineCompletionProvider then
        health.ok('the server offers inline completion (ghost text)')
      else
        health.warn('the server does not offer inline completion', {
          'the client must declare capabilities.textDocument.inlineCompletion (setup() does)',
        })
      end
      local response = util.request_sync(client, 'workspace/executeCommand', { command = 'xencode.stats' }, 5000)
      if response and response.result then
        report_stats(response.result)
      else
        health.warn('xencode.stats did not answer: ' .. vim.inspect(response and response.err or 'timeout'))
      end
    end
  end
  if started then
    util.stop(started)
  end
end

function M.check()
  local xencode = require('xencode')
  local config = xencode.config or xencode.defaults
  if not check_neovim(xencode, config) then
    return
  end
  if check_command(config) then
    check_server(config)
  end
end

return M
