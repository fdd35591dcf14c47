-- Claim an Idempotency-Key for one request, atomically (web/idempotency.py).
-- KEYS[1]: idem:{owner}:{key}. ARGV[1]: the body's fingerprint; ARGV[2]: how
-- long (ms) a claim may stay unanswered before another request may take it.
-- Returns {'new'} (this request processes it), {'mismatch'} (another body),
-- {'in_progress'} (the first request is still being processed) or
-- {'replay', status, body} (the stored answer).
local fp, status, body = unpack(redis.call('HMGET', KEYS[1], 'fp', 'status', 'body'))
if not fp then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'new'}
end
if fp ~= ARGV[1] then return {'mismatch'} end
if not status then return {'in_progress'} end
return {'replay', status, body}
