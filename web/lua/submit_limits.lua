-- Every rate limit of a submit in one round trip, on Flask-Limiter's own keys.
--
-- Each limit is the limits library's moving window (its acquire_moving_window):
-- a list of request times, newest first, trimmed to the limit's amount; a
-- request fits when the amount-th newest time has left the window. All limits
-- are checked before any counts the request, so a refused submit uses up none
-- of them (Flask-Limiter counted those checked before the first full one).
--
-- KEYS: one list per limit, in Flask-Limiter's order
-- ARGV: now (s, float), 1 to report the first limit's window, then amount and
--       expiry (s) per limit
-- Returns {0 | 1-based index of the first full limit,
--          the time that opens its window again minus its expiry (full), else
--          the first limit's oldest time inside its window (reported) or '',
--          the first limit's requests inside its window, this one included (reported) or 0}
local now, report = tonumber(ARGV[1]), ARGV[2] == '1'
for i = 1, #KEYS do
  local amount, expiry = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  local oldest = redis.call('LINDEX', KEYS[i], amount - 1)
  if oldest and tonumber(oldest) >= now - expiry then return {i, oldest, amount} end
end
for i = 1, #KEYS do
  local amount, expiry = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  redis.call('LPUSH', KEYS[i], ARGV[1])
  redis.call('LTRIM', KEYS[i], 0, amount - 1)
  redis.call('EXPIRE', KEYS[i], expiry)
end
if not report then return {0, '', 0} end
-- How many of the first limit's times are inside its window: the list is newest
-- first, so a binary search for the last one inside.
local expiry = tonumber(ARGV[4])
local low, high = 0, redis.call('LLEN', KEYS[1]) - 1
while low < high do
  local middle = math.floor((low + high + 1) / 2)
  if tonumber(redis.call('LINDEX', KEYS[1], middle)) >= now - expiry then
    low = middle
  else
    high = middle - 1
  end
end
return {0, redis.call('LINDEX', KEYS[1], low), low + 1}
