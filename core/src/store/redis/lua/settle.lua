-- Charges one request, once per request id (hot.rs `settle`, the same
-- arithmetic): its reservation is given back, then the cost is taken from the
-- quota it held, then from the balance it held plus balance nobody holds;
-- never below zero. Appends the ledger row and adds it to the totals.
-- First the token counts of the request's rate-limit windows are trued up
-- (whether or not it was settled before, as a separate correction would be).
-- KEYS: account hash, reservations hash, settled marker, ledger stream,
-- totals, then those windows (none or more).
-- ARGV: prefix, request id, cost, marker ttl (s), time, key id, profile,
-- input tokens (all of them), output tokens, status, cache read tokens, cache
-- write tokens (the parts of the input tokens), the windows' token correction.
-- Returns {1, charged, lifetime}, {0} if already settled, {-1} for no such
-- account.
local acct, res, done, ledger, totals = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, rid = ARGV[1], ARGV[2]
adjust_windows(6, tonumber(ARGV[13]) or 0)
if not redis.call('SET', done, '1', 'NX', 'EX', ARGV[4]) then
  return {0}
end
if redis.call('EXISTS', acct) == 0 then
  return {-1}
end
-- A reservation already given back (released, or reaped with a dead
-- instance) holds nothing: the charge then comes from free balance only.
local _, held_q, held_b = unhold(prefix, res, rid)
local f = redis.call('HMGET', acct, 'balance', 'reserved')
local balance, reserved = tonumber(f[1]) or 0, tonumber(f[2]) or 0
local cost = math.max(tonumber(ARGV[3]), 0)
local from_quota = math.min(cost, held_q)
local spare = math.max(balance - reserved - held_b, 0)
local from_balance = math.min(cost - from_quota, held_b + spare)
local charged = from_quota + from_balance
redis.call('HINCRBY', acct, 'balance', int(0 - from_balance))
redis.call('HINCRBY', acct, 'quota_used', int(from_quota))
local lifetime = redis.call('HINCRBY', acct, 'lifetime', int(charged))
redis.call('XADD', ledger, '*', 'time', ARGV[5], 'request_id', rid, 'key_id', ARGV[6],
  'profile', ARGV[7], 'input_tokens', ARGV[8], 'output_tokens', ARGV[9],
  'cost', int(charged), 'status', ARGV[10],
  'cache_read_tokens', ARGV[11], 'cache_write_tokens', ARGV[12])
redis.call('HINCRBY', totals, 'requests', '1')
redis.call('HINCRBY', totals, 'input_tokens', ARGV[8])
redis.call('HINCRBY', totals, 'cache_read_tokens', ARGV[11])
redis.call('HINCRBY', totals, 'cache_write_tokens', ARGV[12])
redis.call('HINCRBY', totals, 'output_tokens', ARGV[9])
redis.call('HINCRBY', totals, 'cost', int(charged))
return {1, charged, lifetime}
