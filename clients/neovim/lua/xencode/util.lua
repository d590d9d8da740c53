-- Small helpers that hide the differences between Neovim 0.10, 0.11 and 0.12 (client methods became `client:m()`
-- in 0.11; the dot form is deprecated there) and the text arithmetic shared by both ghost-text paths.
local M = {}

M.has_011 = vim.fn.has('nvim-0.11') == 1

M.NAME = 'xencode'
M.ACCEPT = 'xencode.acceptCompletion'
M.REJECT = 'xencode.rejectCompletion'

--- Sends a request from `client`; returns ok, request_id.
function M.request(client, method, params, handler, bufnr)
  if M.has_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

--- A blocking request; returns the response table { err, result } or nil, err.
function M.request_sync(client, method, params, timeout_ms, bufnr)
  if M.has_011 then
    return client:request_sync(method, params, timeout_ms, bufnr)
  end
  return client.request_sync(method, params, timeout_ms, bufnr)
end

function M.cancel_request(client, id)
  if M.has_011 then
    return client:cancel_request(id)
  end
  return client.cancel_request(id)
end

function M.stop(client, force)
  if M.has_011 then
    return client:stop(force)
  end
  return client.stop(force)
end

function M.is_stopped(client)
  if M.has_011 then
    return client:is_stopped()
  end
  return client.is_stopped()
end

--- Runs a server command (`workspace/executeCommand`) without waiting for the answer.
function M.exec(client, command, arguments, bufnr, handler)
  M.request(client, 'workspace/executeCommand', { command = command, arguments = arguments }, handler or function() end, bufnr)
end

--- The running xencode clients, optionally only those attached to `bufnr`.
function M.clients(bufnr)
  local filter = { name = M.NAME }
  if bufnr then
    filter.bufnr = bufnr
  end
  return vim.lsp.get_clients(filter)
end

--- The byte length of the UTF-8 character starting with byte `b`.
local function char_len(b)
  if b < 0xC0 then
    return 1
  elseif b < 0xE0 then
    return 2
  elseif b < 0xF0 then
    return 3
  end
  return 4
end

--- The byte offset in `line` of LSP column `character` counted in `encoding` ('utf-8' | 'utf-16' | 'utf-32').
function M.byte_col(line, character, encoding)
  if encoding == 'utf-8' then
    return math.min(character, #line)
  end
  local units, i = 0, 1
  while i <= #line do
    if units >= character then
      return i - 1
    end
    local len = char_len(line:byte(i))
    units = units + ((encoding == 'utf-16' and len == 4) and 2 or 1)
    i = i + len
  end
  return #line
end

--- The length of `s` in `encoding` units (the server counts accepted text in UTF-16 code units, like JavaScript).
function M.units(s, encoding)
  if encoding == 'utf-8' then
    return #s
  end
  local units, i = 0, 1
  while i <= #s do
    local len = char_len(s:byte(i))
    units = units + ((encoding == 'utf-16' and len == 4) and 2 or 1)
    i = i + len
  end
  return units
end

--- Where the ghost text starts and what it says, from an inline completion item, for the buffer line `line` with
--- the cursor at byte `cursor_col`. The item replaces [start_col, end_col) of the line with `insert_text`; the part
--- of the line before the cursor (the typed word) is already there, and the part after it (the rest of the line,
--- which the server sends back unchanged at the end) stays where it is.
---
--- Returns nil when the item does not fit the line (stale), else a table:
---   text         the text to show and insert at the cursor ('\n'-separated)
---   replace_end  the byte column up to which accepting all of it replaces the line: the cursor column, unless the
---                item rewrites the rest of the line
function M.ghost(line, cursor_col, start_col, end_col, insert_text)
  insert_text = insert_text:gsub('\r\n', '\n')
  if start_col > cursor_col or end_col < cursor_col or end_col > #line then
    return nil
  end
  local typed = line:sub(start_col + 1, cursor_col)
  if insert_text:sub(1, #typed) ~= typed then
    return nil
  end
  local rest = insert_text:sub(#typed + 1)
  local after = line:sub(cursor_col + 1, end_col)
  if after == '' then
    return { text = rest, replace_end = cursor_col }
  end
  if #rest >= #after and rest:sub(-#after) == after then
    -- The usual case: the answer, then the rest of the line as it is.
    return { text = rest:sub(1, #rest - #after), replace_end = cursor_col }
  end
  -- The item rewrites the rest of the line: show all of it, and replace the rest on accept.
  return { text = rest, replace_end = end_col }
end

--- The next word of `text` for a word accept: the spaces before it and a run of word characters (letters, digits,
--- `_`, non-ASCII), or a run of punctuation; at a line break, the break and the next line's indentation.
function M.next_word(text)
  local piece = text:match('^\n[ \t]*')
    or text:match('^[ \t]*[%w_\128-\255]+')
    or text:match('^[ \t]*[^%w_\128-\255%s]+')
    or text:match('^[ \t]+')
  return piece or text:sub(1, 1)
end

--- The rest of the current line of `text` for a line accept (at a line break: the break and the next line).
function M.next_line(text)
  if text:sub(1, 1) == '\n' then
    local nl = text:find('\n', 2, true)
    return nl and text:sub(1, nl - 1) or text
  end
  local nl = text:find('\n', 1, true)
  return nl and text:sub(1, nl - 1) or text
end

--- Inserts `text` at (row, col) (0-based, bytes) in `bufnr`, replacing up to `end_col` on that row, and puts the
--- cursor of the window showing the buffer at the end of the inserted text. Returns the new (row, col).
function M.insert(bufnr, row, col, end_col, text)
  local lines = vim.split(text, '\n', { plain = true })
  vim.api.nvim_buf_set_text(bufnr, row, col, row, end_col or col, lines)
  local new_row = row + #lines - 1
  local new_col = (#lines == 1 and col or 0) + #lines[#lines]
  local win = vim.api.nvim_get_current_win()
  if vim.api.nvim_win_get_buf(win) ~= bufnr then
    win = vim.fn.bufwinid(bufnr)
  end
  if win ~= -1 then
    vim.api.nvim_win_set_cursor(win, { new_row + 1, new_col })
  end
  return new_row, new_col
end

--- The id the server gave a completion item (its command's argument).
function M.item_id(command)
  local arg = command and command.arguments and command.arguments[1]
  if type(arg) == 'table' then
    return arg.id
  end
  if type(arg) == 'string' then
    return arg
  end
  return nil
end

return M
