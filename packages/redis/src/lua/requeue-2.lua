--[[
  Hands messages of this consumer back: each in-flight entry named in ARGV moves to the retry list;
  ids no longer in flight are skipped (already recovered elsewhere). With ARGV[1] = "undo" the
  delivery is not counted (the message was handed back unprocessed, at stop), otherwise it is.

  Input:
    KEYS[1] in-flight hash of this consumer
    KEYS[2] retry list
    ARGV[1] "undo" or "count"
    ARGV[2..] delivery ids
  Output:
    the number of messages handed back
]]
local moved = 0
local undo = ARGV[1] == 'undo'
for i = 2, #ARGV do
  local value = redis.call('HGET', KEYS[1], ARGV[i])
  if value then
    if undo then
      local sep = string.find(value, ':', 1, true)
      local deliveries = tonumber(string.sub(value, 1, sep - 1)) - 1
      if deliveries < 0 then deliveries = 0 end
      value = deliveries .. string.sub(value, sep)
    end
    redis.call('RPUSH', KEYS[2], value)
    redis.call('HDEL', KEYS[1], ARGV[i])
    moved = moved + 1
  end
end
return moved
