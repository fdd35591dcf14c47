"""gunicorn settings for the API (`gunicorn -c web/gunicorn_conf.py "web:create_app()"`)."""

import multiprocessing
import os

# gevent workers serve many slow clients (downloads, event streams) per process
# without pinning a whole worker to each.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count())))
worker_connections = 1000
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = "-"
control_socket_disable = True
