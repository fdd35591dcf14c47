"""gunicorn settings for the API (`gunicorn -c gunicorn.conf.py "web:create_app()"`).

gunicorn also loads ./gunicorn.conf.py by itself when started from the repo root.
"""

import collections.abc
import logging
import multiprocessing
import os
import shutil
import tempfile
import traceback

from gunicorn.glogging import Logger

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


class _AccessAtoms(collections.abc.Mapping):
    """The atoms gunicorn's access log format reads, each worked out when it is read.

    gunicorn builds them all for every request, each request and response header and
    each environ entry escaped, to fill a format that reads ten. The values are
    gunicorn's: `"` escaped, `-` for what is missing, names in braces without case.
    """

    _PLAIN = {
        "h": lambda a: a.wsgi.get("REMOTE_ADDR", "-"),
        "l": lambda a: "-",
        "u": lambda a: a.log._get_user(a.wsgi) or "-",
        "t": lambda a: a.log.now(),
        "r": lambda a: (f"{a.wsgi['REQUEST_METHOD']} {a.wsgi['RAW_URI']} "
                        f"{a.wsgi['SERVER_PROTOCOL']}"),
        "s": lambda a: (a.resp.status.split(None, 1)[0] if isinstance(a.resp.status, str)
                        else a.resp.status),
        "m": lambda a: a.wsgi.get("REQUEST_METHOD"),
        "U": lambda a: a.wsgi.get("PATH_INFO"),
        "q": lambda a: a.wsgi.get("QUERY_STRING"),
        "H": lambda a: a.wsgi.get("SERVER_PROTOCOL"),
        "b": lambda a: getattr(a.resp, "sent", None) is not None and str(a.resp.sent) or "-",
        "B": lambda a: getattr(a.resp, "sent", None),
        "f": lambda a: a.wsgi.get("HTTP_REFERER", "-"),
        "a": lambda a: a.wsgi.get("HTTP_USER_AGENT", "-"),
        "T": lambda a: a.took.seconds,
        "D": lambda a: a.took.seconds * 1000000 + a.took.microseconds,
        "M": lambda a: a.took.seconds * 1000 + int(a.took.microseconds / 1000),
        "L": lambda a: f"{a.took.seconds}.{a.took.microseconds:06d}",
        "p": lambda a: f"<{os.getpid()}>",
    }

    def __init__(self, log, resp, req, environ, took):
        self.log, self.resp, self.req, self.wsgi, self.took = log, resp, req, environ, took

    def __len__(self):
        return len(self._PLAIN)

    def __iter__(self):
        return iter(self._PLAIN)

    def __getitem__(self, key):
        if key.startswith("{"):
            value = self._named(key.lower())
        else:
            value = self._PLAIN.get(key, lambda a: "-")(self)
        return value.replace('"', '\\"') if isinstance(value, str) else value

    def _named(self, key):
        pairs = {"}i": getattr(self.req, "headers", self.req), "}o": self.resp.headers,
                 "}e": self.wsgi}.get(key[-2:], ())
        if hasattr(pairs, "items"):
            pairs = pairs.items()
        found, name = "-", key[1:-2]
        for each, value in pairs:  # the last one wins, as in gunicorn's dict of them
            if each.lower() == name:
                found = value
        return found


class AccessLogger(Logger):
    """gunicorn's logger, its access lines made for what they cost.

    A line went through all of gunicorn's atoms and a whole LogRecord (the caller's
    frame, thread, process): ~60 us of a gevent worker's CPU a request, a fifth of
    `/health`'s (README, Benchmarks); now ~10. Where the access log is gunicorn's own
    handler on a file or stdout with nothing filtering it, the line is written
    straight to it; any other set-up (a log config, syslog) goes through logging as
    before. The lines are the same.
    """

    def setup(self, cfg):
        super().setup(cfg)
        self._direct = self._plain_handlers()

    def _plain_handlers(self):
        log = self.access_log
        if log.filters or not log.handlers:
            return None
        for handler in log.handlers:
            formatter = handler.formatter
            if (type(handler) not in (logging.StreamHandler, logging.FileHandler)
                    or handler.filters or handler.level > logging.INFO or formatter is None
                    or type(formatter) is not logging.Formatter
                    or formatter._fmt != "%(message)s"):
                return None
        return tuple(log.handlers)

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        atoms = _AccessAtoms(self, resp, req, environ, request_time)
        try:
            direct = self._direct
            if direct is None or self.access_log.disabled:
                self.access_log.info(self.cfg.access_log_format, atoms)
                return
            if not self.access_log.isEnabledFor(logging.INFO):
                return
            line = self.cfg.access_log_format % atoms
            for handler in direct:
                handler.acquire()
                try:
                    handler.stream.write(line + handler.terminator)
                    handler.flush()
                finally:
                    handler.release()
        except Exception:
            self.error(traceback.format_exc())


logger_class = AccessLogger

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
