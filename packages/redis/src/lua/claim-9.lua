--[[
  Moves up to ARGV[1] messages into this consumer's in-flight record, atomically, and renews its lease.
  Delivery ids come from one counter for the whole queue, never from the client, and that counter is
  never deleted: an id is never handed out twice, so a settle naming it (an ack's HDEL, a hand-back)
  can only ever touch the delivery it was given for, even when its consumer's records were recovered
  in between (a lease that ran out while its holder lived). A counter that is missing (first use, or a
  Redis that lost its data) starts from the server's clock in microseconds since 2023-11-14, so ids
  handed out before such a loss are not handed out again unless the queue averaged more than a
  million deliveries a second.
  A claim is idempotent: the client numbers its claims (ARGV[5], rising), and the script records the
  last number with the ids it handed out. ioredis re-sends a command whose reply was lost in a
  reconnect; the re-sent claim, carrying the same number, returns the same messages again (those still
  in flight: none are settled, since the client never saw them) instead of taking new ones and
  stranding the first. A claim numbered below the record (a re-send overtaken by a later claim) takes
  nothing.
  Sources, in order: the consumer's staging list (filled by a blocking BLMOVE), the retry list
  (messages handed back, kept as "<deliveries>:<body>"), the main list.
  A message about to be delivered more than ARGV[4] times goes to the dead-letter list instead; with
  ARGV[6] = "1" it is taken into the in-flight record like the others and returned with its deliveries
  negated, for the client to dead-letter (with a record) and remove once its dead-letter push was
  confirmed.
  Redis does not roll a script back when a command in it fails: the writes before the error stay. So
  every key is checked for its type before the first write (a key of the wrong type fails the claim
  with nothing touched), and the ids are reserved (INCRBY) before any in-flight entry is written, so
  even a failure after that cannot make the next claim reuse an id and overwrite an entry.
  The last-claim record lives a day after the latest claim (renewed by each), so a consumer that
  keeps claiming keeps it, and the record of one that died goes away by itself.

  Input:
    KEYS[1] main list
    KEYS[2] retry list
    KEYS[3] in-flight hash of this consumer   (field: delivery id, value: "<deliveries>:<body>")
    KEYS[4] lease of this consumer            (string with a TTL)
    KEYS[5] consumers set
    KEYS[6] staging list of this consumer
    KEYS[7] dead-letter list
    KEYS[8] delivery id counter of the queue  (never deleted)
    KEYS[9] last claim of this consumer       (hash: nonce, first id, count)
    ARGV[1] most messages to take
    ARGV[2] lease time in milliseconds
    ARGV[3] consumer id
    ARGV[4] most deliveries per message (0 = no limit)
    ARGV[5] this claim's number, rising per consumer (the nonce)
    ARGV[6] "1": hold messages over ARGV[4] for the client instead of moving them to KEYS[7] (optional)
  Output:
    a flat array: delivery id, deliveries, body, delivery id, deliveries, body, ... (deliveries
    negated for a message held over the limit)
]]
local function envelope(value)
  local sep = string.find(value, ':', 1, true)
  return tonumber(string.sub(value, 1, sep - 1)), string.sub(value, sep + 1)
end

local types = {
  { KEYS[1], 'list' }, { KEYS[2], 'list' }, { KEYS[3], 'hash' }, { KEYS[5], 'set' },
  { KEYS[6], 'list' }, { KEYS[7], 'list' }, { KEYS[8], 'string' }, { KEYS[9], 'hash' },
}
for _, expected in ipairs(types) do
  local found = redis.call('TYPE', expected[1])['ok']
  if found ~= 'none' and found ~= expected[2] then
    return redis.error_reply('WRONGTYPE ' .. expected[1] .. ' is a ' .. found .. ', not a ' .. expected[2]
      .. ': the claim took nothing')
  end
end

local nonce = tonumber(ARGV[5])
local maxDeliveries = tonumber(ARGV[4])
local hold = ARGV[6] == '1'
-- What the client is told: a held message over the limit has its deliveries negated.
local function shown(deliveries)
  if hold and maxDeliveries > 0 and deliveries > maxDeliveries then return -deliveries end
  return deliveries
end
local record = redis.call('HMGET', KEYS[9], 'nonce', 'first', 'count')
if record[1] and nonce < tonumber(record[1]) then
  return {}
end
redis.call('SET', KEYS[4], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[5], ARGV[3])
-- A claim (a replay included) shows the consumer is alive: a recovery's "gone" mark no longer holds.
redis.call('HDEL', KEYS[9], 'gone')
if record[1] and nonce == tonumber(record[1]) then
  local replay = {}
  local first = tonumber(record[2])
  for id = first, first + tonumber(record[3]) - 1 do
    local value = redis.call('HGET', KEYS[3], id)
    if value then
      local deliveries, body = envelope(value)
      replay[#replay + 1] = id
      replay[#replay + 1] = shown(deliveries)
      replay[#replay + 1] = body
    end
  end
  return replay
end

-- Take first, then write: sources popped in order, each message either delivered or dead-lettered.
local want = tonumber(ARGV[1])
local bodies, counts, dead = {}, {}, {}
local taken = 0
local function take(previous, body)
  local deliveries = previous + 1
  if maxDeliveries > 0 and deliveries > maxDeliveries and not hold then
    dead[#dead + 1] = body
  else
    bodies[#bodies + 1] = body
    counts[#counts + 1] = deliveries
  end
  taken = taken + 1
end
local staged = redis.call('LPOP', KEYS[6], want)
if staged then
  for _, body in ipairs(staged) do take(0, body) end
end
if taken < want then
  local retried = redis.call('LPOP', KEYS[2], want - taken)
  if retried then
    for _, value in ipairs(retried) do
      local previous, body = envelope(value)
      take(previous, body)
    end
  end
end
if taken < want then
  local fresh = redis.call('LPOP', KEYS[1], want - taken)
  if fresh then
    for _, body in ipairs(fresh) do take(0, body) end
  end
end

-- One variadic command per 1000 arguments: unpack() is bounded by the Lua C stack.
local function variadic(command, key, args)
  for i = 1, #args, 1000 do
    redis.call(command, key, unpack(args, i, math.min(i + 999, #args)))
  end
end

local n = #bodies
local first = 0
local out = {}
if n > 0 then
  if redis.call('EXISTS', KEYS[8]) == 0 then
    local now = redis.call('TIME')
    redis.call('SET', KEYS[8], (tonumber(now[1]) - 1700000000) * 1000000 + tonumber(now[2]))
  end
  first = redis.call('INCRBY', KEYS[8], n) - n + 1
  local fields = {}
  for i = 1, n do
    local id = first + i - 1
    fields[#fields + 1] = id
    fields[#fields + 1] = counts[i] .. ':' .. bodies[i]
    out[#out + 1] = id
    out[#out + 1] = shown(counts[i])
    out[#out + 1] = bodies[i]
  end
  variadic('HSET', KEYS[3], fields)
end
if #dead > 0 then variadic('RPUSH', KEYS[7], dead) end
redis.call('HSET', KEYS[9], 'nonce', nonce, 'first', first, 'count', n)
-- Alive after all: recovery must not forget this consumer (see recover-6.lua).
redis.call('HDEL', KEYS[9], 'gone')
redis.call('PEXPIRE', KEYS[9], 86400000)
return out
