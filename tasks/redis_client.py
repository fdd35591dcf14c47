"""Redis clients per concern, with short timeouts so an outage fails fast."""

from __future__ import annotations

import threading

import redis

from tasks.settings import Settings

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def redis_for(settings: Settings, concern: str) -> redis.Redis:
    url = settings.redis_url_for(concern)
    with _lock:
        client = _clients.get(url)
        if client is None:
            # redis-py resets its pool after fork (it checks the pid), so one
            # cached client per URL is safe in prefork workers and gunicorn.
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=2,
                socket_timeout=5,
                health_check_interval=15,
                retry_on_timeout=False,
            )
            _clients[url] = client
        return client
