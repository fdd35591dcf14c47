"""Job records in Redis, separate from Celery's result backend.

A record is a hash ``job:{id}``. Status changes go through Lua scripts so that
each transition is atomic: a job is started only if still queued (or being
redelivered), and canceled only if still queued, so no cancel/start race can
make a canceled job run or a running job report canceled. Every change is also
published on ``events:{id}`` for live listeners.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

import redis

from tasks.jobs.metrics import count_transition
from tasks.jobs.status import ACTIVE, Status

JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}\Z")  # \Z, not $: no trailing newline
_QUEUE_KEY = "queue:music"  # zset of queued job ids, score = enqueue time
_WORKERS_KEY = "workers:alive"  # zset of worker hostnames, score = last heartbeat
HEARTBEAT_WINDOW = 15.0  # a worker seen within this many seconds counts as live
_RUNTIME_KEY = "runtime:{duration}"  # list of recent run times in seconds
RUNTIME_HISTORY = 50
_RUNNING_KEY = "running"  # zset of started job ids, score = last sign of life

# Fields stored as JSON so that types survive the round trip.
_JSON_FIELDS = {"duration", "seed", "attempts", "losses", "progress", "understood", "run_seconds",
                "instrumental", "bpm", "size_bytes", "peaks"}


def utcnow() -> str:
    return datetime.now(UTC).isoformat()


def _job_key(job_id: str) -> str:
    return f"job:{job_id}"


def _owner_key(owner: str) -> str:
    return f"owner:{owner}:jobs"


def _events_channel(job_id: str) -> str:
    return f"events:{job_id}"


_EVENTS_PATTERN = _events_channel("*")
_RECORD_PATTERN = _job_key("*")


_START = """
local key = KEYS[1]
local status = redis.call('HGET', key, 'status')
if not status then return {'missing', 0} end
if status ~= 'queued' and status ~= 'started' then return {status, 0} end
local losses = tonumber(redis.call('HGET', key, 'losses') or '0')
if status == 'started' and redis.call('HGET', key, 'retrying') ~= '1' then
  -- started but not retrying: the previous run's worker was lost mid-job
  losses = losses + 1
end
redis.call('HSET', key, 'losses', losses, 'retrying', '0')
redis.call('ZREM', KEYS[2], ARGV[1])
if losses >= tonumber(ARGV[3]) then
  redis.call('HSET', key, 'status', 'failed', 'finished_at', ARGV[2], 'error', ARGV[4])
  redis.call('PUBLISH', KEYS[4], ARGV[7])
  return {'gave_up', losses}
end
local attempts = redis.call('HINCRBY', key, 'attempts', 1)
redis.call('HSET', key, 'status', 'started', 'started_at', ARGV[2], 'progress', 0)
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
-- Published from here: one round trip between a job's delivery and its
-- `started` event.
redis.call('PUBLISH', KEYS[4], ARGV[6])
return {'started', attempts}
"""

# started -> queued for a job whose run stopped showing signs of life (its
# worker vanished, or lost the broker and cancelled it). Checked atomically so
# a job that just finished, or just touched its heartbeat, is left alone.
_REQUEUE = """
local key = KEYS[1]
local seen = redis.call('ZSCORE', KEYS[2], ARGV[1])
if redis.call('HGET', key, 'status') ~= 'started' or not seen
   or tonumber(seen) > tonumber(ARGV[2]) then
  if redis.call('HGET', key, 'status') ~= 'started' then redis.call('ZREM', KEYS[2], ARGV[1]) end
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', key, 'losses', 1)
redis.call('HSET', key, 'status', 'queued', 'enqueued_at', ARGV[3], 'progress', 0)
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('PUBLISH', KEYS[4], '{"event": "queued"}')
return 1
"""

_TRANSITION = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
local allowed = false
for word in string.gmatch(ARGV[1], '[^,]+') do
  if word == status then allowed = true end
end
if not allowed then return status end
local new_status = nil
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  if ARGV[i] == 'status' then new_status = ARGV[i + 1] end
end
if new_status then
  -- Only a status change moves the job out of the queue and the running set
  -- (a field update such as `expired` must not), and is announced.
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
  redis.call('PUBLISH', KEYS[4], '{"event": "' .. new_status .. '"}')
end
return 'ok'
"""


class JobStore:
    def __init__(self, client: redis.Redis, retention_seconds: int) -> None:
        self.r = client
        self.retention = retention_seconds
        self._start = client.register_script(_START)
        self._transition = client.register_script(_TRANSITION)
        self._requeue = client.register_script(_REQUEUE)

    # --- records -----------------------------------------------------------
    def create(self, job_id: str, owner: str, fields: dict, *, queued: bool = True) -> dict:
        now = utcnow()
        record = {
            "job_id": job_id,
            "owner": owner,
            "status": Status.QUEUED,
            "created_at": now,
            "enqueued_at": now,
            "attempts": 0,
            "losses": 0,
            **fields,
        }
        pipe = self.r.pipeline()
        pipe.hset(_job_key(job_id), mapping=self._encode(record))
        pipe.expire(_job_key(job_id), self.retention)
        pipe.zadd(_owner_key(owner), {job_id: time.time()})
        pipe.expire(_owner_key(owner), self.retention)
        if queued:
            pipe.zadd(_QUEUE_KEY, {job_id: time.time()}, nx=True)
            pipe.zrank(_QUEUE_KEY, job_id)
        pipe.publish(_events_channel(job_id), json.dumps({"event": "queued"}))
        replies = pipe.execute()
        if queued:
            # Taken in the same transaction: a worker may start the job right after.
            rank = replies[-2]
            record["queue_position"] = None if rank is None else rank + 1
        return record

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
        records = []
        for raw, rank in zip(replies[::2], replies[1::2], strict=True):
            record = self._decode(raw) if raw else None
            if record is not None and record.get("status") == Status.QUEUED:
                record["queue_position"] = None if rank is None else rank + 1
            records.append(record)
        return records

    def update(self, job_id: str, **fields) -> None:
        self.r.hset(_job_key(job_id), mapping=self._encode(fields))

    def delete(self, job_id: str) -> None:
        record = self.get(job_id)
        pipe = self.r.pipeline()
        pipe.delete(_job_key(job_id))
        pipe.zrem(_QUEUE_KEY, job_id)
        if record:
            pipe.zrem(_owner_key(record["owner"]), job_id)
        pipe.execute()

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

    # --- transitions ---------------------------------------------------------
    def start(self, job_id: str, max_losses: int) -> tuple[str, int]:
        """queued/started(redelivered) -> started. Returns (outcome, attempts)."""
        error = f"the job was interrupted {max_losses} times (worker lost); giving up"
        outcome, count = self._start(
            keys=[_job_key(job_id), _QUEUE_KEY, _RUNNING_KEY, _events_channel(job_id)],
            args=[job_id, utcnow(), max_losses, error, time.time(),
                  json.dumps({"event": "started"}), json.dumps({"event": "failed"})],
        )
        outcome = outcome.decode() if isinstance(outcome, bytes) else outcome
        if outcome == "gave_up":
            count_transition(self.r, Status.FAILED)
        return outcome, int(count)

    def transition(self, job_id: str, allowed_from: tuple[str, ...], **fields) -> str:
        """Set fields only if the current status is in allowed_from; returns 'ok' or it."""
        args = [",".join(allowed_from), job_id]
        for name, value in self._encode(fields).items():
            args += [name, value]
        result = self._transition(
            keys=[_job_key(job_id), _QUEUE_KEY, _RUNNING_KEY, _events_channel(job_id)], args=args
        )
        result = result.decode() if isinstance(result, bytes) else result
        if result == "ok" and "status" in fields:
            count_transition(self.r, fields["status"])
        return result

    def cancel(self, job_id: str) -> str:
        return self.transition(
            job_id, (Status.QUEUED,), status=Status.CANCELED, finished_at=utcnow()
        )

    def finish(self, job_id: str, **fields) -> str:
        return self.transition(
            job_id, (Status.STARTED,), status=Status.FINISHED, finished_at=utcnow(), progress=100,
            **fields,
        )

    def hand_to_encoder(self, job_id: str, **fields) -> str:
        """Rendered, now being compressed on the `encode` queue: still started, at 100 %."""
        outcome = self.transition(job_id, (Status.STARTED,), stage="encoding", **fields)
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

    def requeue(self, job_id: str, older_than: float) -> bool:
        """started -> queued if the job showed no sign of life for older_than seconds."""
        now = time.time()
        done = self._requeue(
            keys=[_job_key(job_id), _RUNNING_KEY, _QUEUE_KEY, _events_channel(job_id)],
            args=[job_id, now - older_than, utcnow(), now],
        )
        return bool(done)

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

    def jobs_ahead(self, job_id: str) -> list[str]:
        rank = self.r.zrank(_QUEUE_KEY, job_id)
        if not rank:
            return []
        return [i.decode() for i in self.r.zrange(_QUEUE_KEY, 0, rank - 1)]

    def queued_durations(self, job_ids: list[str]) -> list[int]:
        """Durations of those jobs still queued, in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hmget(_job_key(job_id), "status", "duration")
        return [
            int(duration)
            for status, duration in pipe.execute()
            if status == Status.QUEUED.encode() and duration is not None
        ]

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
        values = self.r.lrange(_RUNTIME_KEY.format(duration=duration), 0, -1)
        return sum(float(v) for v in values) / len(values) if values else None

    def heartbeat(self, hostname: str) -> None:
        self.r.zadd(_WORKERS_KEY, {hostname: time.time()})

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
        """Delete a record the sweep found dead (owner indexes prune themselves when listed)."""
        pipe = self.r.pipeline()
        pipe.delete(_job_key(job_id))
        pipe.zrem(_QUEUE_KEY, job_id)
        pipe.execute()

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
