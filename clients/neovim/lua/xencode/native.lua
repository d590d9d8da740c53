-- Ghost text through Neovim 0.12's own vim.lsp.inline_completion: it requests, draws (highlight `ComplHint`) and,
-- on accept, inserts the item and runs its command (`xencode.acceptCompletion {id}`), so full accepts reach the
-- server without help. Partial accepts (word, line) and dismiss go through `get({ on_accept })`: the plugin inserts
-- the part itself and reports `{id, acceptedLength}`; Neovim then asks again for the rest.
local util = require('xencode.util')
local api = vim.api

local M = {}

M.enabled = true

--- Neovim's namespace for the inline completion extmarks (created when the module loads).
local function namespace()
  return api.nvim_get_namespaces()['nvim.lsp.inline_completion']
end

function M.available()
  return vim.lsp.inline_completion ~= nil and type(vim.lsp.inline_completion.get) == 'function'
end

function M.attach(bufnr)
  if M.enabled then
    -- Per buffer: Neovim attaches the capability once the client is attached (LspAttach runs just before).
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
  end
end

--- The text Neovim shows as ghost text in `bufnr`, or nil.
function M.shown(bufnr)
  local ns = namespace()
  if not ns then
    return nil
  end
  local marks = api.nvim_buf_get_extmarks(bufnr or 0, ns, 0, -1, { details = true, limit = 1 })
  local mark = marks[1]
  if not mark then
    return nil
  end
  local details = mark[4] or {}
  local parts = {}
  for _, chunk in ipairs(details.virt_text or {}) do
    parts[#parts + 1] = chunk[1]
  end
  local text = table.concat(parts)
  for _, line in ipairs(details.virt_lines or {}) do
    local l = {}
    for _, chunk in ipairs(line) do
      l[#l + 1] = chunk[1]
    end
    text = text .. '\n' .. table.concat(l)
  end
  return text
end

function M.visible(bufnr)
  return M.shown(bufnr) ~= nil
end

local function report(item, arguments)
  local client = vim.lsp.get_client_by_id(item.client_id)
  if client and not util.is_stopped(client) then
    util.exec(client, arguments.command, arguments.arguments, api.nvim_get_current_buf())
  end
end

--- Inserts a word or a line of `item` at the cursor and reports it; returns the item (accept all of it) when the
--- part is the whole, nil when the plugin handled it.
local function partial(item, kind)
  local text = item.insert_text
  if type(text) ~= 'string' then
    return item -- a snippet: all of it, the way Neovim expands it
  end
  local bufnr = api.nvim_get_current_buf()
  local cursor = api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  local start_col, end_col = col, col
  if item.range then
    local sr, sc, er, ec = item.range:to_extmark()
    if sr ~= row or er ~= row then
      return item
    end
    start_col, end_col = sc, ec
  end
  local g = util.ghost(line, col, start_col, end_col, text)
  if not g or g.text == '' then
    return nil
  end
  local piece = kind == 'word' and util.next_word(g.text) or util.next_line(g.text)
  if piece == g.text then
    return item
  end
  util.insert(bufnr, row, col, col, piece)
  local command = item.command
  if command and command.command == util.ACCEPT then
    local first = vim.deepcopy((command.arguments or {})[1])
    first = type(first) == 'table' and first or { id = first }
    first.acceptedLength = util.units(piece, 'utf-16')
    report(item, { command = command.command, arguments = { first } })
  end
  return nil
end

--- 'all' | 'word' | 'line'; false when nothing is shown.
function M.accept(kind)
  if kind == 'all' or kind == nil then
    return vim.lsp.inline_completion.get()
  end
  return vim.lsp.inline_completion.get({
    on_accept = function(item)
      return partial(item, kind)
    end,
  })
end

function M.dismiss()
  return vim.lsp.inline_completion.get({
    on_accept = function(item)
      local id = util.item_id(item.command)
      if id and item.command.command == util.ACCEPT then
        report(item, { command = util.REJECT, arguments = { { id = id } } })
      end
      return nil -- insert nothing
    end,
  })
end

function M.trigger()
  -- Neovim asks by itself as you type and has no public call to ask now: its own CursorMovedI handler asks.
  vim.api.nvim_exec_autocmds('CursorMovedI', { buffer = api.nvim_get_current_buf(), modeline = false })
end

function M.set_enabled(enabled)
  M.enabled = enabled
  for _, client in ipairs(util.clients()) do
    for bufnr in pairs(client.attached_buffers or {}) do
      vim.lsp.inline_completion.enable(enabled, { bufnr = bufnr })
    end
  end
end

return M
