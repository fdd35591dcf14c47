"""What the broker holds: the ids of the generation messages waiting or in flight.

The stall sweep compares them with the job records: a record that says
`queued` with no message behind it lost that message (a Redis failover drops
the writes not yet replicated; see README, "Durability"), and is sent again.
Reads kombu's Redis layout (one list per priority step, plus the `unacked`
hash of messages a worker took but has not acknowledged).
"""

from __future__ import annotations

import json


def message_ids(app, queue: str) -> set[str]:
    """Task ids of `queue`'s messages: waiting in any priority list, or unacknowledged."""
    ids: set[str] = set()
    with app.connection_for_read() as conn:
        channel = conn.default_channel
        with channel.conn_or_acquire() as client:
            pipe = client.pipeline(transaction=False)
            # kombu names the list of each priority step after the queue; its
            # _q_for_pri is the one place that spelling lives.
            for name in dict.fromkeys(channel._q_for_pri(queue, p) for p in channel.priority_steps):
                pipe.lrange(name, 0, -1)
            pipe.hvals(channel.unacked_key)
            *lists, unacked = pipe.execute()
    for raw in (m for messages in lists for m in messages):
        ids.add(_task_id(raw))
    for raw in unacked:
        try:
            ids.add(_task_id(json.loads(raw)[0]))
        except (ValueError, TypeError, IndexError, KeyError):
            continue
    ids.discard("")
    return ids


def _task_id(raw) -> str:
    payload = json.loads(raw) if isinstance(raw, (bytes, str)) else raw
    try:
        return str(payload["headers"]["id"])
    except (KeyError, TypeError):
        return ""
