"""Webhook tasks on the CPU queue `webhooks` (never the GPU `music` worker).

`music.deliver_webhook` makes one attempt for one job event (tasks/webhooks);
`music.sweep_webhooks` (beat) sends the deliveries whose retry is due, and any
whose fast-path message was lost.
"""

from __future__ import annotations

from tasks.app import app
from tasks.config.services import client_store, job_store
from tasks.config.settings import get_settings


@app.task(name="music.deliver_webhook", acks_late=True, soft_time_limit=40, time_limit=50)
def deliver_webhook(job_id: str, event: str) -> str:
    from tasks.webhooks.delivery import deliver

    return deliver(job_store(), client_store(), get_settings(), job_id, event)


@app.task(name="music.sweep_webhooks", soft_time_limit=60, time_limit=90)
def sweep_webhooks() -> int:
    from tasks.webhooks.outbox import sweep

    return sweep(job_store())
