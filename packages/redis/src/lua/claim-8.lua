--[[
  Moves up to ARGV[1] messages into this consumer's in-flight record, atomically, and renews its lease.
  Delivery ids come from one counter for the whole queue, never from the client, and that counter is
  never deleted: an id is never handed out twice, so a settle naming it (an ack's HDEL, a hand-back)
  can only ever touch the delivery it was given for, even when its consumer's records were recovered
  in between (a lease that ran out while its holder lived). A counter that is missing (first use, or a
  Redis that lost its data) starts from the server's clock in microseconds since 2023-11-14, so ids
  handed out before such a loss are not handed out again unless the queue averaged more than a
  million deliveries a second.
  Sources, in order: the consumer's staging list (filled by a blocking BLMOVE), the retry list
  (messages handed back, kept as "<deliveries>:<body>"), the main list.
  A message about to be delivered more than ARGV[4] times goes to the dead-letter list instead.

  Input:
    KEYS[1] main list
    KEYS[2] retry list
    KEYS[3] in-flight hash of this consumer   (field: delivery id, value: "<deliveries>:<body>")
    KEYS[4] lease of this consumer            (string with a TTL)
    KEYS[5] consumers set
    KEYS[6] staging list of this consumer
    KEYS[7] dead-letter list
    KEYS[8] delivery id counter of the queue  (never deleted)
    ARGV[1] most messages to take
    ARGV[2] lease time in milliseconds
    ARGV[3] consumer id
    ARGV[4] most deliveries per message (0 = no limit)
  Output:
    a flat array: delivery id, deliveries, body, delivery id, deliveries, body, ...
]]
redis.call('SET', KEYS[4], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[5], ARGV[3])

local want = tonumber(ARGV[1])
local last = redis.call('GET', KEYS[8])
if not last then
  local now = redis.call('TIME')
  last = (tonumber(now[1]) - 1700000000) * 1000000 + tonumber(now[2])
  redis.call('SET', KEYS[8], last)
end
local id = tonumber(last) + 1
local maxDeliveries = tonumber(ARGV[4])
local out = {}
local taken = 0

local function deliver(previous, body)
  local deliveries = previous + 1
  if maxDeliveries > 0 and deliveries > maxDeliveries then
    redis.call('RPUSH', KEYS[7], body)
    return
  end
  redis.call('HSET', KEYS[3], id, deliveries .. ':' .. body)
  out[#out + 1] = id
  out[#out + 1] = deliveries
  out[#out + 1] = body
  id = id + 1
  taken = taken + 1
end

local function envelope(value)
  local sep = string.find(value, ':', 1, true)
  return tonumber(string.sub(value, 1, sep - 1)), string.sub(value, sep + 1)
end

local staged = redis.call('LPOP', KEYS[6], want)
if staged then
  for _, body in ipairs(staged) do deliver(0, body) end
end
if taken < want then
  local retried = redis.call('LPOP', KEYS[2], want - taken)
  if retried then
    for _, value in ipairs(retried) do
      local previous, body = envelope(value)
      deliver(previous, body)
    end
  end
end
if taken < want then
  local fresh = redis.call('LPOP', KEYS[1], want - taken)
  if fresh then
    for _, body in ipairs(fresh) do deliver(0, body) end
  end
end
if taken > 0 then redis.call('INCRBY', KEYS[8], taken) end
return out
