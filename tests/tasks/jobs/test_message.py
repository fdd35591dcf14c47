"""A job's message as the create script pushes it = what Celery's send_task puts on the broker.

tasks/jobs/message.py wraps Celery's own headers, body and task-sent event as
kombu's Redis transport does; here both are compared, field by field, with
what the installed Celery and kombu publish for the same job.
"""

from __future__ import annotations

import base64
import json
import time

import redis

from tasks.jobs.message import GenerateMessages

KWARGS = {"prompt": "smooth jazz with saxophone solo", "duration": 30, "seed": 7}


def _opened(raw: bytes | str) -> dict:
    envelope = json.loads(raw)
    envelope["body"] = json.loads(base64.b64decode(envelope["body"]))
    del envelope["properties"]["delivery_tag"]  # a fresh uuid per message
    return envelope


def _sent_by_celery(celery_app, broker, channel: str, job_id: str, priority: int):
    pubsub = broker.pubsub()
    pubsub.subscribe(channel)
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    celery_app.send_task("music.generate", kwargs=KWARGS, task_id=job_id, kwargsrepr="kw",
                         queue="music", soft_time_limit=10, time_limit=20, priority=priority)
    event = None
    deadline = time.monotonic() + 5
    while event is None and time.monotonic() < deadline:
        event = pubsub.get_message(timeout=1)
    pubsub.close()
    assert event is not None, "send_task published no task-sent event"
    return event["data"]


def test_message_and_event_match_what_send_task_publishes(app, settings):
    celery_app = app.extensions["celery"]
    db = settings.redis_db_for("broker")
    broker = redis.Redis.from_url(settings.redis_url_for("broker"))
    messages = GenerateMessages(celery_app, db)
    push = messages.for_job("job-a", KWARGS, max_priority=8, soft_time_limit=10,
                            time_limit=20, kwargsrepr="kw")

    raw_event = _sent_by_celery(celery_app, broker, push.channel, "job-a", 3)
    (raw_message,) = broker.lrange(push.queue_keys[3], 0, -1)
    assert _opened(push.message(3)) == _opened(raw_message)

    ours, theirs = _opened(push.event), _opened(raw_event)
    for event in (ours, theirs):  # per event: Lamport clock and time of sending
        del event["body"]["clock"], event["body"]["timestamp"]
    assert ours == theirs
    assert theirs["body"]["type"] == "task-sent" and theirs["body"]["uuid"] == "job-a"


def test_each_priority_has_kombus_own_list(app, settings):
    celery_app = app.extensions["celery"]
    messages = GenerateMessages(celery_app, settings.redis_db_for("broker"))
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        assert [messages.queue_key(p) for p in range(10)] == [
            channel._q_for_pri("music", p) for p in range(10)]


def test_without_sent_events_nothing_is_published(app, settings):
    celery_app = app.extensions["celery"]
    celery_app.conf.task_send_sent_event = False
    try:
        push = GenerateMessages(celery_app, settings.redis_db_for("broker")).for_job(
            "job-b", KWARGS, max_priority=8, soft_time_limit=10, time_limit=20, kwargsrepr="kw")
    finally:
        celery_app.conf.task_send_sent_event = True
    assert push.event == "" and push.channel == ""
    assert json.loads(push.message(0))["properties"]["priority"] == 0
