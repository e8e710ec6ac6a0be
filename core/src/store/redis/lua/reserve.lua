-- Holds `worst` for one request, from the plan's monthly quota first, then the
-- balance (hot.rs `reserve`, the same arithmetic).
-- KEYS: account hash, reservations hash, this instance's reservation set,
-- the instances sorted set (joined here too, so an instance that dies before
-- its first heartbeat still has its reservations reaped), then the rate-limit
-- windows the request's tokens are counted in once held (none or more).
-- ARGV: prefix, request id, account id, worst, quota limit, period (YYYYMM),
-- instance id, the tokens to count in those windows.
-- Returns {1, from_quota, from_balance}, {0, available} when short, {-1} for
-- no such account, {-2} when the request id already holds a reservation.
local acct, res, mine, instances = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local rid, worst = ARGV[2], tonumber(ARGV[4])
local quota_limit, period = tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('EXISTS', acct) == 0 then
  return {-1}
end
if redis.call('HEXISTS', res, rid) == 1 then
  return {-2}
end
local f = redis.call('HMGET', acct, 'balance', 'reserved', 'quota_used', 'quota_reserved', 'quota_period')
local balance, reserved = tonumber(f[1]) or 0, tonumber(f[2]) or 0
local quota_used, quota_reserved = tonumber(f[3]) or 0, tonumber(f[4]) or 0
if tonumber(f[5]) ~= period then
  quota_used = 0
  redis.call('HSET', acct, 'quota_period', int(period), 'quota_used', '0')
end
local quota_free = math.max(quota_limit - quota_used - quota_reserved, 0)
local balance_free = math.max(balance - reserved, 0)
if quota_free + balance_free < math.max(worst, 1) then
  return {0, quota_free + balance_free}
end
local from_quota = math.min(worst, quota_free)
local from_balance = worst - from_quota
redis.call('HINCRBY', acct, 'quota_reserved', int(from_quota))
redis.call('HINCRBY', acct, 'reserved', int(from_balance))
redis.call('HSET', res, rid, ARGV[3] .. ' ' .. int(from_quota) .. ' ' .. int(from_balance) .. ' ' .. ARGV[7])
redis.call('SADD', mine, rid)
redis.call('ZADD', instances, 'NX', int(now_ms()), ARGV[7])
adjust_windows(5, tonumber(ARGV[8]) or 0)
return {1, from_quota, from_balance}
