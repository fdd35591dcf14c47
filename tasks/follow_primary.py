"""A worker's broker consumer follows a Sentinel failover even when the old primary hangs.

Celery's Redis consumer waits for BRPOP replies through the worker's event loop,
with no read timeout. When the primary is stopped rather than killed, that
wait lasts as long as the stop; once the old primary resumes, the consumer
takes messages from it and acknowledges there, until the sentinels demote it
(about 10 s later, when they close its clients): work the resync then
discards. This consumer step asks the sentinels who is primary every second
(a timer in the event loop) and, when the consumer's connection is not to that
node, shuts the socket down and raises a connection error out of the event
loop: Celery sees the connection lost, exactly as when the sentinels close it,
and reconnects through the sentinels to the new primary. Without REDIS_SENTINELS it does nothing.
"""

from __future__ import annotations

import logging
import socket

import redis
from celery import bootsteps

from tasks.config.redis_clients import RECHECK_SECONDS, sentinel_for
from tasks.config.settings import get_settings

log = logging.getLogger("tasks.follow_primary")


class FollowPrimary(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, **kwargs) -> None:
        super().__init__(parent, **kwargs)
        self.timer_ref = None

    def start(self, parent) -> None:
        settings = get_settings()
        if not settings.uses_sentinel or parent.timer is None:
            return
        sentinel = sentinel_for(settings)
        self.timer_ref = parent.timer.call_repeatedly(
            RECHECK_SECONDS, self.check, (parent, sentinel, settings.redis_sentinel_master)
        )

    def stop(self, parent) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None

    shutdown = stop

    def check(self, parent, sentinel, master: str) -> None:
        try:
            primary = sentinel.discover_master(master)
        except redis.RedisError:
            return  # no primary named right now: nothing to follow yet
        consumer = getattr(parent, "task_consumer", None)
        channel = getattr(consumer, "channel", None)
        # kombu's Redis channel: its `client` (created on first use) holds the
        # connection BRPOP waits on.
        conn = getattr(channel.__dict__.get("client"), "connection", None) if channel else None
        sock = getattr(conn, "_sock", None)
        if sock is None or (conn.host, int(conn.port)) == (primary[0], int(primary[1])):
            return
        log.warning("broker consumer on %s:%s, the sentinels name %s:%s: reconnecting",
                    conn.host, conn.port, *primary)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed
        # The loop notices a shut socket only when it reads it, and with a message
        # still unacknowledged (acks late, prefetch 1: say its ack timed out on the
        # stopped primary) no BRPOP is waiting, so nothing ever read it and the
        # worker sat idle. A connection error raised here leaves the event loop
        # (its timers pass the broker's connection errors on), and Celery
        # reconnects through the sentinels as for any lost connection.
        raise redis.ConnectionError(f"broker consumer not on the primary {primary[0]}:{primary[1]}")
