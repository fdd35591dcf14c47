-- Every rate limit of a submit in one round trip, on Flask-Limiter's own keys,
-- for a submit refused before its job's script runs (a bad body, a capped source):
-- it still counts, as under Flask-Limiter. Begins with tasks/jobs/moving_window.lua.
--
-- KEYS: one list per limit, in Flask-Limiter's order
-- ARGV: Windows.args() (tasks/jobs/windows.py): the lists' DB (this connection's
--       already), now (s, float), 1 to report the first limit's window, how many,
--       then amount and expiry (s) per limit
-- Returns take_windows' answer.
return take_windows(KEYS, ARGV, 5, tonumber(ARGV[2]), ARGV[2], ARGV[3] == '1')
