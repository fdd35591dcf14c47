"""Caps on open event streams per session and per client, shared by every API process.

Each open stream holds a slot: a member of a Redis sorted set per session and
per client key (IP, or IPv6 /64), scored with the time the slot lapses by
itself. A stream ends after EVENTS_MAX_SECONDS anyway, so a slot lapses a
little after that: a worker that crashes with streams open leaks its slots for
minutes at most, and every acquire first drops lapsed members. A slot is
released on the response's close, the same path that drops the subscription.
"""

from __future__ import annotations

import secrets
import time

import redis

# KEYS: the sets; ARGV: now, lapse time, member, then one cap per key.
# All or nothing: a stream over any cap takes no slot anywhere.
_ACQUIRE = """
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[2], ARGV[3])
  redis.call('EXPIREAT', key, math.ceil(tonumber(ARGV[2])) + 1)
end
return 0
"""

LAPSE_MARGIN = 30.0  # seconds past a stream's longest life


class StreamCapExceeded(Exception):
    def __init__(self, scope: str, cap: int) -> None:
        who = {"session": "this session", "ip": "your network address"}.get(scope, scope)
        super().__init__(f"{who} already has {cap} open event streams")
        self.scope = scope
        self.cap = cap


class StreamSlots:
    def __init__(self, client: redis.Redis, lifetime: float) -> None:
        self.r = client
        self.lifetime = lifetime + LAPSE_MARGIN
        self._acquire = client.register_script(_ACQUIRE)

    def acquire(self, holders: list[tuple[str, str, int]]) -> Slot:
        """One slot under each (scope, key, cap), or StreamCapExceeded naming the full one."""
        member = secrets.token_hex(8)
        now = time.time()
        keys = [f"streams:{scope}:{key}" for scope, key, _ in holders]
        full = self._acquire(
            keys=keys, args=[now, now + self.lifetime, member, *(cap for _, _, cap in holders)]
        )
        if full:
            scope, _, cap = holders[int(full) - 1]
            raise StreamCapExceeded(scope, cap)
        return Slot(self.r, keys, member)

    def count(self, scope: str, key: str) -> int:
        name = f"streams:{scope}:{key}"
        return self.r.zcount(name, time.time(), "+inf")


class Slot:
    def __init__(self, client: redis.Redis, keys: list[str], member: str) -> None:
        self.r = client
        self.keys = keys
        self.member = member
        self.released = False

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        try:
            with self.r.pipeline(transaction=False) as pipe:
                for key in self.keys:
                    pipe.zrem(key, self.member)
                pipe.execute()
        except redis.RedisError:
            pass  # the slot lapses by itself (LAPSE_MARGIN past the stream's life)
