"""Fixtures of the web tests."""

from __future__ import annotations

import pytest
import redis


@pytest.fixture
def sent(monkeypatch):
    """Every command (or pipeline) this process sends to Redis, by first word."""
    calls: list[str] = []
    original = redis.connection.Connection.send_packed_command

    def spy(self, command, check_health=True):
        first = command if isinstance(command, bytes | bytearray) else b"".join(
            bytes(part) for part in command)
        calls.append(first.split(b"\r\n")[2].decode().upper() if first.startswith(b"*") else "?")
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", spy)
    return calls
