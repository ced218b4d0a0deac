--[[
  The second half of an outbox push of large bodies, run in the same MULTI right after a plain
  `RPUSH list <bodies>`: takes back what the high-water marks say was pushed already, and raises the
  marks. Together the two do what outbox-push-2.lua does in one script, but Redis reads the bodies as
  the RPUSH's own arguments: a script copies each argument into a Lua string and back into Redis, which
  cost Redis about twice the CPU of the push itself for bodies of 1 KB.
  MULTI/EXEC runs both at once: no other client, blocked readers included, sees the list between the
  RPUSH and this script, so a body taken back was never visible. Redis rolls nothing back, so:
  - if the RPUSH failed (the list key holds another type), the key is not a list and this script writes
    nothing (EXEC refuses the whole transaction for out-of-memory before running either);
  - if anything here fails after the RPUSH (the hash holds another type, a mark is not a number, a run
    is malformed, the runs do not add up to n), the n bodies are trimmed off again before the error is
    returned: nothing is half-stored. Only a count that is not a positive integer leaves the push as it
    is (there is no telling what to take back); the one client of this script always sends it.
  Marks rise as runs are taken, as in outbox-push-2.lua: a lower or repeated sequence after a higher one of
  the same outbox in one call is taken back too. A mark is stored as the text the client sent.

  Input:
    KEYS[1] the list, KEYS[2] the high-water hash (outbox id -> highest sequence pushed)
    ARGV[1] n, the bodies the RPUSH before this script appended
    ARGV    then runs, in push order, each: outbox id, first sequence, last sequence (decimal); the runs'
            counts add up to n, and their bodies are the last n of the list, in this order
  Output:
    { pushed, skipped }
]]
local SLICE = 4000
local list, hw = KEYS[1], KEYS[2]
local n = tonumber(ARGV[1])

local kind = redis.call('TYPE', list)
kind = type(kind) == 'table' and kind.ok or kind
if kind ~= 'list' then
  return redis.error_reply('ERR q outbox-push: the list was not pushed to (its key holds a ' .. tostring(kind) .. ')')
end

-- Without a count there is no telling what the push appended (the client always sends it).
if n == nil or n < 1 or n ~= math.floor(n) then
  return redis.error_reply('ERR q outbox-push: malformed count ' .. tostring(ARGV[1]))
end

-- Takes the n bodies back off the tail and returns `message` as the error.
local function undo(message)
  redis.call('LTRIM', list, 0, -(n + 1))
  return redis.error_reply(message)
end

local marks = {}
local raised = {}
local skips = {}
local counts = {}
local total = 0
local skipped = 0
local argc = #ARGV
if (argc - 1) % 3 ~= 0 then return undo('ERR q outbox-push: malformed runs') end
for i = 2, argc, 3 do
  local outbox = ARGV[i]
  local first = tonumber(ARGV[i + 1])
  local last = tonumber(ARGV[i + 2])
  if first == nil or last == nil or last < first then
    return undo('ERR q outbox-push: malformed run at argument ' .. i)
  end
  local mark = marks[outbox]
  if mark == nil then
    local ok, stored = pcall(redis.call, 'HGET', hw, outbox)
    if not ok then return undo('ERR q outbox-push: the high-water hash cannot be read: ' .. tostring(stored.err or stored)) end
    if stored then
      mark = tonumber(stored)
      if mark == nil then
        return undo('ERR q outbox-push: the high-water mark of ' .. outbox .. ' is not a number')
      end
    else
      mark = -1
    end
  end
  local count = last - first + 1
  local skip = 0
  if last <= mark then
    skip = count
    marks[outbox] = mark
  else
    if mark >= first then skip = mark - first + 1 end
    marks[outbox] = last
    raised[outbox] = ARGV[i + 2]
  end
  skips[#skips + 1] = skip
  counts[#counts + 1] = count
  total = total + count
  skipped = skipped + skip
end
if total ~= n then return undo('ERR q outbox-push: the runs count ' .. total .. ' bodies, the push ' .. n) end

-- Replays only: take the skipped bodies out of the tail, keeping the others in order.
local kept = n
if skipped > 0 then
  local items = redis.call('LRANGE', list, -n, -1)
  redis.call('LTRIM', list, 0, -(n + 1))
  local keep = {}
  local at = 0
  for r = 1, #counts do
    for k = at + skips[r] + 1, at + counts[r] do keep[#keep + 1] = items[k] end
    at = at + counts[r]
  end
  kept = #keep
  for from = 1, kept, SLICE do
    redis.call('RPUSH', list, unpack(keep, from, math.min(from + SLICE - 1, kept)))
  end
end

local fields = {}
for outbox, seq in pairs(raised) do
  fields[#fields + 1] = outbox
  fields[#fields + 1] = seq
end
for from = 1, #fields, SLICE do
  local ok, err = pcall(redis.call, 'HSET', hw, unpack(fields, from, math.min(from + SLICE - 1, #fields)))
  if not ok then
    if kept > 0 then redis.call('LTRIM', list, 0, -(kept + 1)) end
    return redis.error_reply('ERR q outbox-push: the high-water marks cannot be written: ' .. tostring(err.err or err))
  end
end
return { kept, skipped }
