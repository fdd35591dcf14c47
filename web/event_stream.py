"""One client's server-sent event stream for one job, as a small testable object.

`JobEventStream` turns the job's record and the live feed's messages into SSE
text: an event for the current state first, then one per status change and
progress step, keep-alive comments while nothing happens, and the end after a
terminal state or `max_seconds`. It owns its live-feed subscription and
releases it in `close()`, which is idempotent and also registered with the
HTTP response: a HEAD request or a client that disconnects before the body is
read never starts the generator, and must not leak the subscription.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator

from tasks.jobs.status import TERMINAL, Status
from web.job_access import public_job
from web.live import RESYNC

QUEUE_POLL_SECONDS = 3.0  # queue position changes are not published: re-check this often
RETRY_MS = 3000


def sse(event: str, data: dict, event_id: str) -> str:
    return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


# An event's id names the state it reports: "{attempts}.{status}.{progress}".
# The browser sends the last one back as Last-Event-ID when it reconnects (a
# stream cut by a failover, a restart, EVENTS_MAX_SECONDS), so the new stream
# skips what the client already has and goes on from there: the current state
# if it is newer, then the rest, always ending with the terminal event.
_EVENT_ID_RE = re.compile(r"^([0-9]{1,6})\.([a-z]{1,16})\.(-?[0-9]{1,3})\Z")


def event_id(attempts: int, status: str, progress: int) -> str:
    return f"{attempts}.{status}.{progress}"


def parse_event_id(raw: str | None) -> tuple[int, str, int] | None:
    match = _EVENT_ID_RE.match(raw or "")
    if not match:
        return None  # absent, or from before ids named states: start afresh
    return int(match[1]), match[2], int(match[3])


class JobEventStream:
    def __init__(
        self,
        sub,
        record: dict,
        *,
        fetch: Callable[[str], dict | None],
        wait_estimate: Callable[[dict], int],
        keepalive: float,
        max_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        last_event_id: str | None = None,
    ) -> None:
        self.sub = sub
        self.record = record
        self.job_id = record["job_id"]
        self.fetch = fetch  # job id -> record (or None once it is gone)
        self.wait_estimate = wait_estimate  # record -> seconds, for the first queued event
        self.keepalive = keepalive
        self.max_seconds = max_seconds
        self.clock = clock
        self.sent = {"status": None, "progress": -1, "queue_position": None}
        self.attempts = int(record.get("attempts") or 0)
        self.closed = False
        seen = parse_event_id(last_event_id)
        if seen is not None and seen[0] == self.attempts:
            # The client saw this state (same run): only newer states are news.
            # A queued job's position is unknown, so its state is sent again.
            # A terminal id for a job still running is not one this server
            # sent: ignored, so no client can talk its stream out of the end.
            ends = seen[1] in TERMINAL and record.get("status") not in TERMINAL
            if seen[1] in (Status.STARTED, *TERMINAL) and not ends:
                self.sent.update(status=seen[1], progress=seen[2])

    # --- events ------------------------------------------------------------------
    def state_event(self, record: dict | None, shared: dict | None = None) -> str | None:
        """An event for the record's state, or None if the client has seen it.

        `shared`: the memo of a live-feed message whose record this is (see
        web.live.LiveEvent), so the view and text are built once per message.
        """
        if record is None:  # deleted (expired) under us: nothing more will come
            return None
        view = shared.get("view") if shared is not None else None
        if view is None:
            view = public_job(record)
            if shared is not None:
                shared["view"] = view
        status, sent = view["status"], self.sent
        attempts = int(record.get("attempts") or 0)
        if attempts != self.attempts:  # run again (requeued): its states are news
            self.attempts = attempts
            if sent["status"] not in TERMINAL:
                sent.update(status=None, progress=-1)
        if status == Status.QUEUED:
            if sent["status"] == Status.QUEUED and sent["queue_position"] == view.get(
                "queue_position"
            ):
                return None
            if sent["status"] is None:
                # The page counts this down; later events carry the new position.
                # This stream's own estimate: its text is not the shared one.
                view = {**view, "estimated_wait": self.wait_estimate(record)}
                shared = None
        elif status == sent["status"]:
            if status != Status.STARTED or view.get("progress", 0) <= sent["progress"]:
                return None
            return self.progress_event(view["progress"], view, shared)
        sent.update(
            status=status,
            progress=view.get("progress", -1),
            queue_position=view.get("queue_position"),
        )
        return self._emit(status, view, shared)

    def progress_event(
        self, percent: int, view: dict | None = None, shared: dict | None = None
    ) -> str | None:
        if self.sent["status"] != Status.STARTED or percent <= self.sent["progress"]:
            return None
        self.sent["progress"] = percent
        data = dict(view) if view else {"job_id": self.job_id, "status": Status.STARTED}
        data["progress"] = percent
        return self._emit("progress", data, shared)

    def on_message(self, message) -> str | None:
        """SSE text for one live-feed message (None: nothing new for this client)."""
        if message is RESYNC or message.get("event") != "progress":
            # The hub read the record once for all of this job's streams.
            if "record" not in message:
                record, shared = self.fetch(self.job_id), None
            else:
                record, shared = message["record"], getattr(message, "shared", None)
            if record is None:
                raise _Gone()
            return self.state_event(record, shared)
        progress = message.get("progress")
        if not isinstance(progress, int):
            return None
        return self.progress_event(progress, shared=getattr(message, "shared", None))

    def _emit(self, name: str, data: dict, shared: dict | None = None) -> str:
        status = Status.STARTED if name == "progress" else name
        progress = self.sent["progress"] if status == Status.STARTED else -1
        eid = event_id(self.attempts, status, progress)
        if shared is None:
            return sse(name, data, eid)
        # Within one message, the event's name and id fix its data (the job's
        # view of the message's record, or its progress), so a stream in the
        # same state as another sends the text that one built.
        text = shared.get((name, eid))
        if text is None:
            text = shared[(name, eid)] = sse(name, data, eid)
        return text

    # --- the body ----------------------------------------------------------------
    def __iter__(self) -> Iterator[str]:
        try:
            yield from self._body()
            # The job's other streams were woken by the same message: let them
            # write their events before this one's teardown (the response's
            # last chunk, the slot's release, the access log) takes its turn.
            # Under gevent this is the loop's turn; elsewhere a no-op.
            time.sleep(0)
        finally:
            self.close()

    def _body(self) -> Iterator[str]:
        started = last_sent = last_queue_check = self.clock()
        yield f"retry: {RETRY_MS}\n\n"
        first = self.state_event(self.record)
        if first:
            yield first
        while self.sent["status"] not in TERMINAL:
            now = self.clock()
            if now - started >= self.max_seconds:
                yield ": max stream duration reached; reconnect for more\n\n"
                return
            queued = self.sent["status"] == Status.QUEUED
            wait = min(
                self.keepalive - (now - last_sent),
                self.max_seconds - (now - started),
                QUEUE_POLL_SECONDS if queued else self.keepalive,
            )
            message = self.sub.get(timeout=wait)
            out = None
            if message is None:
                if queued and self.clock() - last_queue_check >= QUEUE_POLL_SECONDS:
                    last_queue_check = self.clock()
                    out = self.state_event(self.fetch(self.job_id))
            else:
                try:
                    out = self.on_message(message)
                except _Gone:
                    yield ": job no longer exists\n\n"
                    return
            if out:
                yield out
                last_sent = self.clock()
            elif self.clock() - last_sent >= self.keepalive:
                yield ": keep-alive\n\n"
                last_sent = self.clock()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sub.close()


class _Gone(Exception):
    """The job's record vanished while the stream was open."""
