--[[
  The producers reading a list, for pushers with `mandatory`: a sorted set of producer ids scored by
  when each registration ends, in the server's time (so no two clocks are compared). Entries that
  ended are removed on every registration; the key itself lives as long as its newest entry, so a
  list whose readers all died leaves nothing behind.

  Input:
    KEYS[1] the readers set
    ARGV[1] "register", "unregister" or "count"
    ARGV[2] the producer id (register, unregister)
    ARGV[3] how long the registration lives, in milliseconds (register)
  Output:
    register, unregister: 1; count: the number of live registrations
]]
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local found = redis.call('TYPE', KEYS[1])['ok']
if found ~= 'none' and found ~= 'zset' then
  return redis.error_reply('WRONGTYPE ' .. KEYS[1] .. ' is a ' .. found .. ', not a zset')
end
if ARGV[1] == 'count' then
  return redis.call('ZCOUNT', KEYS[1], '(' .. nowMs, '+inf')
end
if ARGV[1] == 'unregister' then
  redis.call('ZREM', KEYS[1], ARGV[2])
  return 1
end
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nowMs)
redis.call('ZADD', KEYS[1], nowMs + ttl, ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
