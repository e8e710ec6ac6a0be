-- Stores a response and keeps its account within the cap.
-- KEYS: the response hash, the account's sorted set, the sequence counter.
-- ARGV: prefix, id, owner, created_at, expires_at, ttl (s), input_items,
-- response, max per account. Returns how many older responses were evicted.
local key, index = KEYS[1], KEYS[2]
local prefix, id, owner = ARGV[1], ARGV[2], ARGV[3]
local ttl, max = tonumber(ARGV[6]), math.max(tonumber(ARGV[9]), 1)
-- The same id put again (by anyone) replaces the old one, index entry included.
local was = redis.call('HGET', key, 'owner')
if was then
  redis.call('ZREM', prefix .. 'resps:' .. was, id)
  redis.call('DEL', key)
end
if ttl <= 0 then
  return 0
end
redis.call('HSET', key, 'owner', owner, 'created_at', ARGV[4], 'expires_at', ARGV[5],
  'input_items', ARGV[7], 'response', ARGV[8])
redis.call('EXPIRE', key, ttl)
redis.call('ZADD', index, redis.call('INCR', KEYS[3]), id)
-- The index outlives none of its responses (TTL -1 when it had none).
if redis.call('TTL', index) < ttl then
  redis.call('EXPIRE', index, ttl)
end
-- Entries whose response expired are dropped from the old end, a few a put.
for _, old in ipairs(redis.call('ZRANGE', index, 0, 7)) do
  if redis.call('EXISTS', prefix .. 'resp:' .. old) == 0 then
    redis.call('ZREM', index, old)
  end
end
local evicted = 0
local over = redis.call('ZCARD', index) - max
if over > 0 then
  local gone = redis.call('ZPOPMIN', index, over)
  for i = 1, #gone, 2 do
    redis.call('DEL', prefix .. 'resp:' .. gone[i])
    evicted = evicted + 1
  end
end
return evicted
