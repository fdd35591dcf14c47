"""A generation job's Celery message, made for the job store's create script to push.

An API submit used to record the job, then hand it to Celery's `send_task`,
which spent more CPU than everything else in the request (~0.55 ms of ~1.9 ms,
bench/bench_api.py) walking producer pools, retry wrappers and routing to end
in one LPUSH and one PUBLISH. Here the message and its `task-sent` event are
made once, with Celery's own `as_task_v2` (headers and body) and `Event`, and
wrapped as kombu's Redis transport wraps them; `JobStore.create` pushes both
in the script that writes the record, so a job is recorded and queued in one
atomic step: no record without its message, no message without its record.

The wrapping follows the installed kombu; tests/tasks/jobs/test_message.py
compares both payloads with what `send_task` itself puts on the broker, field
by field, and a real worker runs what is pushed. Every other sender (batch
CLI, stall sweep) still goes through `send_task` (tasks.jobs.submit.enqueue).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import uuid
from bisect import bisect
from dataclasses import dataclass

from celery.events.event import Event
from celery.utils.nodenames import anon_nodename
from celery.utils.time import utcoffset
from kombu.entity import PERSISTENT_DELIVERY_MODE, TRANSIENT_DELIVERY_MODE
from kombu.transport.redis import Channel

TASK = "music.generate"
QUEUE = "music"


@dataclass(frozen=True)
class BrokerPush:
    """What the create script sends, once it knows the job's priority p (the larger
    of its owner's and client's active counts, at most len(queue_keys) - 1):
    LPUSH `message_head` + p + `}}` on queue_keys[p] in broker DB `db`, then PUBLISH
    `event` on `channel` (no event: empty strings)."""

    db: int
    queue_keys: tuple[str, ...]
    message_head: str
    channel: str = ""
    event: str = ""

    def message(self, priority: int) -> str:
        """The message as the script completes it (for tests and other senders)."""
        return f"{self.message_head}{priority}}}}}"


_PRIORITY_TAIL = '"priority": 0}}'


def _wrapped(body: object, headers: dict, properties: dict, exchange: str, routing_key: str,
             priority: int, delivery_mode: int) -> str:
    # kombu's virtual transport: prepare_message, then _inplace_augment_message
    # (base64 body, a delivery tag, where it was routed). The priority is the
    # last field, so a script can write it in (BrokerPush).
    return json.dumps({
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": headers,
        "properties": {
            **properties,
            "delivery_mode": delivery_mode,
            "delivery_info": {"exchange": exchange, "routing_key": routing_key},
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
            "priority": priority,
        },
    })


class GenerateMessages:
    """Builds the `music.generate` message of a job for a given Celery app and broker DB."""

    def __init__(self, celery_app, broker_db: int) -> None:
        self.app = celery_app
        self.db = broker_db
        options = celery_app.conf.broker_transport_options or {}
        self.steps = sorted(options.get("priority_steps") or Channel.priority_steps)
        self.events = bool(celery_app.conf.task_send_sent_event)
        self.event_exchange = celery_app.conf.event_exchange
        self.sent_channel = (Channel.keyprefix_fanout.format(db=broker_db)
                             + f"{self.event_exchange}/task.sent")
        self._sender: tuple[int, str] | None = None

    def queue_key(self, priority: int) -> str:
        """kombu's list for `priority` (Channel._q_for_pri: one list per step, 0 bare)."""
        step = self.steps[bisect(self.steps, priority) - 1]
        return f"{QUEUE}{Channel.sep}{step}" if step else QUEUE

    @functools.lru_cache(maxsize=4)  # noqa: B019 - one builder per broker DB, for the process
    def _queue_keys(self, max_priority: int) -> tuple[str, ...]:
        return tuple(self.queue_key(p) for p in range(max_priority + 1))

    def _hostname(self) -> str:
        # As Celery's event dispatcher names this process (and again after a fork).
        pid = os.getpid()
        if self._sender is None or self._sender[0] != pid:
            self._sender = (pid, anon_nodename())
        return self._sender[1]

    def for_job(self, job_id: str, kwargs: dict, *, max_priority: int, soft_time_limit: int,
                time_limit: int, kwargsrepr: str) -> BrokerPush:
        message = self.app.amqp.as_task_v2(
            job_id, TASK, kwargs=kwargs, reply_to=self.app.thread_oid,
            time_limit=time_limit, soft_time_limit=soft_time_limit,
            create_sent_event=self.events, kwargsrepr=kwargsrepr,
            ignore_result=None,  # as send_task leaves it unasked: workers store the result
        )
        # send_task passes its options on as message properties: kwargsrepr among them.
        task = _wrapped(message.body, message.headers,
                        {**message.properties, "kwargsrepr": kwargsrepr}, "", QUEUE, 0,
                        PERSISTENT_DELIVERY_MODE)
        assert task.endswith(_PRIORITY_TAIL)  # the script writes the priority in its place
        keys = self._queue_keys(max_priority)
        head = task[: -len("0}}")]
        if not self.events:
            return BrokerPush(self.db, keys, head)
        hostname = self._hostname()
        event = Event("task-sent", hostname=hostname, utcoffset=utcoffset(), pid=os.getpid(),
                      clock=self.app.clock.forward(), **message.sent_event,
                      queue=QUEUE, exchange="", routing_key=QUEUE)
        wrapped = _wrapped(event, {"hostname": hostname}, {}, self.event_exchange, "task.sent",
                           0, TRANSIENT_DELIVERY_MODE)
        return BrokerPush(self.db, keys, head, self.sent_channel, wrapped)
