"""redis-py's "is this connection clean?" check without a trip through gevent's hub.

Before every command redis-py asks whether the pooled connection already has
bytes waiting (a dirty or closed socket is reconnected). That check is a
poll() with a zero timeout: it never waits. Under gevent's monkey-patching the
poll is gevent's cooperative one, which sets up watchers and switches to the
hub even for a zero timeout, and costs more than the command's own send and
receive: a GET in a gevent API process took 44 us of CPU, 21 us with the
operating system's poll for the zero-timeout case (bench/bench_api.py shows
the per-request figures). Checks that may wait (a pub/sub read with a timeout)
still go through gevent's poll, so they yield to the other greenlets.

`install()` is called in each gevent API worker (gunicorn.conf.py).
"""

from __future__ import annotations

import logging
import select

log = logging.getLogger("tasks.config.gevent_redis")


def install() -> bool:
    """Use the OS's poll for redis-py's zero-timeout readiness checks; True if installed."""
    from gevent import monkey

    if not monkey.is_module_patched("select"):
        return False  # not a gevent process: redis-py already uses the OS's poll
    try:
        from redis._parsers import hiredis
    except ImportError:  # pragma: no cover - redis-py without its hiredis parser module
        return False
    cooperative = getattr(hiredis, "_socket_can_read", None)
    if cooperative is None or getattr(cooperative, "zero_wait_fast_path", False):
        if cooperative is None:
            log.warning("redis-py has no _socket_can_read: readiness checks stay on gevent's poll")
        return cooperative is not None
    os_poll = monkey.get_original("select", "poll")

    def socket_can_read(sock, timeout: float) -> bool:
        if timeout != 0 or (hasattr(sock, "pending") and sock.pending()):
            return cooperative(sock, timeout)
        poller = os_poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))

    socket_can_read.zero_wait_fast_path = True
    hiredis._socket_can_read = socket_can_read
    return True
