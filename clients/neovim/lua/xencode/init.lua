-- Xencode for Neovim 0.10+: starts the Xencode language server next to your other servers and shows its answers
-- as ghost text (Neovim 0.12: vim.lsp.inline_completion; 0.10/0.11: the plugin's own extmarks), in the completion
-- popup (omnifunc or your completion plugin), as code actions and as hovers. See clients/neovim/README.md.
local util = require('xencode.util')
local api = vim.api

local M = {}

--- The common programming and configuration filetypes (prose such as markdown, help and gitcommit is left out).
M.default_filetypes = {
  'typescript', 'typescriptreact', 'javascript', 'javascriptreact', 'vue', 'svelte', 'astro',
  'python', 'lua', 'go', 'rust', 'c', 'cpp', 'objc', 'objcpp', 'cuda', 'java', 'kotlin', 'scala', 'groovy',
  'cs', 'fsharp', 'swift', 'dart', 'ruby', 'php', 'perl', 'r', 'julia', 'haskell', 'ocaml', 'elixir', 'erlang',
  'clojure', 'zig', 'nim', 'odin', 'solidity', 'sh', 'bash', 'zsh', 'fish', 'ps1', 'vim', 'sql',
  'html', 'css', 'scss', 'less', 'json', 'jsonc', 'yaml', 'toml', 'xml', 'graphql', 'proto', 'terraform', 'hcl',
  'nix', 'dockerfile', 'make', 'cmake', 'just',
}

M.defaults = {
  --- The server command. nil: `node <repo>/dist/server/cli.js --stdio` when this plugin sits in a built Xencode
  --- checkout or npm package (clients/neovim inside it), else `xencode --stdio` from $PATH.
  cmd = nil,
  --- Extra environment for the server, e.g. { XENCODE_LOG = 'debug' }.
  cmd_env = nil,
  filetypes = M.default_filetypes,
  --- The `xencode` settings (README "Settings"): sent as init_options and answered for workspace/configuration.
  settings = {},
  root_markers = { '.git' },
  --- Ghost text (inline completion).
  inline = true,
  ghost = {
    --- The ghost text's highlight group. The plugin's own ghost text uses it; on 0.12 Neovim draws with
    --- `ComplHint`, which is linked to this group only when you set it.
    hl_group = nil,
    --- Plugin ghost text: wait this long after a keystroke before asking (the server also drops stale work).
    debounce_ms = 75,
    --- nil: Neovim's own inline completion where it exists (0.12+); false: always the plugin's ghost text.
    native = nil,
  },
  --- Insert-mode keys; false (or '') leaves a key unmapped. When no ghost text is shown, each key does what it did
  --- before setup() (the global mapping it had, else the key itself).
  keys = {
    accept = '<Tab>',
    accept_word = '<M-Right>',
    accept_line = '<M-Down>',
    dismiss = '<C-]>',
  },
  --- Merged into the client capabilities (the plugin always declares textDocument.inlineCompletion).
  capabilities = nil,
  --- function(client, bufnr), run when Xencode attaches to a buffer.
  on_attach = nil,
}

M.config = nil

local GHOST_HL = 'XencodeGhost'

--- clients/neovim, found from this file (lua/xencode/init.lua).
function M.plugin_root()
  local source = debug.getinfo(1, 'S').source
  if source:sub(1, 1) == '@' then
    source = source:sub(2)
  end
  return vim.fn.fnamemodify(source, ':p:h:h:h')
end

--- `node <repo>/dist/server/cli.js --stdio` when the plugin is inside a built checkout, else `xencode --stdio`.
function M.default_cmd()
  local repo = vim.fn.fnamemodify(M.plugin_root(), ':h:h')
  local cli = repo .. '/dist/server/cli.js'
  if vim.fn.filereadable(cli) == 1 and vim.fn.executable('node') == 1 then
    return { 'node', cli, '--stdio' }
  end
  return { 'xencode', '--stdio' }
end

--- 'native' (vim.lsp.inline_completion, 0.12+), 'plugin' (the plugin's extmarks) or 'off'.
function M.ghost_mode()
  local config = M.config or M.defaults
  if config.inline == false then
    return 'off'
  end
  if config.ghost.native ~= false and require('xencode.native').available() then
    return 'native'
  end
  return 'plugin'
end

local function inline()
  local mode = M.ghost_mode()
  if mode == 'native' then
    return require('xencode.native')
  elseif mode == 'plugin' then
    return require('xencode.ghost')
  end
  return nil
end

-- The settings' sections that are objects: an empty Lua table is sent as a JSON array (`[]`), which the server
-- would report as a wrong value; these go as `{}`.
local OBJECT_SECTIONS = { 'ollama', 'ensemble', 'completion', 'cache', 'feedback', 'actions', 'hover' }

local function settings_json(settings)
  settings = vim.deepcopy(settings or {})
  for _, key in ipairs(OBJECT_SECTIONS) do
    if type(settings[key]) == 'table' and next(settings[key]) == nil then
      settings[key] = vim.empty_dict()
    end
  end
  return next(settings) == nil and vim.empty_dict() or settings
end

--- The vim.lsp client config (for vim.lsp.config on 0.11+, vim.lsp.start on 0.10).
function M.client_config(config)
  config = config or M.config or M.defaults
  local capabilities = { textDocument = { inlineCompletion = { dynamicRegistration = false } } }
  if not util.has_011 then
    -- 0.10 takes the capabilities as they are; 0.11+ merges them into its defaults.
    capabilities = vim.tbl_deep_extend('force', vim.lsp.protocol.make_client_capabilities(), capabilities)
  end
  capabilities = vim.tbl_deep_extend('force', capabilities, config.capabilities or {})
  local settings = settings_json(config.settings)
  return {
    name = util.NAME,
    cmd = config.cmd or M.default_cmd(),
    cmd_env = config.cmd_env,
    filetypes = config.filetypes,
    root_markers = config.root_markers,
    init_options = { xencode = settings },
    settings = { xencode = settings },
    capabilities = capabilities,
    on_attach = config.on_attach,
    on_init = function(client, result)
      -- Neovim 0.10 keeps no serverInfo (0.11+: client.server_info); :checkhealth shows the version.
      client.xencode_server_info = result and result.serverInfo
    end,
  }
end

-- Neovim 0.10: FileType → vim.lsp.start, one client per root (or one for files outside any root).
local function start_010(bufnr, client_config)
  if not api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= '' then
    return
  end
  local config = vim.deepcopy(client_config)
  config.root_dir = vim.fs.root(bufnr, config.root_markers or {})
  config.root_markers = nil
  config.filetypes = nil
  vim.lsp.start(config, {
    bufnr = bufnr,
    reuse_client = function(client, c)
      return client.name == c.name and client.config.root_dir == c.root_dir and not util.is_stopped(client)
    end,
  })
end

local function register(config)
  local client_config = M.client_config(config)
  if util.has_011 then
    vim.lsp.config(util.NAME, client_config)
    vim.lsp.enable(util.NAME)
    return
  end
  local group = api.nvim_create_augroup('xencode.start', { clear = true })
  api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = config.filetypes,
    callback = function(ev)
      start_010(ev.buf, client_config)
    end,
  })
  for _, bufnr in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(config.filetypes, vim.bo[bufnr].filetype) then
      start_010(bufnr, client_config)
    end
  end
end

-- The completion popup (omnifunc, 0.11+ vim.lsp.completion): Neovim inserts only the first line of an item's
-- textEdit.newText at the cursor and leaves the rest of the line after it. Xencode's items replace from the word's
-- start to the end of the line (the answer, then the rest of the line as it was) and may span lines: put the whole
-- newText in place, and report the accept (the plain omnifunc does not run the item's command; a second report of
-- the same item is ignored by the server).
local function fix_popup_insert(bufnr, word, item, encoding)
  local edit = item.textEdit
  if type(edit) ~= 'table' or type(edit.newText) ~= 'string' or item.insertTextFormat == 2 then
    return
  end
  local range = edit.range or edit.replace
  local pos = api.nvim_win_get_cursor(0)
  local row, col = pos[1] - 1, pos[2]
  if not range or range.start.line ~= row then
    return
  end
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  local start = util.byte_col(line, range.start.character, encoding)
  if start + #word ~= col or line:sub(start + 1, col) ~= word then
    return -- not what Vim just inserted (the user typed on, or another plugin changed it)
  end
  local new = edit.newText:gsub('\r\n', '\n')
  local rest = line:sub(col + 1)
  local replace_end, keep = col, 0
  if rest ~= '' and #new >= #rest and new:sub(-#rest) == rest then
    replace_end, keep = #line, #rest -- the rest of the line is in newText already
  elseif new == word then
    return
  end
  local lines = vim.split(new, '\n', { plain = true })
  api.nvim_buf_set_text(bufnr, row, start, row, replace_end, lines)
  local last_row = row + #lines - 1
  local last_col = (#lines == 1 and start or 0) + #lines[#lines] - keep
  api.nvim_win_set_cursor(0, { last_row + 1, last_col })
end

local function on_complete_done(ev)
  local completed = vim.v.completed_item
  local item = type(completed) == 'table' and vim.tbl_get(completed, 'user_data', 'nvim', 'lsp', 'completion_item')
  if type(item) ~= 'table' or type(item.command) ~= 'table' or item.command.command ~= util.ACCEPT then
    return
  end
  local clients = util.clients(ev.buf)
  if #clients == 0 then
    return
  end
  local ok, err = pcall(fix_popup_insert, ev.buf, completed.word or '', item, clients[1].offset_encoding or 'utf-16')
  if not ok then
    vim.notify_once('xencode: could not complete the popup insert: ' .. tostring(err), vim.log.levels.WARN)
  end
  for _, client in ipairs(clients) do
    util.exec(client, util.ACCEPT, item.command.arguments, ev.buf)
  end
end

local function attach(bufnr, client)
  local backend = inline()
  if backend then
    if backend == require('xencode.ghost') then
      backend.config.hl_group = M.config.ghost.hl_group or GHOST_HL
      backend.config.debounce_ms = M.config.ghost.debounce_ms
    end
    backend.attach(bufnr, client.id)
  end
end

local function set_highlights()
  api.nvim_set_hl(0, GHOST_HL, { link = 'Comment', default = true })
  local config = M.config or M.defaults
  if config.ghost.hl_group and M.ghost_mode() == 'native' then
    api.nvim_set_hl(0, 'ComplHint', { link = config.ghost.hl_group })
  end
end

-- Keys ----------------------------------------------------------------------------------------------------------

local previous = {} -- lhs -> the global insert-mode mapping it had before the first setup(), or false
local fallbacks = {} -- index -> a non-expr Lua callback of such a mapping

--- What the key does when no ghost text is shown: the previous mapping, else the key itself.
local function fallback(lhs, prev, index)
  if not prev then
    return lhs
  end
  if prev.callback then
    if prev.expr == 1 then
      return prev.callback() or ''
    end
    return ('<Cmd>lua require("xencode")._fallback(%d)<CR>'):format(index)
  end
  if prev.expr == 1 then
    return api.nvim_eval(prev.rhs)
  end
  return prev.rhs or ''
end

local function map(lhs, action)
  if not lhs or lhs == '' then
    return
  end
  if previous[lhs] == nil then
    local m = vim.fn.maparg(lhs, 'i', false, true)
    local ours = type(m.desc) == 'string' and m.desc:match('^xencode:') ~= nil
    previous[lhs] = (next(m) ~= nil and not ours and m.buffer ~= 1) and m or false
  end
  local prev = previous[lhs]
  local index = #fallbacks + 1
  fallbacks[index] = prev and prev.callback or nil
  vim.keymap.set('i', lhs, function()
    if M.visible() then
      return ('<Cmd>lua require("xencode")._key(%q)<CR>'):format(action)
    end
    return fallback(lhs, prev, index)
  end, {
    expr = true,
    replace_keycodes = true,
    remap = prev and prev.noremap == 0 or false,
    silent = true,
    desc = 'xencode: ' .. action:gsub('_', ' ') .. ' (ghost text)',
  })
end

function M._fallback(index)
  local fn = fallbacks[index]
  if fn then
    fn()
  end
end

function M._key(action)
  if action == 'accept' then
    M.accept()
  elseif action == 'accept_word' then
    M.accept_word()
  elseif action == 'accept_line' then
    M.accept_line()
  elseif action == 'dismiss' then
    M.dismiss()
  end
end

-- Public API ----------------------------------------------------------------------------------------------------

--- Whether ghost text is shown in the current buffer.
function M.visible()
  local backend = inline()
  return backend ~= nil and backend.visible(api.nvim_get_current_buf()) or false
end

--- The ghost text shown in the current buffer, or nil.
function M.shown()
  local backend = inline()
  return backend and backend.shown(api.nvim_get_current_buf()) or nil
end

--- Accepts all of the ghost text; false when none is shown (use it in your own mappings).
function M.accept()
  local backend = inline()
  return backend ~= nil and backend.accept('all') or false
end

function M.accept_word()
  local backend = inline()
  return backend ~= nil and backend.accept('word') or false
end

function M.accept_line()
  local backend = inline()
  return backend ~= nil and backend.accept('line') or false
end

function M.dismiss()
  local backend = inline()
  return backend ~= nil and backend.dismiss() or false
end

--- Asks for ghost text now.
function M.trigger()
  local backend = inline()
  if backend then
    backend.trigger()
  end
end

--- Turns ghost text on or off (nil: toggles). Returns the new state.
function M.toggle(enabled)
  local backend = inline()
  if not backend then
    return false
  end
  if enabled == nil then
    enabled = not backend.enabled
  end
  backend.set_enabled(enabled)
  return enabled
end

--- `xencode.stats` from the server attached to `bufnr` (default: current; else any running xencode client).
--- Returns the table, or nil and a reason.
function M.stats(bufnr, timeout_ms)
  local client = util.clients(bufnr or api.nvim_get_current_buf())[1] or util.clients()[1]
  if not client then
    return nil, 'no xencode client is running'
  end
  local response, err = util.request_sync(client, 'workspace/executeCommand', { command = 'xencode.stats' }, timeout_ms or 3000, bufnr)
  if not response then
    return nil, tostring(err)
  end
  if response.err then
    return nil, response.err.message or vim.inspect(response.err)
  end
  return response.result
end

local function command(opts)
  local sub = opts.fargs[1] or 'stats'
  if sub == 'stats' then
    local stats, err = M.stats()
    if not stats then
      vim.notify('xencode: ' .. err, vim.log.levels.WARN)
      return
    end
    local lines = vim.split(vim.inspect(stats), '\n')
    vim.notify(table.concat(lines, '\n'), vim.log.levels.INFO)
  elseif sub == 'toggle' then
    vim.notify('xencode: ghost text ' .. (M.toggle() and 'on' or 'off'))
  elseif sub == 'clear-cache' then
    for _, client in ipairs(util.clients()) do
      util.exec(client, 'xencode.clearCache', nil, nil)
    end
  else
    vim.notify('xencode: unknown subcommand ' .. sub .. ' (stats, toggle, clear-cache)', vim.log.levels.ERROR)
  end
end

--- Starts Xencode: registers the language server (vim.lsp.config + vim.lsp.enable on 0.11+, a FileType autocmd on
--- 0.10), ghost text and its keys, `:Xencode` and `:checkhealth xencode`.
function M.setup(opts)
  if vim.fn.has('nvim-0.10') == 0 then
    vim.notify('xencode: Neovim 0.10 or newer is required', vim.log.levels.ERROR)
    return
  end
  opts = opts or {}
  local config = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  -- Lists replace (deep_extend would merge them by index).
  for _, key in ipairs({ 'cmd', 'filetypes', 'root_markers', 'settings' }) do
    if opts[key] ~= nil then
      config[key] = opts[key]
    end
  end
  if opts.keys == false then
    config.keys = {}
  end
  M.config = config

  local group = api.nvim_create_augroup('xencode', { clear = true })
  set_highlights()
  api.nvim_create_autocmd('ColorScheme', { group = group, callback = set_highlights })
  api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == util.NAME then
        attach(ev.buf, client)
      end
    end,
  })
  api.nvim_create_autocmd('LspDetach', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == util.NAME then
        require('xencode.ghost').detach(ev.buf)
      end
    end,
  })
  api.nvim_create_autocmd('CompleteDone', { group = group, callback = on_complete_done })

  if config.inline ~= false then
    for _, action in ipairs({ 'accept', 'accept_word', 'accept_line', 'dismiss' }) do
      map(config.keys[action], action)
    end
  end

  api.nvim_create_user_command('Xencode', command, {
    nargs = '?',
    complete = function()
      return { 'stats', 'toggle', 'clear-cache' }
    end,
    desc = 'Xencode: stats | toggle | clear-cache',
  })

  register(config)
end

return M
