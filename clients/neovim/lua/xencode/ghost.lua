-- Ghost text drawn by the plugin itself (Neovim 0.10 and 0.11, which have no vim.lsp.inline_completion; also on
-- 0.12 with `ghost = { native = false }`).
--
-- In insert mode, a debounced `textDocument/inlineCompletion` request follows TextChangedI/CursorMovedI; the first
-- item that fits the line is drawn with extmarks (the first line inline at the cursor, the other lines as virtual
-- lines below). It is cleared when the cursor moves or the text changes (and asked again), when insert mode ends,
-- and when the buffer is left; an answer for an older changedtick or cursor position is dropped. Accepting all of
-- it runs the item's command (`xencode.acceptCompletion {id}`); accepting a word or a line inserts that much, keeps
-- the rest on screen, and reports `{id, acceptedLength}` (UTF-16 units of the answer accepted so far).
local util = require('xencode.util')
local api = vim.api
local uv = vim.uv or vim.loop

local M = {}

M.ns = api.nvim_create_namespace('xencode.ghost')

M.config = { hl_group = 'XencodeGhost', debounce_ms = 75 }
M.enabled = true

--- bufnr -> { client_id, augroup, timer, seq, pending = { client_id, id }?, shown = State? }
--- State: { client_id, tick, row, col, text, replace_end, command, accepted, extmark }
local buffers = {}

local function in_insert()
  return api.nvim_get_mode().mode:sub(1, 1) == 'i'
end

local function cursor_of(bufnr)
  local win = api.nvim_get_current_win()
  if api.nvim_win_get_buf(win) ~= bufnr then
    return nil
  end
  local pos = api.nvim_win_get_cursor(win)
  return pos[1] - 1, pos[2]
end

--- For display only: virtual text shows a tab as one cell, so tabs become 'tabstop' spaces.
local function display(s, bufnr)
  if not s:find('\t', 1, true) then
    return s
  end
  return (s:gsub('\t', string.rep(' ', vim.bo[bufnr].tabstop)))
end

local function hide(bufnr)
  local b = buffers[bufnr]
  if b then
    b.shown = nil
  end
  if api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  end
end

local function cancel(bufnr)
  local b = buffers[bufnr]
  if not b then
    return
  end
  b.seq = b.seq + 1
  if b.timer then
    b.timer:stop()
  end
  if b.pending then
    local client = vim.lsp.get_client_by_id(b.pending.client_id)
    if client and not util.is_stopped(client) then
      pcall(util.cancel_request, client, b.pending.id)
    end
    b.pending = nil
  end
end

local function render(bufnr, s)
  api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  local lines = vim.split(s.text, '\n', { plain = true })
  local hl = M.config.hl_group
  local opts = { hl_mode = 'combine', priority = 200 }
  if lines[1] ~= '' then
    opts.virt_text = { { display(lines[1], bufnr), hl } }
    -- 'inline' pushes the rest of the line to the right, as the text will once accepted.
    opts.virt_text_pos = 'inline'
  end
  if #lines > 1 then
    local virt_lines = {}
    for i = 2, #lines do
      virt_lines[#virt_lines + 1] = { { display(lines[i], bufnr), hl } }
    end
    opts.virt_lines = virt_lines
  end
  s.extmark = api.nvim_buf_set_extmark(bufnr, M.ns, s.row, s.col, opts)
end

--- Whether the shown ghost text still belongs where the cursor and the text are.
local function current(bufnr)
  local b = buffers[bufnr]
  local s = b and b.shown
  if not s then
    return nil
  end
  local row, col = cursor_of(bufnr)
  if row ~= s.row or col ~= s.col or api.nvim_buf_get_changedtick(bufnr) ~= s.tick then
    return nil
  end
  return s
end

--- The first item of the answer that fits the line at the cursor, as a State, or nil.
local function fit(bufnr, client, row, col, result)
  local items = result.items or result
  if type(items) ~= 'table' then
    return nil
  end
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  local encoding = client.offset_encoding or 'utf-16'
  for _, item in ipairs(items) do
    local text = item.insertText
    if type(text) == 'table' then
      -- A snippet (lsp.StringValue): shown and inserted as its plain text.
      text = text.kind == 'snippet' and text.value:gsub('%$%b{}', ''):gsub('%$%d+', '') or nil
    end
    local start_col, end_col = col, col
    local fits = type(text) == 'string'
    if fits and item.range then
      local s, e = item.range.start, item.range['end']
      fits = s.line == row and e.line == row
      if fits then
        start_col = util.byte_col(line, s.character, encoding)
        end_col = util.byte_col(line, e.character, encoding)
      end
    end
    local g = fits and util.ghost(line, col, start_col, end_col, text)
    if g and g.text ~= '' then
      return {
        client_id = client.id,
        tick = api.nvim_buf_get_changedtick(bufnr),
        row = row,
        col = col,
        text = g.text,
        replace_end = g.replace_end,
        command = item.command,
        accepted = 0,
      }
    end
  end
  return nil
end

local function request(bufnr)
  local b = buffers[bufnr]
  if not b or not M.enabled or not in_insert() or api.nvim_get_current_buf() ~= bufnr then
    return
  end
  cancel(bufnr)
  local client = vim.lsp.get_client_by_id(b.client_id)
  if not client or util.is_stopped(client) or not (client.server_capabilities or {}).inlineCompletionProvider then
    return
  end
  local row, col = cursor_of(bufnr)
  if not row then
    return
  end
  local tick = api.nvim_buf_get_changedtick(bufnr)
  -- The position is computed here: Neovim 0.10's make_position_params compares the cursor's byte column with the
  -- line's UTF-16 length and sends the end of the line whenever the bytes outnumber the UTF-16 units (a line with
  -- non-ASCII text before the cursor, cursor near its end).
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    position = { line = row, character = util.units(line:sub(1, col), client.offset_encoding or 'utf-16') },
    context = { triggerKind = 2 }, -- Automatic
  }
  local seq = b.seq
  local ok, id = util.request(client, 'textDocument/inlineCompletion', params, function(err, result)
    if buffers[bufnr] ~= b or b.seq ~= seq then
      return -- superseded or cancelled
    end
    b.pending = nil
    if err or not result then
      return
    end
    -- Stale: the text or the cursor moved on while the server was answering, or insert mode ended.
    if not in_insert() or api.nvim_get_current_buf() ~= bufnr or api.nvim_buf_get_changedtick(bufnr) ~= tick then
      return
    end
    local r, c = cursor_of(bufnr)
    if r ~= row or c ~= col then
      return
    end
    local s = fit(bufnr, client, row, col, result)
    if s then
      b.shown = s
      render(bufnr, s)
    end
  end, bufnr)
  if ok and id then
    b.pending = { client_id = client.id, id = id }
  end
end

local function schedule(bufnr)
  local b = buffers[bufnr]
  if not b or not M.enabled then
    return
  end
  b.timer = b.timer or uv.new_timer()
  b.timer:stop()
  b.timer:start(
    M.config.debounce_ms,
    0,
    vim.schedule_wrap(function()
      request(bufnr)
    end)
  )
end

--- TextChangedI, CursorMovedI, InsertEnter: keep the ghost text if nothing moved (our own partial accept put the
--- cursor where the rest is shown), else clear it and ask again.
local function on_change(bufnr)
  if current(bufnr) then
    return
  end
  cancel(bufnr)
  hide(bufnr)
  schedule(bufnr)
end

local function stop(bufnr)
  cancel(bufnr)
  hide(bufnr)
end

--- Reports an accept through the item's command; `accepted` (UTF-16 units) for a partial one.
local function report(bufnr, s, accepted)
  local client = vim.lsp.get_client_by_id(s.client_id)
  local command = s.command
  if not client or util.is_stopped(client) or not command then
    return
  end
  local arguments = vim.deepcopy(command.arguments or {})
  if accepted then
    local first = arguments[1]
    first = type(first) == 'table' and first or { id = first }
    first.acceptedLength = accepted
    arguments[1] = first
  end
  util.exec(client, command.command, arguments, bufnr)
end

function M.attach(bufnr, client_id)
  local b = buffers[bufnr]
  if b then
    b.client_id = client_id
    return
  end
  local group = api.nvim_create_augroup('xencode.ghost.' .. bufnr, { clear = true })
  buffers[bufnr] = { client_id = client_id, augroup = group, seq = 0 }
  api.nvim_create_autocmd({ 'InsertEnter', 'TextChangedI', 'TextChangedP', 'CursorMovedI' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      on_change(bufnr)
    end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      stop(bufnr)
    end,
  })
  api.nvim_create_autocmd('ModeChanged', {
    group = group,
    buffer = bufnr,
    callback = function()
      if not in_insert() then
        stop(bufnr)
      end
    end,
  })
  api.nvim_create_autocmd({ 'BufUnload', 'BufWipeout' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      M.detach(bufnr)
    end,
  })
end

function M.detach(bufnr)
  local b = buffers[bufnr]
  if not b then
    return
  end
  stop(bufnr)
  if b.timer then
    b.timer:stop()
    if not b.timer:is_closing() then
      b.timer:close()
    end
  end
  pcall(api.nvim_del_augroup_by_id, b.augroup)
  buffers[bufnr] = nil
end

--- The ghost text shown in `bufnr` (default: current), or nil.
function M.shown(bufnr)
  local s = current(bufnr or api.nvim_get_current_buf())
  return s and s.text or nil
end

function M.visible(bufnr)
  return M.shown(bufnr) ~= nil
end

--- Accepts all ('all'), the next word ('word') or the rest of the line ('line') of the ghost text.
--- Returns false when none is shown.
function M.accept(kind)
  local bufnr = api.nvim_get_current_buf()
  local s = current(bufnr)
  if not s then
    return false
  end
  local piece = s.text
  if kind == 'word' then
    piece = util.next_word(s.text)
  elseif kind == 'line' then
    piece = util.next_line(s.text)
  end
  cancel(bufnr)
  if piece == s.text then
    hide(bufnr)
    util.insert(bufnr, s.row, s.col, s.replace_end, s.text)
    report(bufnr, s, nil)
    return true
  end
  local row, col = util.insert(bufnr, s.row, s.col, s.col, piece)
  s.accepted = s.accepted + util.units(piece, 'utf-16')
  report(bufnr, s, s.accepted)
  -- The rest stays on screen, where the cursor now is.
  s.replace_end = col + (s.replace_end - s.col)
  s.text = s.text:sub(#piece + 1)
  s.row, s.col = row, col
  s.tick = api.nvim_buf_get_changedtick(bufnr)
  render(bufnr, s)
  return true
end

--- Hides the ghost text and reports it as rejected (unless part of it was accepted). False when none is shown.
function M.dismiss()
  local bufnr = api.nvim_get_current_buf()
  local s = current(bufnr)
  cancel(bufnr)
  hide(bufnr)
  if not s then
    return false
  end
  if s.accepted == 0 and s.command and s.command.command == util.ACCEPT then
    local client = vim.lsp.get_client_by_id(s.client_id)
    if client and not util.is_stopped(client) then
      util.exec(client, util.REJECT, { { id = util.item_id(s.command) } }, bufnr)
    end
  end
  return true
end

--- Asks now (no debounce), e.g. from a mapping.
function M.trigger()
  request(api.nvim_get_current_buf())
end

function M.set_enabled(enabled)
  M.enabled = enabled
  if not enabled then
    for bufnr in pairs(buffers) do
      stop(bufnr)
    end
  end
end

return M
