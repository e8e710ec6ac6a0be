-- Gives back a reservation that will not be settled; nothing if it holds none
-- (already settled, released or reaped), so a retry is harmless. Then the
-- token counts of the request's rate-limit windows are corrected.
-- KEYS: reservations hash, then those windows (none or more).
-- ARGV: prefix, request id, the windows' token correction.
-- Returns 1 if it held one.
local held = unhold(ARGV[1], KEYS[1], ARGV[2])
adjust_windows(2, tonumber(ARGV[3]) or 0)
return held and 1 or 0
