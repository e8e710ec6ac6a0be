-- Counts one request and `tokens` against a one-minute window if both
-- ceilings allow it (limits.rs `Limiter::admit`: requests first, then
-- tokens, admitted while any remain). The window starts at its first request.
-- KEYS: the subject's window hash. ARGV: rpm, tpm, tokens, window ms.
-- Returns the counts before this request and the ms left in the window, as
-- strings; the caller judges them with limits.rs `judge`, the same rule.
local w = redis.call('HMGET', KEYS[1], 'start', 'requests', 'tokens')
local now, window = now_ms(), tonumber(ARGV[4])
local start, req, tok = tonumber(w[1]), tonumber(w[2]) or 0, tonumber(w[3]) or 0
if not start or now - start >= window then
  start, req, tok = now, 0, 0
end
if req < tonumber(ARGV[1]) and tok < tonumber(ARGV[2]) then
  local counted = math.min(tok + tonumber(ARGV[3]), 9007199254740991)
  redis.call('HSET', KEYS[1], 'start', int(start), 'requests', int(req + 1), 'tokens', int(counted))
  redis.call('PEXPIREAT', KEYS[1], int(start + window))
end
return {int(req), int(tok), int(window - (now - start))}
