-- Corrects the tokens counted in a subject's current window, never below
-- zero (limits.rs `adjust_tokens`). KEYS: the window hash. ARGV: delta.
local tok = redis.call('HGET', KEYS[1], 'tokens')
if not tok then
  return 0
end
local v = math.min(math.max(tonumber(tok) + tonumber(ARGV[1]), 0), 9007199254740991)
redis.call('HSET', KEYS[1], 'tokens', int(v))
return 1
