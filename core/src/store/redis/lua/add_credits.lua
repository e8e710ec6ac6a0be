-- Adds credits, keeping the balance where Lua's doubles are exact.
-- KEYS: account hash. ARGV: nano-dollars. Returns {1, balance}, {-1} for no
-- such account, {-2} when the balance would leave +/-(2^53 - 1).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
local after = (tonumber(redis.call('HGET', KEYS[1], 'balance')) or 0) + tonumber(ARGV[1])
if math.abs(after) > 9007199254740991 then
  return {-2}
end
return {1, redis.call('HINCRBY', KEYS[1], 'balance', ARGV[1])}
