"""web/gevent_sendfile.py: os.sendfile() on gevent sockets, cooperatively."""

from __future__ import annotations

import io
import os

import gevent
import pytest
from gevent import socket as gsocket

from web.gevent_sendfile import sendfile

DATA = os.urandom(1 << 20) * 12  # 12 MiB: more than a socket buffer holds


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    with open(path, "rb") as f:
        yield f


@pytest.fixture
def calls(monkeypatch):
    made = []
    real = os.sendfile

    def counting(*args):
        made.append(args)
        return real(*args)

    monkeypatch.setattr(os, "sendfile", counting)
    return made


def _drain(sock, into: bytearray) -> None:
    while chunk := sock.recv(65536):
        into += chunk
        gevent.sleep(0)  # a slow reader: the sender must wait and let others run


def _send_and_read(file, **kwargs) -> tuple[int, bytes]:
    """Send `file` to a reader in the same thread; both finish only if sendfile yields."""
    a, b = gsocket.socketpair()
    got = bytearray()
    reader = gevent.spawn(_drain, b, got)
    with gevent.Timeout(30), a:
        sent = sendfile(a, file, **kwargs)
    reader.join(30)
    b.close()
    return sent, bytes(got)


def test_sends_a_slice_by_os_sendfile_while_others_run(source, calls):
    sent, got = _send_and_read(source, offset=1000, count=9_000_001)
    assert sent == 9_000_001 and got == DATA[1000:9_001_001]
    assert calls  # not gevent's read-and-send
    assert source.tell() == 9_001_001  # socket.sendfile() leaves the position after the bytes


def test_without_a_count_it_sends_to_the_end(source):
    sent, got = _send_and_read(source, offset=5)
    assert sent == len(DATA) - 5 and got == DATA[5:]


def test_a_file_without_a_descriptor_goes_the_plain_way(calls):
    sent, got = _send_and_read(io.BytesIO(DATA[:100_000]))
    assert sent == 100_000 and got == DATA[:100_000]
    assert not calls


def test_a_peer_gone_is_an_error(source):
    a, b = gsocket.socketpair()
    b.close()
    with a, pytest.raises(OSError):
        sendfile(a, source)
