-- Shared by every script (prepended to each). Money is integer nano-dollars;
-- Lua 5.1 numbers are doubles, exact for integers below 2^53, and the store
-- keeps balances within that (add_credits refuses more). Numbers are handed to
-- redis.call as strings made by '%d': the default conversion may write
-- 1e+15 or -0, which HINCRBY refuses.
local function int(x)
  return string.format('%d', x)
end

-- Milliseconds by the server's clock, so instances with skewed clocks agree.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Gives back the reservation of request `rid`, if it still holds one:
-- returns whether it did, and what it held from the quota and from the
-- balance. A reservation is "account from_quota from_balance instance".
local function unhold(prefix, res, rid)
  local rec = redis.call('HGET', res, rid)
  if not rec then
    return false, 0, 0
  end
  local acct, q, b, inst = string.match(rec, '^(%S+) (%S+) (%S+) (%S+)$')
  q, b = tonumber(q), tonumber(b)
  redis.call('HDEL', res, rid)
  redis.call('SREM', prefix .. 'inst:' .. inst, rid)
  local key = prefix .. 'acct:' .. acct
  if redis.call('EXISTS', key) == 1 then
    redis.call('HINCRBY', key, 'quota_reserved', int(0 - q))
    redis.call('HINCRBY', key, 'reserved', int(0 - b))
  end
  return true, q, b
end

-- Corrects the tokens counted in a subject's current window, never below
-- zero (limits.rs `adjust_tokens`); nothing when it has no window. Returns
-- whether it had one.
local function adjust_window(key, delta)
  local tok = redis.call('HGET', key, 'tokens')
  if not tok then
    return false
  end
  local v = math.min(math.max(tonumber(tok) + delta, 0), 9007199254740991)
  redis.call('HSET', key, 'tokens', int(v))
  return true
end

-- `adjust_window` for each of KEYS[first..]: the windows of the subjects a
-- request is counted against, which reserve, settle and release carry so
-- their token corrections cost no round trip of their own.
local function adjust_windows(first, delta)
  for i = first, #KEYS do
    adjust_window(KEYS[i], delta)
  end
end
