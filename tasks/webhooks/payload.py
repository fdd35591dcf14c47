"""The body of a webhook: built where the job changed, from the job's public view.

{"type": "job.started" | "job.completed", "timestamp": ISO 8601 (the event's
time), "data": the job as GET /api/jobs/{id} shows it, with an absolute
audio_url when the submit's URL root is known}.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tasks.jobs.view import public_job


def message_id(job_id: str, event: str) -> str:
    """The webhook-id: one per job and event, the same on every retry."""
    return f"msg_{job_id}_{event}"


def build_event(record: dict, event: str) -> str:
    data = public_job(record)
    root = record.get("api_root")
    if root and str(data.get("audio_url", "")).startswith("/"):
        data["audio_url"] = root.rstrip("/") + data["audio_url"]
    body = {
        "type": f"job.{event}",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "data": data,
    }
    # Compact and fixed once: every retry sends (and signs) the same bytes.
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
