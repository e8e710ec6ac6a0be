-- Gives back a reservation that will not be settled; nothing if it holds none
-- (already settled, released or reaped), so a retry is harmless.
-- KEYS: reservations hash. ARGV: prefix, request id. Returns 1 if it held one.
local held = unhold(ARGV[1], KEYS[1], ARGV[2])
return held and 1 or 0
