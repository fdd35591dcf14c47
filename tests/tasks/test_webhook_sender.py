"""One webhook attempt in-process: SSRF rules against a lying resolver, redirects, allow list."""

from __future__ import annotations

import socket

import pytest

from tasks.webhooks import sender
from tasks.webhooks.policy import AllowList
from tests.support.receiver import Receiver

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def resolver(monkeypatch):
    """getaddrinfo answering chosen addresses for chosen names (a list: one answer per call)."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host in answers:
            queue = answers[host]
            address = queue.pop(0) if len(queue) > 1 else queue[0]
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return answers


def _send(url, allow=(), timeout=1.0):
    return sender.send(url, "msg_test", '{"type":"job.completed"}', [SECRET],
                       AllowList.parse(allow), timeout)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.7.7", "169.254.169.254",
                                     "100.64.0.1", "224.0.0.1", "::1", "fe80::1"])
def test_a_name_that_resolves_to_a_forbidden_address_is_never_called(resolver, address):
    resolver["hooks.example.test"] = [address]
    with Receiver() as receiver:
        url = f"https://hooks.example.test:{receiver.port}/hook"
        attempt = _send(url, allow=("127.0.0.0/8",))  # a network: names are not trusted by it
        assert attempt.outcome == "stop" and "address not allowed" in attempt.error, attempt
        assert receiver.requests == []


def test_the_checked_address_is_the_one_connected_to(resolver):
    # DNS rebinding: first answer public, later answers loopback. The check and the
    # connection use one resolution, so the loopback receiver is never reached.
    resolver["rebind.example.test"] = ["8.8.8.8", "127.0.0.1"]
    with Receiver() as receiver:
        attempt = _send(f"https://rebind.example.test:{receiver.port}/hook", timeout=0.5)
        assert attempt.outcome == "retry"  # the public address is unreachable from here
        assert receiver.requests == []
        assert resolver["rebind.example.test"] == ["127.0.0.1"]  # its first answer was used


def test_allowed_hosts_may_use_http_and_loopback(resolver):
    resolver["hooks.internal"] = ["127.0.0.1"]
    with Receiver() as receiver:
        named = _send(f"http://hooks.internal:{receiver.port}/hook", allow=("hooks.internal",))
        literal = _send(receiver.url, allow=("127.0.0.0/8",))
        assert named.outcome == literal.outcome == "delivered"
        assert len(receiver.requests) == 2
        assert receiver.requests[0]["headers"]["Host"] == f"hooks.internal:{receiver.port}"
    refused = _send("http://example.com/hook")
    assert refused.outcome == "stop" and "https://" in refused.error


def test_redirects_are_not_followed(resolver):
    with Receiver([302]) as receiver:
        attempt = _send(receiver.url, allow=("127.0.0.1",))
        assert attempt.outcome == "stop" and attempt.status == 302
        assert len(receiver.requests) == 1


@pytest.mark.parametrize(("status", "outcome"), [(200, "delivered"), (204, "delivered"),
                                                 (408, "retry"), (429, "retry"), (502, "retry"),
                                                 (400, "stop"), (404, "stop"), (410, "stop")])
def test_statuses_are_classified(status, outcome):
    with Receiver([status]) as receiver:
        assert _send(receiver.url, allow=("127.0.0.1",)).outcome == outcome
