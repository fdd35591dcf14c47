-- Several rate limits taken at once, each the limits library's moving window
-- (its acquire_moving_window): a list of request times, newest first, trimmed to
-- the limit's amount; a request fits when the amount-th newest time has left the
-- window. All limits are checked before any counts the request, so a refused
-- request uses up none of them.
--
-- A function, not a script: the submit's own limits script (web/lua/submit_limits.lua)
-- and the job's create script (tasks/jobs/store.py) each begin with it.
--
-- keys: one list per limit, strictest first; argv[first ..]: amount and expiry (s)
-- per limit; now: seconds (float) and its text as stored; report: also count the
-- first limit's requests inside its window.
-- Returns {0 | 1-based index of the first full limit,
--          the time that opens its window again minus its expiry (full), else
--          the first limit's oldest time inside its window (reported) or '',
--          the first limit's requests inside its window, this one included (reported) or 0}
local function take_windows(keys, argv, first, now, now_text, report)
  for i = 1, #keys do
    local amount, expiry = tonumber(argv[first + 2 * i - 2]), tonumber(argv[first + 2 * i - 1])
    local oldest = redis.call('LINDEX', keys[i], amount - 1)
    if oldest and tonumber(oldest) >= now - expiry then return {i, oldest, amount} end
  end
  for i = 1, #keys do
    local amount, expiry = tonumber(argv[first + 2 * i - 2]), tonumber(argv[first + 2 * i - 1])
    redis.call('LPUSH', keys[i], now_text)
    redis.call('LTRIM', keys[i], 0, amount - 1)
    redis.call('EXPIRE', keys[i], expiry)
  end
  if not report then return {0, '', 0} end
  -- How many of the first limit's times are inside its window: the list is newest
  -- first, so a binary search for the last one inside.
  local expiry = tonumber(argv[first + 1])
  local low, high = 0, redis.call('LLEN', keys[1]) - 1
  while low < high do
    local middle = math.floor((low + high + 1) / 2)
    if tonumber(redis.call('LINDEX', keys[1], middle)) >= now - expiry then
      low = middle
    else
      high = middle - 1
    end
  end
  return {0, redis.call('LINDEX', keys[1], low), low + 1}
end
