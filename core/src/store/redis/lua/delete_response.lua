-- Deletes a response if `owner` has it and it has not expired.
-- KEYS: the response hash, the owner's sorted set. ARGV: owner, id, now (unix
-- s, the gateway's clock, as reads check it). Returns 1 if deleted, else 0.
local f = redis.call('HMGET', KEYS[1], 'owner', 'expires_at')
if f[1] ~= ARGV[1] or (tonumber(f[2]) or 0) <= tonumber(ARGV[3]) then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
