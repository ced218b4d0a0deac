--[[
  Pushes to a list that holds at most ARGV[1] messages, in one atomic step (RabbitMQ's x-max-length).
  - "drop-head": everything is pushed, then the oldest messages over the limit are trimmed (LTRIM,
    exact). With ARGV[3] = "1" the trimmed messages go to the dead-letter list KEYS[2] first, each with
    one more q-death record (reason "maxlen", queue KEYS[1]) in its envelope and its q-expires-at
    removed, as the client's withDeath does.
  - "reject-publish": ARGV holds units (a push: 1 message; a pushBatch: all of its messages), and a
    unit is stored only if the list has room for all of it; the others are rejected, whole. A unit is
    never half-stored, and the units that fit are stored in their order.
  Redis does not roll a script back when a command in it fails, so the key types are checked before
  the first write, and bodies are pushed in slices (Lua's unpack takes about 8000 values at most).
  The envelope: "\0q1", one line of JSON (an object of string values), "\n", the body. A header line
  that is not such an object leaves the body bare, and it is enveloped whole, as wrapEnvelope does.

  Input:
    KEYS[1] the list
    KEYS[2] the dead-letter list for dropped messages (KEYS[1] again when there is none)
    ARGV[1] the maximum length (an integer >= 1)
    ARGV[2] "drop-head" or "reject-publish"
    ARGV[3] "1" to dead-letter what drop-head trims, else "0"
    ARGV[4..] drop-head: the bodies; reject-publish: units, each a count then that many bodies
  Output:
    drop-head: { pushed, dropped }
    reject-publish: { pushed, index of each rejected unit (0-based) ... }
]]
local SLICE = 4000
local MAGIC = '\0q1'
local REASONS = { rejected = true, expired = true, maxlen = true, ['delivery-limit'] = true }

for _, key in ipairs({ KEYS[1], KEYS[2] }) do
  local found = redis.call('TYPE', key)['ok']
  if found ~= 'none' and found ~= 'list' then
    return redis.error_reply('WRONGTYPE ' .. key .. ' is a ' .. found .. ', not a list: nothing was pushed')
  end
end

local max = tonumber(ARGV[1])
local function push(key, values, from, to)
  for at = from, to, SLICE do
    redis.call('RPUSH', key, unpack(values, at, math.min(at + SLICE - 1, to)))
  end
end

if ARGV[2] == 'reject-publish' then
  local length = redis.call('LLEN', KEYS[1])
  local out = { 0 }
  local ranges = {}
  local i = 4
  local unit = 0
  while i <= #ARGV do
    local count = tonumber(ARGV[i])
    if count == nil or count < 1 or i + count > #ARGV then
      return redis.error_reply('ERR q push-capped: malformed unit at argument ' .. i)
    end
    if length + count <= max then
      ranges[#ranges + 1] = i + 1
      ranges[#ranges + 1] = i + count
      length = length + count
      out[1] = out[1] + count
    else
      out[#out + 1] = unit
    end
    unit = unit + 1
    i = i + count + 1
  end
  for r = 1, #ranges, 2 do push(KEYS[1], ARGV, ranges[r], ranges[r + 1]) end
  return out
end

if ARGV[2] ~= 'drop-head' then
  return redis.error_reply('ERR q push-capped: unknown overflow ' .. tostring(ARGV[2]))
end
local pushed = #ARGV - 3
if pushed == 0 then return { 0, 0 } end
push(KEYS[1], ARGV, 4, #ARGV)
local excess = redis.call('LLEN', KEYS[1]) - max
if excess <= 0 then return { pushed, 0 } end

local function headersOf(body)
  if string.sub(body, 1, 3) ~= MAGIC or string.sub(body, 4, 4) ~= '{' then return nil end
  local newline = string.find(body, '\n', 4, true)
  if not newline then return nil end
  local ok, decoded = pcall(cjson.decode, string.sub(body, 4, newline - 1))
  if not ok or type(decoded) ~= 'table' then return nil end
  for name, value in pairs(decoded) do
    if type(name) ~= 'string' or type(value) ~= 'string' then return nil end
  end
  return decoded, string.sub(body, newline + 1)
end

local function deathsOf(text)
  if not text then return {} end
  local ok, decoded = pcall(cjson.decode, text)
  if not ok or type(decoded) ~= 'table' then return {} end
  local records = {}
  for _, d in ipairs(decoded) do
    if type(d) == 'table' and REASONS[d.reason] and type(d.queue) == 'string' and type(d.count) == 'number'
      and d.count >= 1 and d.count == math.floor(d.count) and type(d.time) == 'number' then
      records[#records + 1] = d
    end
  end
  return records
end

if ARGV[3] == '1' then
  local now = redis.call('TIME')
  local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local dropped = redis.call('LRANGE', KEYS[1], 0, excess - 1)
  for d = 1, #dropped do
    local body = dropped[d]
    local headers, inner = headersOf(body)
    if not headers then
      headers, inner = {}, body
    end
    local count = 1
    local deaths = { false }
    for _, record in ipairs(deathsOf(headers['q-death'])) do
      if record.queue == KEYS[1] and record.reason == 'maxlen' then
        count = record.count + 1
      else
        deaths[#deaths + 1] = record
      end
    end
    deaths[1] = { reason = 'maxlen', queue = KEYS[1], count = count, time = nowMs }
    headers['q-death'] = cjson.encode(deaths)
    headers['q-expires-at'] = nil
    dropped[d] = MAGIC .. cjson.encode(headers) .. '\n' .. inner
  end
  push(KEYS[2], dropped, 1, #dropped)
end
redis.call('LTRIM', KEYS[1], excess, -1)
return { pushed, excess }
