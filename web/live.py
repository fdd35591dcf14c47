"""Live job events: one Redis pub/sub connection per process, fanned out to streams.

JobStore publishes every status change and progress step as JSON on
``events:{job_id}``. Rather than one Redis connection per open browser stream,
each API process keeps a single ``PSUBSCRIBE events:*`` connection in a
background thread (a greenlet under gunicorn's gevent worker, which patches
``threading``, ``queue`` and sockets) and hands each message to the local
queues registered for that job. An open stream then costs one small queue and
one idle greenlet, not a Redis connection.

If the connection drops, or goes silent (a ping unanswered: a stopped primary,
a failover), the hub reconnects (under Sentinel, to the current primary) and
puts ``RESYNC`` on every queue: events published while it was away are lost,
so each stream re-reads its job record instead.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque

import redis
from prometheus_client import Gauge

from tasks.jobs.store import JobStore
from web.alarms import ALARMS

log = logging.getLogger("web.live")

RESYNC = {"event": "_resync"}
# Events a stream may fall behind by before it is told to re-read the record instead.
MAX_PENDING = 1000
# The feed pings Redis when it has heard nothing for a while; no answer within
# FEED_SILENCE_SECONDS and it reconnects (streams then re-read their records).
PING_SECONDS = 3.0
FEED_SILENCE_SECONDS = 8.0
# Per process (gunicorn worker), so a drill can watch every worker return to zero.
OPEN_SUBSCRIPTIONS = Gauge(
    "music_event_subscriptions", "Open job-event stream subscriptions in this process",
    multiprocess_mode="liveall",
)


class LiveEvent(dict):
    """A feed message: one object handed to every local stream of its job.

    `shared` keeps what a stream derives from the message alone (the job's
    public view, the SSE text of a state), so the streams of one job, nearly
    all in the same state, build each of those once between them.
    """

    __slots__ = ("shared",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shared: dict = {}


class Subscription:
    """The events of one job, for one stream. Use as a context manager."""

    def __init__(self, hub: EventHub, job_id: str) -> None:
        self.hub = hub
        self.job_id = job_id
        # A deque and an event rather than a queue.Queue: a Queue's get takes
        # its mutex, a fresh waiter lock and two conditions per call, which at
        # 1,000 streams per transition was a large share of the delivery time.
        self._pending: deque = deque()
        self._arrived = threading.Event()
        self.alarm: float | None = None  # when ALARMS rings this (see web/alarms.py)

    def offer(self, event: dict) -> None:
        """Hand the stream an event (the hub's side; never blocks)."""
        if len(self._pending) >= MAX_PENDING:
            # A stuck reader: what it missed is in the record, so it re-reads that.
            self._pending.clear()
            event = RESYNC
        self._pending.append(event)
        self._arrived.set()

    def get(self, timeout: float) -> dict | None:
        """The next event, or None after `timeout` seconds without one.

        None may also come sooner (an alarm armed for an earlier deadline);
        the stream checks its clock and waits again, as after any timeout.
        """
        if not self._pending and timeout > 0:
            ALARMS.arm(self, time.monotonic() + timeout)
            self._arrived.wait()
        try:
            event = self._pending.popleft()
        except IndexError:
            self._arrived.clear()  # rung by the alarm: the next wait waits
            return None
        if not self._pending:
            # An offer between the pop and this clear leaves its event pending:
            # the next get finds it without waiting.
            self._arrived.clear()
        return event

    def ring(self) -> None:
        self._arrived.set()

    def close(self) -> None:
        self.hub._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class EventHub:
    def __init__(self, store: JobStore) -> None:
        self.store = store
        # A record is read once per status message and shared by every local
        # stream of that job (none when nobody here listens).
        self.fetch = store.get
        self._listeners: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    # --- streams ------------------------------------------------------------
    def subscribe(self, job_id: str, wait: float = 5.0) -> Subscription:
        """Register for a job's events; only returns once the hub is subscribed.

        Read the job record AFTER this returns: anything published from then on
        reaches the subscription, and anything before is in the record.
        """
        self._ensure_running()
        sub = Subscription(self, job_id)
        with self._lock:
            self._listeners.setdefault(job_id, set()).add(sub)
        OPEN_SUBSCRIPTIONS.inc()
        if not self._ready.wait(wait):
            self._remove(sub)
            raise redis.ConnectionError("live event feed unavailable")
        return sub

    def listener_count(self) -> int:
        with self._lock:
            return sum(len(subs) for subs in self._listeners.values())

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._listeners.get(sub.job_id)
            if subs is None or sub not in subs:
                return  # already closed
            subs.discard(sub)
            if not subs:
                del self._listeners[sub.job_id]
        OPEN_SUBSCRIPTIONS.dec()

    def _dispatch(self, job_id: str, event: dict) -> None:
        with self._lock:
            subs = list(self._listeners.get(job_id, ()))
        if not subs:
            return
        if event.get("event") != "progress":
            try:
                event = LiveEvent(event, record=self.fetch(job_id))
            except redis.RedisError:
                event = RESYNC  # each stream re-reads for itself
        else:
            event = LiveEvent(event)
        for sub in subs:
            sub.offer(event)

    def _resync_all(self) -> None:
        with self._lock:
            subs = [s for group in self._listeners.values() for s in group]
        for sub in subs:
            sub.offer(RESYNC)

    # --- the listener thread --------------------------------------------------
    def _ensure_running(self) -> None:
        pid = os.getpid()
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == pid:
                return
            # First use, or a forked child that inherited a dead thread's hub.
            self._ready = threading.Event()
            self._pid = pid
            self._thread = threading.Thread(target=self._run, name="event-hub", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        delay = 0.5
        connected_before = False
        while True:
            pubsub = None
            try:
                pubsub = self.store.open_event_feed()
                last_heard = last_ping = time.monotonic()
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    now = time.monotonic()
                    if message is None:
                        # A primary that is stopped (not dead) keeps the socket
                        # open and silent, and after a failover the events are
                        # published elsewhere: an unanswered ping means the feed
                        # is lost, so reconnect (through Sentinel, to the new one).
                        if now - last_heard > FEED_SILENCE_SECONDS:
                            raise redis.TimeoutError("event feed silent (no answer to ping)")
                        if now - last_ping >= PING_SECONDS:
                            pubsub.ping()
                            last_ping = now
                        continue
                    last_heard = now
                    kind = message["type"]
                    if kind == "psubscribe":
                        self._ready.set()
                        delay = 0.5
                        if connected_before:
                            self._resync_all()
                        connected_before = True
                    elif kind == "pmessage":
                        self._handle(message)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                self._ready.clear()
                log.warning("event feed lost (%s); reconnecting in %.1fs", exc, delay)
            except Exception:
                self._ready.clear()
                log.exception("event feed crashed; restarting")
            finally:
                try:
                    if pubsub is not None:
                        pubsub.close()
                except Exception:  # the connection is already gone; nothing to release
                    pass
            time.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _handle(self, message: dict) -> None:
        parsed = self.store.job_event(message)
        if parsed is not None:
            self._dispatch(*parsed)


_hubs: dict[str, EventHub] = {}
_hubs_lock = threading.Lock()


def hub_for(store: JobStore) -> EventHub:
    """The process-wide hub for the Redis database behind `store`."""
    # One per client pool (redis_clients caches one per concern), which under
    # Sentinel names no fixed host.
    key = str(id(store.r.connection_pool))
    with _hubs_lock:
        hub = _hubs.get(key)
        if hub is None:
            hub = _hubs[key] = EventHub(store)
        return hub
