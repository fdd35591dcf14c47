"""Every Celery setting of the service lives here (read by tasks.app).

Module constants are the fixed choices. What depends on the deployment comes
from the one typed Settings object through `from_settings()`: tasks.app applies
it from the environment lazily, and `create_app(settings)` (or any caller of
`tasks.app.init_celery`) applies its own, so Flask and Celery never disagree.
Nothing here reads the environment at import.
"""

from __future__ import annotations


def from_settings(settings) -> dict:
    max_soft, max_hard = settings.time_limits(120)
    sentinel = {}
    if settings.uses_sentinel:
        # `sentinel://` URLs (one per sentinel, `;`-separated): kombu and the
        # result backend ask them for the primary and follow a failover.
        sentinel = {"master_name": settings.redis_sentinel_master,
                    "sentinel_kwargs": settings.sentinel_kwargs()}
    return {
        "broker_url": settings.celery_url_for("broker"),
        "result_backend": settings.celery_url_for("results"),
        "result_backend_transport_options": {
            "socket_timeout": 5, "socket_connect_timeout": 2, **sentinel,
        },
        "result_expires": settings.retention_hours * 3600,
        # A message not acknowledged within this time is handed to another
        # worker, so it must exceed the longest hard time limit or long jobs
        # would run twice.
        # priority_steps 0..9: one Redis list per priority, polled 0 first
        # (tasks.jobs.submit chooses a job's priority for a fair queue).
        "broker_transport_options": {
            "visibility_timeout": max(3600, max_hard * 2),
            "priority_steps": list(range(10)),
            "queue_order_strategy": "priority",
            # An unreachable broker fails a publish (API submit, cancel's revoke)
            # in seconds rather than hanging on the OS connect timeout.
            "socket_connect_timeout": 2,
            # A publish to a primary that stopped answering gives up too
            # (the API then answers 503), instead of hanging.
            "socket_timeout": 5,
            **sentinel,
        },
        # Defaults for callers that do not pass limits (batch scripts): the
        # longest duration's limits. The API passes limits scaled to each job.
        "task_soft_time_limit": max_soft,
        "task_time_limit": max_hard,
    }


# JSON only, everywhere: no pickle can reach a worker.
task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
event_serializer = "json"
result_accept_content = ["json"]

# A job is acknowledged only after it ran; if its worker process dies the
# message goes back to the queue instead of being lost.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
worker_cancel_long_running_tasks_on_connection_loss = True
broker_connection_retry_on_startup = True

redis_socket_timeout = 5
redis_socket_connect_timeout = 2

task_default_queue = "music"
task_routes = {
    # A message sent without a priority (batch CLI, a script's send_task)
    # queues behind every interactive job (tasks.jobs.submit.BATCH_PRIORITY).
    "music.generate": {"queue": "music", "priority": 9},
    # Compressing a rendered WAV (FLAC/MP3/Opus): CPU workers, never a GPU one.
    "music.encode": {"queue": "encode"},
    # Signed job webhooks: I/O-bound CPU workers (tasks/notify.py).
    "music.deliver_webhook": {"queue": "webhooks"},
    "music.sweep_webhooks": {"queue": "webhooks"},
    "music.purge_expired": {"queue": "maintenance"},
    "music.requeue_stalled": {"queue": "maintenance"},
}
# Job records carry the status; a STARTED write to the result backend would
# only add a round trip before every job (Flower reads worker events instead).
task_track_started = False
task_send_sent_event = True
worker_send_task_events = True

# Model load happens in worker_process_init; give it time before Celery
# decides the pool child is stuck.
worker_proc_alive_timeout = 600
worker_hijack_root_logger = False

beat_schedule = {
    "purge-expired-audio": {"task": "music.purge_expired", "schedule": 3600.0},
    "requeue-stalled-jobs": {"task": "music.requeue_stalled", "schedule": 30.0},
    # Retries due along WEBHOOK_RETRY_SCHEDULE (waits beyond a minute) and lost sends.
    "sweep-webhooks": {"task": "music.sweep_webhooks", "schedule": 10.0},
}
