"""`bench.noop`: the bare Celery round trip the queue benchmark compares against.

Loaded only by benchmark workers (`celery -A tasks worker --include bench.noop`),
never by the service itself.
"""

from tasks.app import app


@app.task(name="bench.noop")
def noop() -> None:
    return None
