-- A subject's window without counting: {requests, tokens, ms left}, a fresh
-- window when there is none. KEYS: the window hash. ARGV: window ms.
local w = redis.call('HMGET', KEYS[1], 'start', 'requests', 'tokens')
local now, window = now_ms(), tonumber(ARGV[1])
local start = tonumber(w[1])
if not start or now - start >= window then
  return {'0', '0', int(window)}
end
return {int(tonumber(w[2]) or 0), int(tonumber(w[3]) or 0), int(window - (now - start))}
