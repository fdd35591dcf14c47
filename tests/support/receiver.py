"""A real HTTP receiver on loopback for webhook tests: scripted answers, every request kept."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Answers each POST with the next scripted status (the last one repeats).

    A status of None never answers (holds the connection until stopped).
    """

    def __init__(self, statuses=(200,)) -> None:
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        self._hang = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                n = len(receiver.requests)
                receiver.requests.append({"at": time.time(), "path": self.path,
                                          "headers": dict(self.headers), "body": body})
                status = receiver.statuses[min(n, len(receiver.statuses) - 1)]
                if status is None:
                    receiver._hang.wait(30)
                    return
                self.send_response(status)
                if status in (301, 302, 307):
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._hang.set()
        self.server.shutdown()
        self.server.server_close()
