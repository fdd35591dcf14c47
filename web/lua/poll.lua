-- A job-status poll in one round trip: the caller's read allowance, then the
-- job's record and queue rank.
--
-- The allowance is the same fixed-window count Flask-Limiter's read limiter
-- keeps (limits' incr_expire: INCRBY, EXPIRE when the count starts), on the
-- same keys, so every read route draws on one exact per-client allowance.
-- Counters live in the limits DB and records in the jobs DB: the script
-- SELECTs each (Redis >= 7 scopes a script's SELECT to the script) and ends
-- in the jobs DB, where its caller's connection is.
--
-- KEYS: job key, queue zset, then one counter key per limit (strictest first)
-- ARGV: job id ('' = read nothing), limits DB, jobs DB, then amount and
--       expiry (s) per limit
-- Returns {0 | 1-based index of the breached limit, its count, its PTTL in ms
--          (not breached: the strictest limit's), flat HGETALL of the record,
--          queue rank or false}
local job_key, queue = KEYS[1], KEYS[2]
local job_id, limits_db, jobs_db = ARGV[1], ARGV[2], ARGV[3]

redis.call('SELECT', limits_db)
local first_count, first_ttl = 0, 0  -- for API keys' RateLimit headers (web/auth.py)
for i = 3, #KEYS do
  local amount, expiry = tonumber(ARGV[2 * i - 2]), tonumber(ARGV[2 * i - 1])
  local count = redis.call('INCRBY', KEYS[i], 1)
  if count == 1 then redis.call('EXPIRE', KEYS[i], expiry) end
  if i == 3 then first_count, first_ttl = count, redis.call('PTTL', KEYS[i]) end
  if count > amount then
    local ttl = redis.call('PTTL', KEYS[i])
    redis.call('SELECT', jobs_db)
    return {i - 2, count, ttl, {}, false}
  end
end
redis.call('SELECT', jobs_db)
if job_id == '' then return {0, first_count, first_ttl, {}, false} end
local record = redis.call('HGETALL', job_key)
local rank = false
if #record > 0 then rank = redis.call('ZRANK', queue, job_id) end
return {0, first_count, first_ttl, record, rank}
