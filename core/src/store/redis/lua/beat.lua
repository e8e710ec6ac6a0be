-- This instance is alive; reservations of instances that have not said so
-- for `dead_after` ms died with them (a crash never settles or releases) and
-- are given back. Only an instance that has itself been beating for that
-- long may reap: after an outage of the server, every instance is late.
-- KEYS: instances sorted set, reservations hash.
-- ARGV: prefix, instance id, dead_after ms, may_reap (1/0).
-- Returns the number of reservations given back.
local instances, res = KEYS[1], KEYS[2]
local prefix, me, dead_after = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = now_ms()
redis.call('ZADD', instances, int(now), me)
if ARGV[4] ~= '1' then
  return 0
end
local freed = 0
for _, inst in ipairs(redis.call('ZRANGEBYSCORE', instances, '-inf', '(' .. int(now - dead_after))) do
  local set = prefix .. 'inst:' .. inst
  for _, rid in ipairs(redis.call('SMEMBERS', set)) do
    unhold(prefix, res, rid)
    freed = freed + 1
  end
  redis.call('DEL', set)
  redis.call('ZREM', instances, inst)
end
return freed
