--[[
  Returns the in-flight and staged messages of a consumer whose lease expired to the retry list,
  oldest delivery first, and forgets the consumer. Does nothing while the lease is alive, so any
  instance may call it for any consumer at any time. ARGV[2] = "force" skips the lease check (a
  consumer releasing its own messages on close, which also forgets its last claim). Delivery ids are
  queue-wide and never reused, so a consumer that lost its lease while alive cannot, with a late ack
  or hand-back of a message recovered here, touch an entry it claimed afterwards.
  A recovered consumer is not forgotten at once: a BLMOVE of its (sent before it froze, or delayed in
  the network) may still move a message into its staging list after this, and a consumer no longer in
  the set is never looked at again. So the first recovery marks it (field "gone" of its last-claim
  record: the server time) and keeps it in the set; every later pass returns whatever reached its
  records meanwhile, and the pass after ARGV[3] ms forgets it. Its own next claim or heartbeat clears
  the mark (it was alive after all).

  Input:
    KEYS[1] lease of the consumer
    KEYS[2] in-flight hash of the consumer
    KEYS[3] staging list of the consumer
    KEYS[4] retry list
    KEYS[5] consumers set
    KEYS[6] last claim of the consumer (see claim-9.lua)
    ARGV[1] consumer id
    ARGV[2] "force" or ""
    ARGV[3] how long a recovered consumer stays in the set, in milliseconds (the caller's lease time)
  Output:
    the number of messages handed back, or -1 when the lease is still alive
]]
if ARGV[2] ~= 'force' and redis.call('EXISTS', KEYS[1]) == 1 then
  return -1
end
local moved = 0
local entries = redis.call('HGETALL', KEYS[2])
local ids = {}
local values = {}
for i = 1, #entries, 2 do
  local id = tonumber(entries[i])
  ids[#ids + 1] = id
  values[id] = entries[i + 1]
end
table.sort(ids)
for _, id in ipairs(ids) do
  redis.call('RPUSH', KEYS[4], values[id])
  moved = moved + 1
end
local staged = redis.call('LRANGE', KEYS[3], 0, -1)
for _, body in ipairs(staged) do
  redis.call('RPUSH', KEYS[4], '0:' .. body)
  moved = moved + 1
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
if ARGV[2] == 'force' then
  redis.call('DEL', KEYS[6])
  redis.call('SREM', KEYS[5], ARGV[1])
  return moved
end
-- The consumer may be alive (its lease ran out in a pause): its last claim's record stays (a day after
-- its last claim), so a re-send of that claim still finds it and cannot take new messages nobody sees.
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local gone = redis.call('HGET', KEYS[6], 'gone')
if not gone then
  redis.call('HSET', KEYS[6], 'gone', nowMs)
  redis.call('PEXPIRE', KEYS[6], 86400000)
elseif nowMs - tonumber(gone) >= tonumber(ARGV[3]) then
  redis.call('SREM', KEYS[5], ARGV[1])
end
return moved
