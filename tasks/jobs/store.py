"""Job records in Redis, separate from Celery's result backend.

A record is a hash ``job:{id}``. Status changes go through Lua scripts so that
each transition is atomic: a job is started only if still queued (or being
redelivered), and canceled only if still queued, so no cancel/start race can
make a canceled job run or a running job report canceled. Every change is also
published on ``events:{id}`` for live listeners.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import redis

from tasks.jobs.metrics import count_transition
from tasks.jobs.status import ACTIVE, Status
from tasks.jobs.windows import MOVING_WINDOW_LUA, RateLimited, Windows

if TYPE_CHECKING:
    from tasks.jobs.message import BrokerPush

log = logging.getLogger("tasks.jobs.store")

TIME_LIMIT_ERROR = "generation took longer than its time limit"
# A rendered job's stages on the `encode` queue (tasks.encode).
CPU_STAGES = ("encoding", "exporting")
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}\Z")  # \Z, not $: no trailing newline
_QUEUE_KEY = "queue:music"  # zset of queued job ids, score = enqueue time
_WORKERS_KEY = "workers:alive"  # zset of worker hostnames, score = last heartbeat
HEARTBEAT_WINDOW = 15.0  # a worker seen within this many seconds counts as live
_RUNTIME_KEY = "runtime:{duration}"  # list of recent run times in seconds
RUNTIME_HISTORY = 50
_RUNNING_KEY = "running"  # zset of started job ids, score = last sign of life
# hash: duration -> how many queued jobs have it (running totals for estimated_wait)
_QUEUED_DURATIONS_KEY = "queue:durations"
WORKER_FORGET_AFTER = 3600.0  # a worker silent this long is dropped from workers:alive

# Fields stored as JSON so that types survive the round trip.
_JSON_FIELDS = {"duration", "seed", "attempts", "losses", "progress", "understood", "run_seconds",
                "instrumental", "bpm", "size_bytes", "peaks", "webhook_events_filter",
                "extend_from", "extend_by", "start", "end", "strength", "segments", "snapped",
                "exports", "exports_made", "exports_pending"}
# Pending webhook deliveries (tasks/webhooks/outbox.py): member "{job id}:{event}",
# score = when it is due. A transition that a job's webhook wants adds it here in
# the same script, so no event is lost between the transition and its delivery.
WEBHOOKS_DUE_KEY = "webhooks:due"
WEBHOOK_DISPATCH_LEASE = 60  # seconds the fast path has before the sweep sends it again


def utcnow() -> str:
    return datetime.now(UTC).isoformat()


def _job_key(job_id: str) -> str:
    return f"job:{job_id}"


def _owner_key(owner: str) -> str:
    return f"owner:{owner}:jobs"


def _active_key(kind: str, who: str) -> str:
    # Sets of the queued + started job ids of one owner or client; the Lua
    # scripts build the same names from the record's fields.
    return f"active:{kind}:{who}"


def _events_channel(job_id: str) -> str:
    return f"events:{job_id}"


def client_key(raw: str) -> str:
    """The record's client field: a hash, so records never hold a raw IP address."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _totals(rank, durations, depth, workers, history, runtimes) -> dict:
    if isinstance(durations, list):  # a script's flat HGETALL
        durations = dict(zip(durations[::2], durations[1::2], strict=True))
    return {
        "durations": {int(d): int(n) for d, n in durations.items() if int(n) > 0},
        "depth": int(depth),
        "rank": None if rank is None or rank < 0 else rank,
        "workers": int(workers),
        "runtimes": {d: _mean(h) for d, h in zip(runtimes, history, strict=True)},
    }


def _mean(values: list) -> float | None:
    return sum(float(v) for v in values) / len(values) if values else None


def redis_db(client: redis.Redis) -> int:
    """The DB number a client talks to: for scripts that SELECT across concerns' DBs."""
    return int(client.connection_pool.connection_kwargs.get("db") or 0)


class TooManyActiveJobs(Exception):
    """The owner or client already has its maximum of queued + started jobs."""

    def __init__(self, scope: str, active: int, limit: int) -> None:
        super().__init__(f"{scope} has {active} active jobs (limit {limit})")
        self.scope, self.active, self.limit = scope, active, limit


class QueueRefused(Exception):
    """The broker's list did not take the job's message; nothing was recorded."""


_EVENTS_PATTERN = _events_channel("*")
_RECORD_PATTERN = _job_key("*")


# Shared by the scripts below. Key names built here must match the Python
# helpers above (job:{id}, active:owner:{owner}, active:client:{client}).
# Every move in or out of the queue zset adjusts the per-duration totals, and
# every end of a job releases its owner's and client's active slots, inside
# the same script: the running totals cannot drift from the records.
_LUA_HELPERS = f"""
local WEBHOOKS_DUE_KEY, WEBHOOK_DISPATCH_LEASE = '{WEBHOOKS_DUE_KEY}', {WEBHOOK_DISPATCH_LEASE}
local function dequeue(queue, totals, job_id, job_key)
  if redis.call('ZREM', queue, job_id) == 1 then
    local d = redis.call('HGET', job_key, 'duration')
    if d and redis.call('HINCRBY', totals, d, -1) <= 0 then redis.call('HDEL', totals, d) end
  end
end
local function enqueue(queue, totals, job_id, job_key, score)
  if redis.call('ZADD', queue, 'NX', score, job_id) == 1 then
    local d = redis.call('HGET', job_key, 'duration')
    if d then redis.call('HINCRBY', totals, d, 1) end
  end
end
local function hook(job_key, job_id, event)
  local wanted = redis.call('HGET', job_key, 'webhook_events_filter')
  if not wanted or not string.find(wanted, '"' .. event .. '"', 1, true) then return 0 end
  local state = 'webhook:' .. job_id  -- once per event: a redelivered job starts again
  if redis.call('HSETNX', state, event, '{{}}') == 0 then return 0 end
  local ttl = redis.call('TTL', job_key)
  if ttl > 0 then redis.call('EXPIRE', state, ttl) end
  -- due after the dispatch lease: the caller sends it at once (JobStore.on_webhook)
  local due = tonumber(redis.call('TIME')[1]) + WEBHOOK_DISPATCH_LEASE
  redis.call('ZADD', WEBHOOKS_DUE_KEY, due, job_id .. ':' .. event)
  return 1
end
local function release(job_key, job_id)
  local owner, client = unpack(redis.call('HMGET', job_key, 'owner', 'client'))
  if owner then redis.call('SREM', 'active:owner:' .. owner, job_id) end
  if client then redis.call('SREM', 'active:client:' .. client, job_id) end
end
"""

# Creation with the caps checked in the same script: no concurrent submit can
# slip past them. Members whose record is gone or ended are pruned (a record
# that expired while active must not hold a slot forever), but only when the
# set is at its cap: below it, pruning cannot change the answer, and a scan
# per submit would cost O(active jobs).
_CREATE = _LUA_HELPERS + MOVING_WINDOW_LUA + """
local function active(set, cap)
  local n = redis.call('SCARD', set)
  if n < cap then return n end
  for _, id in ipairs(redis.call('SMEMBERS', set)) do
    local st = redis.call('HGET', 'job:' .. id, 'status')
    if st ~= 'queued' and st ~= 'started' then redis.call('SREM', set, id) end
  end
  return redis.call('SCARD', set)
end
local job_key, owner_index, queue, totals, owner_set, client_set, channel, workers =
  unpack(KEYS)
local job_id, score, ttl, max_owner, max_client, queued, event, created_at, live_since =
  ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], ARGV[7],
  ARGV[8], ARGV[9]
-- The job's broker message and its task-sent event (tasks/jobs/message.py), sent
-- with the record ('' = none) on the list of its priority: the larger active count,
-- capped at the last list. The message goes first (in the broker DB), so a broker
-- list that refuses it leaves nothing written: scripts do not roll back.
-- A key whose life restarts with the job ('' = none): the caller's session, so that
-- it outlives the job's record (web/sessions.py), without writing it again.
local push_db, push_head, push_channel, push_event, jobs_db = ARGV[10], ARGV[11], ARGV[12],
  ARGV[13], ARGV[14]
local renew_db, renew_key, renew_ttl, n_lists = ARGV[15], ARGV[16], ARGV[17], tonumber(ARGV[18])
local function push(active)
  local priority = math.min(active, n_lists - 1)
  redis.call('SELECT', push_db)
  local pushed = redis.pcall('LPUSH', ARGV[19 + priority], push_head .. priority .. '}}')
  redis.call('SELECT', jobs_db)
  if type(pushed) == 'table' and pushed.err then return pushed.err end
end
if redis.call('HGET', job_key, 'created_at') == created_at then
  -- This very call, applied already (a retry after a lost reply): its caps
  -- were checked then; counting the job against them again would refuse it.
  local rank = redis.call('ZRANK', queue, job_id)
  return {'ok', 0, 0, rank or -1, 0}
end
-- Rate windows (tasks/jobs/windows.py), after the record JSON: their DB, now, report,
-- how many (their lists end KEYS), then amount and expiry per list. Taken before the
-- caps, so a submit the caps refuse still counts, as one refused by its body does.
local w = 20 + n_lists
local n_windows = tonumber(ARGV[w + 3] or '0')
local window = {0, '', 0}
if n_windows > 0 then
  local lists = {}
  for i = 1, n_windows do lists[i] = KEYS[#KEYS - n_windows + i] end
  redis.call('SELECT', ARGV[w])
  window = take_windows(lists, ARGV, w + 4, tonumber(ARGV[w + 1]), ARGV[w + 1],
                        ARGV[w + 2] == '1')
  redis.call('SELECT', jobs_db)
  if window[1] > 0 then return {'rate', window[1], window[2], -1} end
end
local n_owner = redis.call('SCARD', owner_set)
if max_owner > 0 then n_owner = active(owner_set, max_owner) end
if max_owner > 0 and n_owner >= max_owner then return {'owner', n_owner, 0, -1} end
local n_client = 0
if client_set ~= owner_set then
  n_client = max_client > 0 and active(client_set, max_client) or redis.call('SCARD', client_set)
  if max_client > 0 and n_client >= max_client then return {'client', n_client, n_owner, -1} end
end
if queued == '1' and push_db ~= '' then
  local refused = push(math.max(n_owner, n_client))
  if refused then return {'queue', refused, 0, -1} end
end
-- The record's fields: one JSON object of strings (one argument, one HSET).
local flat = {}
for name, value in pairs(cjson.decode(ARGV[19 + n_lists])) do
  flat[#flat + 1] = name
  flat[#flat + 1] = value
end
redis.call('HSET', job_key, unpack(flat))
redis.call('EXPIRE', job_key, ttl)
redis.call('ZADD', owner_index, score, job_id)
redis.call('EXPIRE', owner_index, ttl)
for _, set in ipairs({owner_set, client_set}) do
  redis.call('SADD', set, job_id)
  redis.call('EXPIRE', set, ttl)
end
local rank = -1
if queued == '1' then
  enqueue(queue, totals, job_id, job_key, score)
  rank = redis.call('ZRANK', queue, job_id)
end
redis.call('PUBLISH', channel, event)
local renewed = 0
if renew_db ~= '' then
  redis.call('SELECT', renew_db)
  renewed = redis.call('EXPIRE', renew_key, renew_ttl)
  redis.call('SELECT', jobs_db)
end
if queued ~= '1' then return {'ok', n_owner, n_client, rank, renewed} end
-- What the wait estimate needs (JobStore.queue_totals), in this same round trip.
local runtimes = {}
for i = 9, #KEYS - n_windows do
  runtimes[#runtimes + 1] = redis.call('LRANGE', KEYS[i], 0, -1)
end
local answer = {'ok', n_owner, n_client, rank, renewed, redis.call('HGETALL', totals),
                redis.call('ZCARD', queue), redis.call('ZCOUNT', workers, live_since, '+inf'),
                runtimes, window[2], window[3]}
if push_event ~= '' then redis.call('PUBLISH', push_channel, push_event) end
return answer
"""

# Delivery of a job. A `started` job is delivered again when its worker was
# lost (its sign of life then stops, or the worker's parent marks it dead at
# once), after a Redis-blip retry (`retrying`), or as a duplicate: the stall
# sweep's requeue racing the original message. Only the first two may render
# again; a duplicate while the run still shows signs of life is dropped. A
# redelivery after the run's hard deadline fails the job as timed out.
_START = _LUA_HELPERS + """
local key, queue, running, channel, totals = unpack(KEYS)
local job_id, now = ARGV[1], tonumber(ARGV[5])
local status = redis.call('HGET', key, 'status')
if not status then return {'missing', 0} end
if status == 'started' and redis.call('HGET', key, 'start_call') == ARGV[11] then
  -- This very call, applied already (a retry after a lost reply): same answer.
  return {'started', tonumber(redis.call('HGET', key, 'attempts'))}
end
if status ~= 'queued' and status ~= 'started' then return {status, 0} end
local losses = tonumber(redis.call('HGET', key, 'losses') or '0')
if status == 'started' and redis.call('HGET', key, 'retrying') ~= '1' then
  local deadline = tonumber(redis.call('HGET', key, 'deadline') or '0')
  if deadline > 0 and now >= deadline then
    redis.call('HSET', key, 'status', 'failed', 'finished_at', ARGV[2], 'error', ARGV[9])
    redis.call('ZREM', running, job_id)
    release(key, job_id)
    redis.call('PUBLISH', channel, ARGV[7])
    return {'timed_out', 0, hook(key, job_id, 'completed')}
  end
  local seen = redis.call('ZSCORE', running, job_id)
  if seen and tonumber(seen) > now - tonumber(ARGV[8]) then return {'duplicate', 0} end
  losses = losses + 1
end
redis.call('HSET', key, 'losses', losses, 'retrying', '0')
dequeue(queue, totals, job_id, key)
if losses >= tonumber(ARGV[3]) then
  redis.call('HSET', key, 'status', 'failed', 'finished_at', ARGV[2], 'error', ARGV[4])
  redis.call('ZREM', running, job_id)
  release(key, job_id)
  redis.call('PUBLISH', channel, ARGV[7])
  return {'gave_up', losses, hook(key, job_id, 'completed')}
end
local attempts = redis.call('HINCRBY', key, 'attempts', 1)
redis.call('HSET', key, 'status', 'started', 'started_at', ARGV[2], 'progress', 0,
           'deadline', now + tonumber(ARGV[10]), 'start_call', ARGV[11])
redis.call('ZADD', running, now, job_id)
-- Published from here: one round trip between a job's delivery and its
-- `started` event.
redis.call('PUBLISH', channel, ARGV[6])
return {'started', attempts, hook(key, job_id, 'started')}
"""

# The worker process running this job died (its parent saw it): the job's
# sign of life is set to "long ago" so the redelivery counts as a loss.
_MARK_LOST = """
if redis.call('HGET', KEYS[1], 'status') == 'started' then
  redis.call('ZADD', KEYS[2], 'XX', 0, ARGV[1])
end
return 0
"""

# started -> queued for a job whose run stopped showing signs of life (its
# worker vanished, or lost the broker and cancelled it). Checked atomically so
# a job that just finished, or just touched its heartbeat, is left alone.
_REQUEUE = _LUA_HELPERS + """
local key = KEYS[1]
local status, enqueued_at = unpack(redis.call('HMGET', key, 'status', 'enqueued_at'))
if status == 'queued' and enqueued_at == ARGV[3] then
  return 1  -- this very call, applied already (a retry after a lost reply)
end
local seen = redis.call('ZSCORE', KEYS[2], ARGV[1])
if redis.call('HGET', key, 'status') ~= 'started' or not seen
   or tonumber(seen) > tonumber(ARGV[2]) then
  if redis.call('HGET', key, 'status') ~= 'started' then redis.call('ZREM', KEYS[2], ARGV[1]) end
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', key, 'losses', 1)
redis.call('HSET', key, 'status', 'queued', 'enqueued_at', ARGV[3], 'progress', 0)
enqueue(KEYS[3], KEYS[5], ARGV[1], key, ARGV[4])
redis.call('PUBLISH', KEYS[4], '{"event": "queued"}')
return 1
"""

_TRANSITION = _LUA_HELPERS + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
local allowed = false
for word in string.gmatch(ARGV[1], '[^,]+') do
  if word == status then allowed = true end
end
if not allowed then
  -- This very call, applied already (a retry after a lost reply) left every
  -- field as asked, its status included: report it done. A different call
  -- (another finished_at, another status) still gets the current status.
  local applied = false
  for i = 3, #ARGV, 2 do
    if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then return status end
    if ARGV[i] == 'status' then applied = true end
  end
  if applied then return 'ok' end
  return status
end
local new_status = nil
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  if ARGV[i] == 'status' then new_status = ARGV[i + 1] end
end
if new_status then
  -- Only a status change moves the job out of the queue and the running set
  -- (a field update such as `expired` must not), and is announced.
  dequeue(KEYS[2], KEYS[5], ARGV[2], KEYS[1])
  redis.call('ZREM', KEYS[3], ARGV[2])
  redis.call('PUBLISH', KEYS[4], '{"event": "' .. new_status .. '"}')
  if new_status ~= 'queued' and new_status ~= 'started' then
    release(KEYS[1], ARGV[2])
    if hook(KEYS[1], ARGV[2], 'completed') == 1 then return 'ok+webhook' end
  end
end
return 'ok'
"""

# A record removed outright (failed submit, retention sweep): out of the
# queue, its totals and its active slots, then gone.
_FORGET = _LUA_HELPERS + """
dequeue(KEYS[2], KEYS[3], ARGV[1], KEYS[1])
redis.call('ZREM', KEYS[4], ARGV[1])
release(KEYS[1], ARGV[1])
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner then redis.call('ZREM', 'owner:' .. owner .. ':jobs', ARGV[1]) end
redis.call('DEL', KEYS[1])
return 0
"""


class JobStore:
    def __init__(self, client: redis.Redis, retention_seconds: int) -> None:
        self.r = client
        self.retention = retention_seconds
        self._create = client.register_script(_CREATE)
        self._start = client.register_script(_START)
        self._transition = client.register_script(_TRANSITION)
        self._requeue = client.register_script(_REQUEUE)
        self._mark_lost = client.register_script(_MARK_LOST)
        self._forget = client.register_script(_FORGET)
        self._db = redis_db(client)
        # Called as on_webhook(store, job_id, event) after a transition made a
        # webhook delivery due (tasks.config.services wires tasks.webhooks.outbox).
        self.on_webhook = None

    # --- records -----------------------------------------------------------
    def create(
        self, job_id: str, owner: str, fields: dict, *, queued: bool = True,
        client: str | None = None, max_owner: int = 0, max_client: int = 0,
        runtimes: tuple[int, ...] = (), push: BrokerPush | None = None,
        renew: tuple[int, str, int] | None = None, windows: Windows | None = None,
    ) -> dict:
        """Make a queued record unless the owner or client (a client_key()) is at its cap.

        Raises TooManyActiveJobs. The returned record carries `queue_position`
        and `active_before`: the larger of the owner's and client's active
        counts before this job (what the fair queue's priority comes from);
        a queued one also `queue_totals`, as queue_totals(job_id, runtimes)
        would answer right after. `push`: the job's broker message
        (tasks.jobs.message), sent by the same script, so the job is recorded
        and queued together or not at all. `renew`: (DB, key, seconds), a key
        whose life restarts with the job (the record's `renewed` says if it
        still existed). `windows`: rate windows taken first (raises RateLimited,
        nothing written); a reported one leaves (oldest time, requests) in the
        record's `window`.
        """
        now = utcnow()
        record = {
            "job_id": job_id,
            "owner": owner,
            "client": client,
            "status": Status.QUEUED,
            "created_at": now,
            "enqueued_at": now,
            "attempts": 0,
            "losses": 0,
            **fields,
        }
        owner_set = _active_key("owner", owner)
        client_set = _active_key("client", client) if client else owner_set
        clock = time.time()
        args = [job_id, clock, self.retention, max_owner, max_client, "1" if queued else "0",
                json.dumps({"event": "queued"}), now, clock - HEARTBEAT_WINDOW]
        push = push if queued else None
        if push is None:
            args += ["", "", "", "", self._db]
        else:
            args += [push.db, push.message_head, push.channel, push.event, self._db]
        args += [*(renew or ("", "", "")), len(push.queue_keys) if push else 0]
        args += push.queue_keys if push else ()
        args.append(json.dumps(self._encode(record)))
        if windows is not None:
            args += windows.args()
        scope, first, second, rank, *rest = self._create(
            keys=[_job_key(job_id), _owner_key(owner), _QUEUE_KEY, _QUEUED_DURATIONS_KEY,
                  owner_set, client_set, _events_channel(job_id), _WORKERS_KEY,
                  *(_RUNTIME_KEY.format(duration=d) for d in runtimes),
                  *(windows.keys if windows is not None else ())],
            args=args,
        )
        scope = scope.decode() if isinstance(scope, bytes) else scope
        if scope == "rate":
            raise RateLimited(int(first), float(second))
        if scope == "owner":
            raise TooManyActiveJobs("session", int(first), max_owner)
        if scope == "client":
            raise TooManyActiveJobs("client", int(first), max_client)
        if scope == "queue":
            raise QueueRefused(first.decode() if isinstance(first, bytes) else str(first))
        record["active_before"] = max(int(first), int(second))
        record["renewed"] = bool(rest and rest[0])
        totals, window = rest[1:5], rest[5:7]
        if queued:
            # Taken in the same script: a worker may start the job right after.
            record["queue_position"] = None if rank < 0 else rank + 1
            if totals:  # (not on a retried call's short answer)
                record["queue_totals"] = _totals(rank, *totals, runtimes)
        if windows is not None and windows.report and window and window[0]:
            record["window"] = (float(window[0]), int(window[1]))
        return {k: v for k, v in record.items() if v is not None or k == "queue_position"}

    def create_if_absent(self, job_id: str, owner: str, fields: dict) -> bool:
        """For direct Celery callers: make a record unless the API already did."""
        if self.r.exists(_job_key(job_id)):
            return False
        self.create(job_id, owner, fields, queued=False)
        return True

    def get(self, job_id: str) -> dict | None:
        """The record, with queue_position while it is queued."""
        return self.get_many([job_id])[0]

    def get_many(self, job_ids: list[str]) -> list[dict | None]:
        """Records (None where gone) and their queue positions, in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hgetall(_job_key(job_id))
            pipe.zrank(_QUEUE_KEY, job_id)
        replies = pipe.execute()
        return [self.record_from(raw, rank)
                for raw, rank in zip(replies[::2], replies[1::2], strict=True)]

    @staticmethod
    def keys_for(job_id: str) -> tuple[str, str]:
        """(record key, queue key) of a job: for scripts that read a record elsewhere."""
        return _job_key(job_id), _QUEUE_KEY

    @classmethod
    def record_from(cls, raw: dict | list | None, rank: int | None) -> dict | None:
        """A record from HGETALL's reply (a dict, or a script's flat list) and its ZRANK."""
        if not raw:
            return None
        if isinstance(raw, list):
            raw = dict(zip(raw[::2], raw[1::2], strict=True))
        record = cls._decode(raw)
        if record.get("status") == Status.QUEUED:
            record["queue_position"] = None if rank is None else rank + 1
        return record

    def update(self, job_id: str, **fields) -> None:
        self.r.hset(_job_key(job_id), mapping=self._encode(fields))

    def delete(self, job_id: str) -> None:
        self._forget_record(job_id)

    def _forget_record(self, job_id: str) -> None:
        self._forget(keys=[_job_key(job_id), _QUEUE_KEY, _QUEUED_DURATIONS_KEY, _RUNNING_KEY],
                     args=[job_id])

    def list_for_owner(
        self, owner: str, offset: int = 0, limit: int = 20
    ) -> tuple[list[dict], int]:
        key = _owner_key(owner)
        ids = [i.decode() for i in self.r.zrevrange(key, offset, offset + limit - 1)]
        records = self.get_many(ids) if ids else []
        expired = [job_id for job_id, record in zip(ids, records, strict=True) if record is None]
        if expired:  # drop the dangling index entries
            self.r.zrem(key, *expired)
        return [r for r in records if r is not None], self.r.zcard(key)

    def page_for_owner(
        self, owner: str, after: tuple[float, str] | None, limit: int
    ) -> tuple[list[dict], tuple[float, str] | None]:
        """Newest first, from just after `after` (score, job id): a stable cursor,
        unlike an offset, when new jobs arrive between pages. Returns (records, next)."""
        key = _owner_key(owner)
        top = "+inf" if after is None else after[0]
        # Entries that share the cursor's score come in reverse id order (ZREVRANGE
        # ties); the ones not yet seen are those with a smaller id.
        slack = 0 if after is None else 20
        found = self.r.zrevrangebyscore(key, top, "-inf", start=0, num=limit + 1 + slack,
                                        withscores=True)
        entries = [(i.decode(), score) for i, score in found]
        if after is not None:
            entries = [(i, sc) for i, sc in entries if sc < after[0] or i < after[1]]
        page, more = entries[:limit], len(entries) > limit
        records = self.get_many([i for i, _ in page]) if page else []
        expired = [i for (i, _), record in zip(page, records, strict=True) if record is None]
        if expired:
            self.r.zrem(key, *expired)
        following = (page[-1][1], page[-1][0]) if more and page else None
        return [r for r in records if r is not None], following

    # --- transitions ---------------------------------------------------------
    def start(
        self, job_id: str, max_losses: int, *, stall_seconds: float = 90.0,
        hard_limit: float = 3600.0,
    ) -> tuple[str, int]:
        """queued/started(redelivered) -> started. Returns (outcome, attempts).

        Outcomes besides a status: 'started', 'missing', 'duplicate' (another
        run of this job is alive: do nothing), 'gave_up' (too many lost
        workers: failed), 'timed_out' (redelivered after the run's hard
        deadline: failed).
        """
        error = f"the job was interrupted {max_losses} times (worker lost); giving up"
        outcome, count, *webhook = self._start(
            keys=[_job_key(job_id), _QUEUE_KEY, _RUNNING_KEY, _events_channel(job_id),
                  _QUEUED_DURATIONS_KEY],
            args=[job_id, utcnow(), max_losses, error, time.time(),
                  json.dumps({"event": "started"}), json.dumps({"event": "failed"}),
                  stall_seconds, TIME_LIMIT_ERROR, hard_limit, secrets.token_hex(8)],
        )
        outcome = outcome.decode() if isinstance(outcome, bytes) else outcome
        if outcome in ("gave_up", "timed_out"):
            count_transition(self.r, Status.FAILED)
        if webhook and webhook[0] == 1:
            self._webhook_due(job_id, "started" if outcome == "started" else "completed")
        return outcome, int(count)

    def mark_lost(self, job_id: str) -> None:
        """Its worker process died: the next delivery counts as a loss, not a duplicate."""
        self._mark_lost(keys=[_job_key(job_id), _RUNNING_KEY], args=[job_id])

    def transition(self, job_id: str, allowed_from: tuple[str, ...], **fields) -> str:
        """Set fields only if the current status is in allowed_from; returns 'ok' or it."""
        args = [",".join(allowed_from), job_id]
        if "status" in fields:
            # Names this call, so a replay of it (redis-py re-sending after a
            # lost reply) is told apart from another caller's same change.
            fields = {**fields, "transition_call": secrets.token_hex(8)}
        for name, value in self._encode(fields).items():
            args += [name, value]
        result = self._transition(
            keys=[_job_key(job_id), _QUEUE_KEY, _RUNNING_KEY, _events_channel(job_id),
                  _QUEUED_DURATIONS_KEY],
            args=args,
        )
        result = result.decode() if isinstance(result, bytes) else result
        if result == "ok+webhook":
            result = "ok"
            self._webhook_due(job_id, "completed")
        if result == "ok" and "status" in fields:
            count_transition(self.r, fields["status"])
        return result

    def _webhook_due(self, job_id: str, event: str) -> None:
        # The fast path: the event is already pending in WEBHOOKS_DUE_KEY (the
        # transition's script put it there), so a failure here only delays it
        # until the sweep finds it.
        if self.on_webhook is None:
            return
        try:
            self.on_webhook(self, job_id, event)
        except Exception as exc:
            log.warning("webhook not dispatched now (%s: %s); the sweep will",
                        type(exc).__name__, exc, extra={"job_id": job_id})

    def cancel(self, job_id: str) -> str:
        return self.transition(
            job_id, (Status.QUEUED,), status=Status.CANCELED, finished_at=utcnow()
        )

    def finish(self, job_id: str, **fields) -> str:
        return self.transition(
            job_id, (Status.STARTED,), status=Status.FINISHED, finished_at=utcnow(), progress=100,
            **fields,
        )

    def hand_to_encoder(self, job_id: str, stage: str = "encoding", **fields) -> str:
        """Rendered, now being compressed (or its exports made) on the `encode`
        queue: still started, at 100 %."""
        outcome = self.transition(job_id, (Status.STARTED,), stage=stage, **fields)
        if outcome == "ok":
            self.set_progress(job_id, 100)
        return outcome

    def fail(self, job_id: str, error: str) -> str:
        return self.transition(
            job_id, ACTIVE, status=Status.FAILED, finished_at=utcnow(), error=error
        )

    def touch(self, job_id: str) -> None:
        """A running job's sign of life (only while it is still started)."""
        self.r.zadd(_RUNNING_KEY, {job_id: time.time()}, xx=True)

    def stalled(self, older_than: float) -> list[str]:
        cutoff = time.time() - older_than
        return [i.decode() for i in self.r.zrangebyscore(_RUNNING_KEY, "-inf", cutoff)]

    def queued_since(self, older_than: float) -> list[str]:
        """Ids of jobs queued (or requeued) at least `older_than` seconds ago."""
        cutoff = time.time() - older_than
        return [i.decode() for i in self.r.zrangebyscore(_QUEUE_KEY, "-inf", cutoff)]

    def requeue(self, job_id: str, older_than: float) -> bool:
        """started -> queued if the job showed no sign of life for older_than seconds."""
        now = time.time()
        done = self._requeue(
            keys=[_job_key(job_id), _RUNNING_KEY, _QUEUE_KEY, _events_channel(job_id),
                  _QUEUED_DURATIONS_KEY],
            args=[job_id, now - older_than, utcnow(), now],
        )
        return bool(done)

    def replicate(self, job_id: str, replicas: int, timeout_ms: int) -> int:
        """Wait until `replicas` replicas have every write made so far (the
        job's message included); returns how many acknowledged in time."""
        # WAIT covers this connection's last write, so one is made here, after
        # the caller's others (the broker's message went over another connection).
        pipe = self.r.pipeline(transaction=False)
        pipe.hset(_job_key(job_id), "replicated_at", utcnow())
        pipe.execute_command("WAIT", replicas, timeout_ms)
        return int(pipe.execute()[1])

    def set_progress(self, job_id: str, percent: int) -> None:
        pipe = self.r.pipeline(transaction=False)
        pipe.hset(_job_key(job_id), "progress", percent)
        event = json.dumps({"event": "progress", "progress": percent})
        pipe.publish(_events_channel(job_id), event)
        pipe.execute()

    # --- queue and estimates ------------------------------------------------
    def queue_position(self, job_id: str) -> int | None:
        rank = self.r.zrank(_QUEUE_KEY, job_id)
        return None if rank is None else rank + 1

    def queue_totals(self, job_id: str | None = None, runtimes: tuple[int, ...] = ()) -> dict:
        """Running totals for estimates, in one round trip, without reading the queue.

        {"durations": {duration: queued count}, "depth": queued jobs,
         "rank": this job's 0-based place or None, "workers": live workers,
         "runtimes": {duration: mean_runtime()} for each of `runtimes`}
        """
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(_QUEUED_DURATIONS_KEY)
        pipe.zcard(_QUEUE_KEY)
        pipe.zrank(_QUEUE_KEY, job_id or "")
        pipe.zcount(_WORKERS_KEY, time.time() - HEARTBEAT_WINDOW, "+inf")
        for duration in runtimes:
            pipe.lrange(_RUNTIME_KEY.format(duration=duration), 0, -1)
        durations, depth, rank, workers, *history = pipe.execute()
        return _totals(None if job_id is None else rank, durations, depth, workers, history,
                       runtimes)

    def queue_depth(self) -> int:
        return self.r.zcard(_QUEUE_KEY)

    def fleet(self, within: float = HEARTBEAT_WINDOW) -> tuple[int, int]:
        """(queue depth, live workers) in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        pipe.zcard(_QUEUE_KEY)
        pipe.zcount(_WORKERS_KEY, time.time() - within, "+inf")
        depth, live = pipe.execute()
        return int(depth), int(live)

    def record_runtime(self, duration: int, seconds: float) -> None:
        key = _RUNTIME_KEY.format(duration=duration)
        pipe = self.r.pipeline()
        pipe.lpush(key, f"{seconds:.3f}")
        pipe.ltrim(key, 0, RUNTIME_HISTORY - 1)
        pipe.execute()

    def mean_runtime(self, duration: int) -> float | None:
        return _mean(self.r.lrange(_RUNTIME_KEY.format(duration=duration), 0, -1))

    def heartbeat(self, hostname: str) -> None:
        """Record this worker as live and forget workers silent for WORKER_FORGET_AFTER."""
        now = time.time()
        pipe = self.r.pipeline(transaction=False)
        pipe.zadd(_WORKERS_KEY, {hostname: now})
        pipe.zremrangebyscore(_WORKERS_KEY, "-inf", now - WORKER_FORGET_AFTER)
        pipe.execute()

    def forget_worker(self, hostname: str) -> None:
        self.r.zrem(_WORKERS_KEY, hostname)

    def live_workers(self, within: float = HEARTBEAT_WINDOW) -> int:
        return self.r.zcount(_WORKERS_KEY, time.time() - within, "+inf")

    # --- live events ---------------------------------------------------------
    def open_event_feed(self):
        """A pub/sub connection subscribed to every job's events (read with job_event)."""
        pubsub = self.r.pubsub()
        pubsub.psubscribe(_EVENTS_PATTERN)
        return pubsub

    @staticmethod
    def job_event(message: dict) -> tuple[str, dict] | None:
        """(job id, event) from an event-feed message; None for anything malformed."""
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else channel
        try:
            event = json.loads(message["data"])
        except (TypeError, ValueError):
            return None
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            return None
        return channel.split(":", 1)[1], event

    # --- retention sweep -------------------------------------------------------
    def scan_records(self, fields: tuple[str, ...], batch: int = 500):
        """Yield (job_id, {field: value or None}, ttl seconds or -1) for every record."""
        cursor = 0
        while True:
            cursor, keys = self.r.scan(cursor, match=_RECORD_PATTERN, count=batch)
            if keys:
                pipe = self.r.pipeline(transaction=False)
                for key in keys:
                    pipe.hmget(key, *fields)
                    pipe.ttl(key)
                replies = pipe.execute()
                for i, key in enumerate(keys):
                    values = [v.decode() if v is not None else None for v in replies[2 * i]]
                    record = dict(zip(fields, values, strict=True))
                    yield key.decode().removeprefix("job:"), record, replies[2 * i + 1]
            if cursor == 0:
                return

    def drop(self, job_id: str) -> None:
        """Delete a record the sweep found dead, with its queue entry and active slots."""
        self._forget_record(job_id)

    def expire_in(self, job_id: str, seconds: int) -> None:
        self.r.expire(_job_key(job_id), max(1, int(seconds)))

    # --- encoding -------------------------------------------------------------
    @staticmethod
    def _encode(fields: dict) -> dict:
        out = {}
        for name, value in fields.items():
            if value is None:
                continue
            out[name] = json.dumps(value) if name in _JSON_FIELDS else str(value)
        return out

    @staticmethod
    def _decode(raw: dict) -> dict:
        record = {}
        for name, value in raw.items():
            name, value = name.decode(), value.decode()
            record[name] = json.loads(value) if name in _JSON_FIELDS else value
        return record
