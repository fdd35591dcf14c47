"""One webhook attempt: sign with standardwebhooks, POST with requests-hardened, classify.

Never follows redirects; one timeout per attempt (WEBHOOK_TIMEOUT_SECONDS,
at most 15 s). Outcomes: "delivered" (2xx), "retry" (network error, timeout,
408, 429, 5xx) or "stop" (any other answer, 410 included; an address or URL
that may not be called).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import requests
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress
from standardwebhooks.webhooks import Webhook

from tasks.webhooks.policy import AllowList, WebhookUrlError, check

USER_AGENT = "music-webhooks/1.0"
RETRY_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
CONNECT_TIMEOUT = 3.0


@dataclass(frozen=True)
class Attempt:
    outcome: str  # delivered | retry | stop
    status: int | None
    error: str | None
    duration_ms: int

    def as_record(self) -> dict:
        return {"at": datetime.now(UTC).isoformat(timespec="seconds"), "status": self.status,
                "error": self.error, "duration_ms": self.duration_ms, "outcome": self.outcome}


@lru_cache(maxsize=4)
def _session(filtered: bool, timeout: float) -> HTTPSession:
    # One per process and kind: keeps TLS connections to a receiver alive.
    return HTTPSession(Config(
        ip_filter_enable=filtered, ip_filter_allow_loopback_ips=False, never_redirect=True,
        default_timeout=(min(CONNECT_TIMEOUT, timeout), timeout), user_agent_override=USER_AGENT,
    ))


def signed_headers(msg_id: str, body: str, secrets: list[str], at: datetime) -> dict:
    """Standard Webhooks headers; during a rotation every live secret signs (space-separated)."""
    signatures = " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }


def send(url: str, msg_id: str, body: str, secrets: list[str], allow: AllowList,
         timeout: float) -> Attempt:
    started = time.monotonic()

    def done(outcome: str, status: int | None = None, error: str | None = None) -> Attempt:
        return Attempt(outcome, status, error, int((time.monotonic() - started) * 1000))

    try:
        trusted = check(url, allow)
    except WebhookUrlError as exc:
        return done("stop", error=str(exc))
    headers = signed_headers(msg_id, body, secrets, datetime.now(UTC))
    try:
        response = _session(not trusted, timeout).post(
            url, data=body.encode(), headers=headers, timeout=(min(CONNECT_TIMEOUT, timeout),
                                                             timeout),
            allow_redirects=False, stream=True,
        )
    except InvalidIPAddress as exc:
        return done("stop", error=f"address not allowed: {exc}")
    except requests.Timeout:
        return done("retry", error=f"timed out after {timeout:g} s")
    except requests.RequestException as exc:
        return done("retry", error=f"{type(exc).__name__}: {str(exc)[:200]}")
    status = response.status_code
    response.close()  # the body is never read: a receiver cannot make us download much
    if 200 <= status < 300:
        return done("delivered", status)
    if status in RETRY_STATUSES:
        return done("retry", status, f"HTTP {status}")
    return done("stop", status, f"HTTP {status}" + (" (gone)" if status == 410 else ""))
