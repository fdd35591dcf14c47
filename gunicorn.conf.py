"""gunicorn settings for the API (`gunicorn -c gunicorn.conf.py "web:create_app()"`).

gunicorn also loads ./gunicorn.conf.py by itself when started from the repo root.
"""

import multiprocessing
import os
import shutil
import tempfile

# gevent workers serve many slow clients (downloads, event streams) per process
# without pinning a whole worker to each.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count())))
worker_connections = 1000
timeout = 60
graceful_timeout = 20
# Longer than the guide's 5-10 s polling interval: with 5 s, a client's reused
# connection raced the server closing it and polls failed with "connection reset".
keepalive = 75
accesslog = "-"
control_socket_disable = True

# /metrics must add up across workers: prometheus_client's multiprocess mode
# keeps each worker's samples in files under PROMETHEUS_MULTIPROC_DIR. The
# variable has to be set before any worker imports prometheus_client, so this
# file (read by the master before it forks) picks a private directory when the
# operator did not name one.
_OWN_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="music-prometheus-")
_PROMETHEUS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server):
    # Samples of a previous run would be summed into this one's.
    os.makedirs(_PROMETHEUS_DIR, exist_ok=True)
    for name in os.listdir(_PROMETHEUS_DIR):
        path = os.path.join(_PROMETHEUS_DIR, name)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


def child_exit(server, worker):
    # A dead worker's gauges (live-mode) are dropped; its counters are kept.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _gevent(worker) -> bool:
    return type(worker).__module__ == "gunicorn.workers.ggevent"


def post_worker_init(worker):
    # gevent's server accepts up to 100 pending connections per wake-up, so a
    # burst (wrk opening 32) could land 28 or all 32 on one worker while the
    # other sat idle; one at a time, both workers take turns at the backlog.
    if _gevent(worker):
        from gevent.baseserver import BaseServer

        BaseServer.max_accept = 1

        from tasks.config import gevent_redis

        gevent_redis.install()

        # Audio from file storage leaves by os.sendfile() instead of gevent's
        # read-and-send loop (web/gevent_sendfile.py).
        from web.gevent_sendfile import install

        install()
    _quieter_gc()


def _quieter_gc():
    # A worker holding 1,000 event streams tracks ~190,000 objects, and a full
    # collection of them stopped every stream for 30-115 ms, two or three times
    # in a burst of job events (objects in flight at each young collection are
    # promoted, and promotions trigger the full ones). The app's own ~76,000
    # objects live as long as the worker: frozen, no collection scans them
    # again; and young collections every 7,000 allocations instead of 700
    # promote a tenth as much, so full ones come about ten times less often.
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(7000, 10, 10)


def post_request(worker, req, environ, resp):
    # A gevent greenlet whose keep-alive client already sent its next request
    # reads it without ever blocking, so it never hands the loop back: under
    # `wrk -c32` one connection was served up to 260 times in a row while the
    # worker's other 16 waited (p50 1 ms, p99 1 s, some over 2 s). Parking the
    # greenlet until the loop has polled I/O and run everyone else serves the
    # connections in turn.
    if _gevent(worker):
        import gevent

        gevent.idle()


def on_exit(server):
    if _OWN_DIR:
        shutil.rmtree(_PROMETHEUS_DIR, ignore_errors=True)
