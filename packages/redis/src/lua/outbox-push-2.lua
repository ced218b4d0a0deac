--[[
  Pushes outbox messages to a list, each only if its sequence is above its outbox's high-water mark,
  and raises the marks, in one atomic step: a forwarder that replays a batch after a crash (pushed,
  cursor not yet committed) or after a lost reply adds nothing it already added, and a batch whose
  first part was pushed adds only the rest. Within one call the marks rise as messages are taken, so
  a lower or repeated sequence after a higher one of the same outbox is skipped too: a lower id never
  lands after a higher one.
  Redis does not roll a script back when a command in it fails, so nothing is written before every
  check passed: the marks are read first (a hash of the wrong type or a mark that is not a number fails
  the call), the first RPUSH is the first write (a list key of the wrong type fails there), the bodies
  go in slices because Lua's unpack takes at most about 8000 values, and the marks are written last.
  Sequences are non-negative safe integers (below 2^53), exact in Lua's doubles; a mark is stored as
  the text the client sent, never reformatted from a double.

  Input:
    KEYS[1] the list
    KEYS[2] the high-water hash: outbox id -> highest sequence pushed
    ARGV    triples, in push order: outbox id, sequence (decimal), body
  Output:
    { pushed, skipped }
]]
local SLICE = 4000
local marks = {}
local raised = {}
local bodies = {}
local pushed = 0
local skipped = 0

for i = 1, #ARGV, 3 do
  local outbox = ARGV[i]
  local seq = tonumber(ARGV[i + 1])
  if seq == nil then
    return redis.error_reply('ERR q outbox-push: sequence ' .. ARGV[i + 1] .. ' is not a number')
  end
  local mark = marks[outbox]
  if mark == nil then
    local stored = redis.call('HGET', KEYS[2], outbox)
    if stored then
      mark = tonumber(stored)
      if mark == nil then
        return redis.error_reply('ERR q outbox-push: the high-water mark of ' .. outbox .. ' is not a number')
      end
    else
      mark = -1
    end
  end
  if seq > mark then
    marks[outbox] = seq
    raised[outbox] = ARGV[i + 1]
    pushed = pushed + 1
    bodies[pushed] = ARGV[i + 2]
  else
    marks[outbox] = mark
    skipped = skipped + 1
  end
end

if pushed > 0 then
  for from = 1, pushed, SLICE do
    redis.call('RPUSH', KEYS[1], unpack(bodies, from, math.min(from + SLICE - 1, pushed)))
  end
  local fields = {}
  for outbox, seq in pairs(raised) do
    fields[#fields + 1] = outbox
    fields[#fields + 1] = seq
    if #fields == SLICE then
      redis.call('HSET', KEYS[2], unpack(fields))
      fields = {}
    end
  end
  if #fields > 0 then redis.call('HSET', KEYS[2], unpack(fields)) end
end
return { pushed, skipped }
