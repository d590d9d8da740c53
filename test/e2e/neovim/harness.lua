-- A step runner for driving headless Neovim from a test script (`nvim --headless -u init.lua -S test.lua file`).
--
-- Each step may `run` an action and then `wait` until a predicate holds; the runner polls with vim.defer_fn, so the
-- main loop runs between polls and keys fed with nvim_feedkeys are processed (vim.wait would not process them).
-- A truthy non-`true` value returned by `run` or `wait` is stored under the step's name in the result. At the end
-- the result is written as JSON and Neovim exits with `qa!`; on an error or a timeout it exits with `cquit 1`
-- after writing the error, the step that failed and `:messages`.
local H = {}

local api = vim.api
local uv = vim.uv or vim.loop

local result = { ok = false, steps = {}, data = {} }
H.data = result.data

function H.client(bufnr)
  local client = vim.lsp.get_clients({ name = 'xencode', bufnr = bufnr or api.nvim_get_current_buf() })[1]
  if client and client.initialized then
    return client
  end
  return nil
end

--- A synchronous request to the xencode client of the current buffer; returns the result or raises.
function H.request(method, params, timeout_ms)
  local client = assert(H.client(), 'no initialized xencode client on this buffer')
  local response, err = require('xencode.util').request_sync(client, method, params, timeout_ms or 5000, 0)
  if not response then
    error(method .. ': ' .. tostring(err))
  end
  if response.err then
    error(method .. ': ' .. vim.inspect(response.err))
  end
  return response.result
end

function H.stats()
  return H.request('workspace/executeCommand', { command = 'xencode.stats' })
end

--- The `xencode` CLI as a command list ({ node, cli.js }): set by the test script. It runs with Neovim's environment,
--- so on the XENCODE_DATA_DIR of the server Neovim started.
H.xencode = nil

local cli = { generation = 0, running = false, last = nil, error = nil, runs = 0 }

--- Forgets the stats read so far: H.feedback_stats() returns nil until a run started after this one has finished.
function H.feedback_reset()
  cli.generation = cli.generation + 1
  cli.last = nil
  cli.error = nil
end

--- `xencode feedback stats --json`, run in the background (the main loop goes on, and with it the LSP client):
--- starts a run when none is in flight and returns the decoded stats of the latest finished one, or nil.
function H.feedback_stats()
  if not cli.running then
    cli.running = true
    cli.runs = cli.runs + 1
    local generation = cli.generation
    local cmd = vim.list_extend(vim.deepcopy(assert(H.xencode, 'H.xencode is not set')), { 'feedback', 'stats', '--json' })
    vim.system(cmd, { text = true }, vim.schedule_wrap(function(out)
      cli.running = false
      if generation ~= cli.generation then
        return
      end
      if out.code ~= 0 then
        cli.error = ('exit %s: %s'):format(out.code, out.stderr)
        return
      end
      local ok, decoded = pcall(vim.json.decode, out.stdout)
      if ok then
        cli.last = decoded
      else
        cli.error = ('not JSON: %s'):format(out.stdout)
      end
    end))
  end
  return cli.last
end

--- What the feedback waits saw, for a timeout's report.
function H.feedback_describe()
  local last = cli.last
  local counts = last and { shown = last.shown, accepted = last.accepted, partlyAccepted = last.partlyAccepted, rejected = last.rejected, ignored = last.ignored }
  return { last = counts, error = cli.error, runs = cli.runs, running = cli.running }
end

function H.line(lnum)
  return api.nvim_buf_get_lines(0, lnum - 1, lnum, false)[1]
end

function H.text()
  return table.concat(api.nvim_buf_get_lines(0, 0, -1, false), '\n')
end

function H.cursor()
  local pos = api.nvim_win_get_cursor(0)
  return { pos[1], pos[2] }
end

function H.mode()
  return api.nvim_get_mode().mode
end

--- Feeds keys (key notation) as if typed; 'm' (remap) so mappings apply, 'n' for none.
function H.feed(keys, mode)
  api.nvim_feedkeys(api.nvim_replace_termcodes(keys, true, false, true), mode or 'm', false)
end

--- The extmarks of namespace `name` in the current buffer, with their virtual text and lines as plain strings.
function H.extmarks(name)
  local ns = api.nvim_get_namespaces()[name]
  if not ns then
    return {}
  end
  local out = {}
  for _, mark in ipairs(api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
    local d = mark[4] or {}
    local text = {}
    for _, chunk in ipairs(d.virt_text or {}) do
      text[#text + 1] = chunk[1]
    end
    local lines = {}
    for _, line in ipairs(d.virt_lines or {}) do
      local l = {}
      for _, chunk in ipairs(line) do
        l[#l + 1] = chunk[1]
      end
      lines[#lines + 1] = table.concat(l)
    end
    out[#out + 1] = {
      row = mark[2],
      col = mark[3],
      virt_text = table.concat(text),
      virt_lines = lines,
      pos = d.virt_text_pos,
      hl = d.virt_text and d.virt_text[1] and d.virt_text[1][2] or nil,
    }
  end
  return out
end

--- The lines of every floating window's buffer.
function H.floats()
  local out = {}
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_config(win).relative ~= '' then
      out[#out + 1] = api.nvim_buf_get_lines(api.nvim_win_get_buf(win), 0, -1, false)
    end
  end
  return out
end

local function messages()
  local ok, out = pcall(api.nvim_exec2, 'messages', { output = true })
  return ok and out.output or ''
end

--- opts: { result = path, timeout_ms = total budget, step_timeout_ms = one wait's budget (default 10 s),
---         steps = { { name, run?, wait?, describe?, timeout_ms? } } }
function H.run(opts)
  local steps = opts.steps
  local deadline = uv.now() + (opts.timeout_ms or 30000)
  local index = 1
  local done = false

  local function finish(ok, err)
    if done then
      return
    end
    done = true
    result.ok = ok
    result.error = err
    result.messages = messages()
    local file = assert(io.open(opts.result, 'w'))
    file:write(vim.json.encode(result))
    file:close()
    vim.cmd(ok and 'qa!' or 'cquit! 1')
  end

  local tick
  tick = function()
    if done then
      return
    end
    local ok, err = pcall(function()
      local step = steps[index]
      if not step then
        return finish(true)
      end
      if not step.started then
        step.started = true
        step.deadline = math.min(deadline, uv.now() + (step.timeout_ms or opts.step_timeout_ms or 10000))
        result.steps[#result.steps + 1] = step.name
        if step.run then
          local value = step.run()
          if value ~= nil and value ~= true then
            result.data[step.name] = value
          end
        end
      end
      if step.wait then
        local value = step.wait()
        if not value then
          if uv.now() > step.deadline then
            local detail = step.describe and step.describe() or nil
            error(('timed out waiting for "%s"%s'):format(step.name, detail and (': ' .. vim.inspect(detail)) or ''))
          end
          return vim.defer_fn(tick, 20)
        end
        if value ~= true then
          result.data[step.name] = value
        end
      end
      index = index + 1
      vim.defer_fn(tick, 1)
    end)
    if not ok then
      finish(false, tostring(err))
    end
  end

  vim.defer_fn(tick, 1)
end

return H
