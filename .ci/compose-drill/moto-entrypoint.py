"""moto's S3 server with its state kept in /data, standing in for MinIO.

Usage: moto-entrypoint.py [PORT]   (9000 by default)

moto keeps buckets in memory; its recorder appends every request to
MOTO_RECORDER_FILEPATH. On start the recording is replayed against a
loopback-only server first, and only then is the service port opened, so a
client that can connect sees every object stored before the restart.
"""

import os
import signal
import sys
import threading

from moto.moto_api import recorder
from moto.server import ThreadedMotoServer

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9000


def replay_previous_state() -> None:
    path = os.environ["MOTO_RECORDER_FILEPATH"]
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return
    private = ThreadedMotoServer("127.0.0.1", PORT + 1, verbose=False)
    private.start()
    try:
        recorder.replay_recording(target_host=f"http://127.0.0.1:{PORT + 1}")
    finally:
        private.stop()
    print(f"replayed {path}", flush=True)


def main() -> None:
    # PID 1 ignores SIGTERM unless it installs a handler: `docker stop` would
    # otherwise wait for its SIGKILL.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    replay_previous_state()
    server = ThreadedMotoServer("0.0.0.0", PORT)
    server.start()
    stop.wait()
    server.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
