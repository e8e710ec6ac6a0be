-- Corrects the tokens counted in a subject's current window (`adjust_window`).
-- KEYS: the window hash. ARGV: delta. Returns 1 if there was a window.
return adjust_window(KEYS[1], tonumber(ARGV[1])) and 1 or 0
