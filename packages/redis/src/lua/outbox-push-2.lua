--[[
  Pushes outbox messages to a list, each only if its sequence is above its outbox's high-water mark,
  and raises the marks, in one atomic step: a forwarder that replays a batch after a crash (pushed,
  cursor not yet committed) or after a lost reply adds nothing it already added, and a batch whose
  first part was pushed adds only the rest. Within one call the marks rise as runs are taken, so a
  lower or repeated sequence after a higher one of the same outbox is skipped too: a lower id never
  lands after a higher one.
  Messages come in runs: consecutive messages of one outbox with consecutive sequences (an outbox's
  batch is mostly one run). Only a run's bounds are sent and compared, so the script does no work per
  message: the part of a run above the mark is pushed straight from ARGV, or from the run's packed
  bodies. Small bodies come packed (one MessagePack array of strings in one argument): a client spent
  about five times as long encoding 1,000 arguments of 10 bytes as packing them, and the server reads
  one argument instead of 1,000.
  Redis does not roll a script back when a command in it fails, so nothing is written before every
  check passed: every run is checked and every mark read first (a hash of the wrong type, a mark that
  is not a number or a malformed run fails the call), the first RPUSH is the first write (a list key
  of the wrong type fails there), the bodies go in slices because Lua's unpack takes at most about
  8000 values, and the marks are written last.
  Sequences are non-negative safe integers (below 2^53), exact in Lua's doubles; a mark is stored as
  the text the client sent, never reformatted from a double.

  Input:
    KEYS[1] the list
    KEYS[2] the high-water hash: outbox id -> highest sequence pushed
    ARGV    runs, in push order, each: outbox id, first sequence, last sequence (decimal), the form
            of its bodies, then the bodies of the messages first..last: form 'a', last - first + 1
            arguments, one body each; form 'm', one argument, a MessagePack array of that many strings (at most 512 KiB:
            Redis refuses an argument over proto-max-bulk-len, which may be set as low as 1 MB)
  Output:
    { pushed, skipped }
]]
local SLICE = 4000

-- The bodies of a packed run: one MessagePack array (and nothing after it) of exactly `count` strings,
-- else nil. Checked whole here, before any write: a number would be pushed as its text, anything else
-- would fail the RPUSH after earlier runs were pushed.
local function unpackBodies(arg, count)
  local head = string.byte(arg, 1)
  if head == nil or not (head == 0xdd or head == 0xdc or (head >= 0x90 and head <= 0x9f)) then return nil end
  local unpacked = { pcall(cmsgpack.unpack, arg) }
  local packed = unpacked[2]
  if not unpacked[1] or #unpacked ~= 2 or type(packed) ~= 'table' or #packed ~= count then return nil end
  for k = 1, count do
    if type(packed[k]) ~= 'string' then return nil end
  end
  return packed
end
local marks = {}
local raised = {}
local ranges = {}
local pushed = 0
local skipped = 0

local argc = #ARGV
local i = 1
while i <= argc do
  local outbox = ARGV[i]
  local first = tonumber(ARGV[i + 1])
  local last = tonumber(ARGV[i + 2])
  local form = ARGV[i + 3]
  local bodies, from, after
  if first ~= nil and last ~= nil and last >= first then
    local count = last - first + 1
    if form == 'a' and i + 3 + count <= argc then
      bodies, from, after = ARGV, i + 4, i + 4 + count
    elseif form == 'm' and i + 4 <= argc then
      local packed = unpackBodies(ARGV[i + 4], count)
      if packed ~= nil then bodies, from, after = packed, 1, i + 5 end
    end
  end
  if bodies == nil then
    return redis.error_reply('ERR q outbox-push: malformed run at argument ' .. i)
  end
  local count = last - first + 1
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
  if last > mark then
    local skip = 0
    if mark >= first then skip = mark - first + 1 end
    ranges[#ranges + 1] = bodies
    ranges[#ranges + 1] = from + skip
    ranges[#ranges + 1] = from + count - 1
    marks[outbox] = last
    raised[outbox] = ARGV[i + 2]
    pushed = pushed + count - skip
    skipped = skipped + skip
  else
    marks[outbox] = mark
    skipped = skipped + count
  end
  i = after
end

for r = 1, #ranges, 3 do
  local bodies = ranges[r]
  local to = ranges[r + 2]
  for at = ranges[r + 1], to, SLICE do
    redis.call('RPUSH', KEYS[1], unpack(bodies, at, math.min(at + SLICE - 1, to)))
  end
end
local fields = {}
local n = 0
for outbox, seq in pairs(raised) do
  fields[n + 1] = outbox
  fields[n + 2] = seq
  n = n + 2
  if n == SLICE then
    redis.call('HSET', KEYS[2], unpack(fields, 1, n))
    n = 0
  end
end
if n > 0 then redis.call('HSET', KEYS[2], unpack(fields, 1, n)) end
return { pushed, skipped }
