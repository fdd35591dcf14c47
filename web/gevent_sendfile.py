"""A cooperative `socket.sendfile()` for gunicorn's gevent worker.

gunicorn sends a `wsgi.file_wrapper` body with `socket.sendfile()`, but
gevent's socket implements that with read() and send() in 8 KiB blocks (it
avoids os.sendfile() because that blocks on a blocking socket): a 23 MB
download then costs ~2,800 Python round trips and two copies per byte, more
than iterating the file ourselves. gevent keeps every socket's descriptor
non-blocking underneath, so os.sendfile() sends what fits, answers EAGAIN
when the peer lags, and waiting for writability hands the loop to the other
greenlets, as send() does.
"""

from __future__ import annotations

import errno
import io
import os

from gevent import socket as gsocket
from gevent.socket import wait_write

_NOT_SENDABLE = (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)
# gevent's own read-and-send, for what os.sendfile() cannot send.
_plain_sendfile = gsocket.socket.sendfile


def sendfile(sock, file, offset: int = 0, count: int | None = None) -> int:
    """socket.sendfile() semantics (bytes sent; the file's position left after them)."""
    try:
        fileno = file.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return _plain_sendfile(sock, file, offset, count)
    sockno, timeout = sock.fileno(), sock.gettimeout()
    sent = 0
    try:
        while count is None or sent < count:
            # Large steps: the kernel stops at what the socket buffer takes.
            step = 1 << 30 if count is None else min(count - sent, 1 << 30)
            try:
                n = os.sendfile(sockno, fileno, offset + sent, step)
            except BlockingIOError:
                wait_write(sockno, timeout=timeout)
                continue
            except OSError as exc:
                # A file os.sendfile() cannot read from says so before any byte
                # is sent, and the plain path can still send it; a client that
                # went away surfaces as the error it is.
                if sent == 0 and exc.errno in _NOT_SENDABLE:
                    return _plain_sendfile(sock, file, offset, count)
                raise
            if n == 0:  # end of file (it may have shrunk under us)
                break
            sent += n
        return sent
    finally:
        if sent and hasattr(file, "seek"):
            file.seek(offset + sent)


def install() -> None:
    """Make gevent's sockets use sendfile() above (in a gunicorn gevent worker)."""
    gsocket.socket.sendfile = sendfile
