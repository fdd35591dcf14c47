"""The service's one typed settings object, read from the environment once.

Every variable is listed in README.md. A bad value stops start-up with a
message naming the variable, instead of surfacing later as an odd error.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent

# One REDIS_URL; each concern gets its own DB number, offset from the URL's DB.
REDIS_DB_OFFSETS = {"broker": 0, "results": 1, "jobs": 2, "sessions": 3, "limits": 4}


# A Sentinel service name: what `sentinel monitor NAME host port quorum` accepts.
_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")

# More proxies than this in front of one API is a typo, and each one trusted
# lets a client pick the address that per-IP limits count.
MAX_TRUSTED_PROXIES = 5
# scheme://host[:port], nothing else: a wildcard or a path is never an origin.
_ORIGIN_RE = re.compile(
    r"^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?\Z"
)


class SettingsError(ValueError):
    """A configuration variable is missing or malformed."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def _int(name: str, raw: str, minimum: int | None = None) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, raw: str, minimum: float = 0.0) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _list(name: str, raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _seconds_list(name: str, raw: str) -> tuple[float, ...]:
    return tuple(_float(name, item) for item in _list(name, raw))


def _str(name: str, raw: str) -> str:
    return raw.strip()


def _raw(name: str, raw: str) -> str:
    return raw  # a password: spaces may be part of it


_HOST_RE = re.compile(r"^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])\Z")


def _sentinels(name: str, raw: str) -> tuple[tuple[str, int], ...]:
    nodes = []
    for item in _list(name, raw):
        host, sep, port = item.rpartition(":")
        if not sep or not _HOST_RE.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError(
                f"{name} must list host:port pairs separated by commas "
                f"(e.g. 10.0.0.5:26379,10.0.0.6:26379), got {item!r}"
            )
        nodes.append((host.strip("[]"), int(port)))
    if raw.strip() and not nodes:
        raise SettingsError(f"{name} must list at least one host:port, got {raw!r}")
    return tuple(nodes)


@dataclass(frozen=True)
class Settings:
    """Defaults suit `make run` on a laptop; production sets the rest."""

    redis_url: str = field(default="redis://127.0.0.1:6379/0", metadata={"env": "REDIS_URL"})
    # Sentinel mode: every Redis client asks these sentinels for the primary of
    # REDIS_SENTINEL_MASTER. REDIS_URL still gives the base DB number and the
    # data nodes' password; its host and port are then unused.
    redis_sentinels: tuple[tuple[str, int], ...] = field(
        default=(), metadata={"env": "REDIS_SENTINELS", "parse": _sentinels}
    )
    redis_sentinel_master: str = field(default="", metadata={"env": "REDIS_SENTINEL_MASTER"})
    redis_sentinel_password: str = field(
        default="", metadata={"env": "REDIS_SENTINEL_PASSWORD", "parse": _raw}
    )
    # Under Sentinel, a submit is answered 202 only after this many replicas
    # have its record and message (Redis WAIT, up to REDIS_WAIT_MS): a failover
    # right after the answer cannot lose the job. 0 turns the wait off.
    redis_wait_replicas: int = field(
        default=1, metadata={"env": "REDIS_WAIT_REPLICAS", "parse": _int}
    )
    redis_wait_ms: int = field(default=500, metadata={"env": "REDIS_WAIT_MS", "parse": _int})
    storage_url: str = field(default="", metadata={"env": "STORAGE_URL"})
    s3_endpoint_url: str = field(default="", metadata={"env": "S3_ENDPOINT_URL"})
    secret_key: str = field(default="", metadata={"env": "SECRET_KEY"})
    local_mode: bool = field(default=True, metadata={"env": "LOCAL_MODE", "parse": _bool})
    session_cookie_secure: bool | None = field(
        default=None, metadata={"env": "SESSION_COOKIE_SECURE", "parse": _bool}
    )
    session_cookie_samesite: str = field(default="Lax", metadata={"env": "SESSION_COOKIE_SAMESITE"})
    session_lifetime_hours: int = field(
        default=168, metadata={"env": "SESSION_LIFETIME_HOURS", "parse": _int}
    )
    cors_origins: tuple[str, ...] = field(
        default=(), metadata={"env": "CORS_ORIGINS", "parse": _list}
    )
    rate_limit_session: str = field(default="5/minute", metadata={"env": "RATE_LIMIT_SESSION"})
    rate_limit_ip: str = field(default="20/minute", metadata={"env": "RATE_LIMIT_IP"})
    # Every other /api/* request and the page, per client IP (IPv6: per /64). A
    # page polling a few jobs every 5 s and downloading them stays far below it.
    rate_limit_read_ip: str = field(
        default="600/minute", metadata={"env": "RATE_LIMIT_READ_IP"}
    )
    # Open job-event streams (SSE), counted across every API process in Redis.
    max_streams_per_session: int = field(
        default=8, metadata={"env": "MAX_STREAMS_PER_SESSION", "parse": _int}
    )
    max_streams_per_ip: int = field(
        default=32, metadata={"env": "MAX_STREAMS_PER_IP", "parse": _int}
    )
    # Queued + started jobs one session / one client IP (IPv6: its /64) may have at once.
    max_active_jobs_per_session: int = field(
        default=5, metadata={"env": "MAX_ACTIVE_JOBS_PER_SESSION", "parse": _int}
    )
    max_active_jobs_per_ip: int = field(
        default=15, metadata={"env": "MAX_ACTIVE_JOBS_PER_IP", "parse": _int}
    )
    # API key clients (tasks/clients): defaults for `flask keys create` without
    # --rate / --max-active. They replace the per-session and per-IP ones.
    rate_limit_client: str = field(default="10/minute", metadata={"env": "RATE_LIMIT_CLIENT"})
    max_active_jobs_per_client: int = field(
        default=4, metadata={"env": "MAX_ACTIVE_JOBS_PER_CLIENT", "parse": _int}
    )
    # Webhooks (tasks/webhooks): hosts or CIDRs that may be called over http://
    # or at non-public addresses; per-attempt timeout; waits before each retry.
    webhook_allow_hosts: tuple[str, ...] = field(
        default=(), metadata={"env": "WEBHOOK_ALLOW_HOSTS", "parse": _list}
    )
    webhook_timeout_seconds: float = field(
        default=10.0, metadata={"env": "WEBHOOK_TIMEOUT_SECONDS", "parse": _float}
    )
    # Standard Webhooks' schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    webhook_retry_schedule: tuple[float, ...] = field(
        default=(5, 300, 1800, 7200, 18000, 36000, 36000),
        metadata={"env": "WEBHOOK_RETRY_SCHEDULE", "parse": _seconds_list},
    )
    trusted_proxy_count: int = field(
        default=0, metadata={"env": "TRUSTED_PROXY_COUNT", "parse": _int}
    )
    max_body_bytes: int = field(
        default=16 * 1024, metadata={"env": "MAX_BODY_BYTES", "parse": _int}
    )
    retention_hours: int = field(default=168, metadata={"env": "RETENTION_HOURS", "parse": _int})
    # Before any run-time history exists, a job is assumed to need this many
    # seconds of compute per second of audio (ACE-Step Turbo on an A10G is ~0.1-0.2).
    default_seconds_per_audio_second: float = field(
        default=0.25, metadata={"env": "ESTIMATE_SECONDS_PER_AUDIO_SECOND", "parse": _float}
    )
    # Time limits: soft = base + per_second * duration; hard = soft + grace.
    time_limit_base: int = field(default=60, metadata={"env": "TIME_LIMIT_BASE", "parse": _int})
    time_limit_per_second: float = field(
        default=5.0, metadata={"env": "TIME_LIMIT_PER_AUDIO_SECOND", "parse": _float}
    )
    max_worker_losses: int = field(default=3, metadata={"env": "MAX_WORKER_LOSSES", "parse": _int})
    storage_retries: int = field(default=5, metadata={"env": "STORAGE_RETRIES", "parse": _int})
    # A started job silent this long (no heartbeat from its run) goes back to the queue.
    stall_seconds: int = field(default=90, metadata={"env": "STALL_SECONDS", "parse": _int})
    log_json: bool = field(default=True, metadata={"env": "LOG_JSON", "parse": _bool})
    # An open job-event stream (SSE) ends after this long; the browser reconnects.
    events_max_seconds: int = field(
        default=600, metadata={"env": "EVENTS_MAX_SECONDS", "parse": _int}
    )

    # gunicorn's workers share /metrics counters through this directory (gunicorn.conf.py).
    prometheus_multiproc_dir: str = field(default="", metadata={"env": "PROMETHEUS_MULTIPROC_DIR"})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            name = f.metadata["env"]
            if name in environ:
                parse = f.metadata.get("parse", _str)
                values[f.name] = parse(name, environ[name])
        return cls(**values)

    def __post_init__(self) -> None:
        parts = urlsplit(self.redis_url)
        if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
            raise SettingsError(
                f"REDIS_URL must look like redis://host:6379/0, got {self.redis_url!r}"
            )
        base = self.redis_base_db
        if self.redis_sentinels and not _NAME_RE.match(self.redis_sentinel_master):
            raise SettingsError(
                "REDIS_SENTINEL_MASTER must name the monitored primary (the name in the "
                "sentinels' `sentinel monitor NAME ...` line) when REDIS_SENTINELS is set, "
                f"got {self.redis_sentinel_master!r}"
            )
        if self.redis_wait_replicas < 0 or self.redis_wait_ms < 1:
            raise SettingsError("REDIS_WAIT_REPLICAS must be >= 0 and REDIS_WAIT_MS >= 1")
        if not self.redis_sentinels and (
            self.redis_sentinel_master or self.redis_sentinel_password
        ):
            raise SettingsError(
                "REDIS_SENTINEL_MASTER / REDIS_SENTINEL_PASSWORD are set but REDIS_SENTINELS "
                "is not: list the sentinels (host:port,...) or unset them"
            )
        if base + max(REDIS_DB_OFFSETS.values()) > 15:
            raise SettingsError(
                f"REDIS_URL database {base} leaves no room for the "
                f"{len(REDIS_DB_OFFSETS)} databases this service uses (base must be <= 11)"
            )
        if not self.storage_url:
            object.__setattr__(self, "storage_url", (ROOT / "var" / "audio").as_uri())
        if urlsplit(self.storage_url).scheme not in {"file", "s3"}:
            raise SettingsError(
                "STORAGE_URL must be file:///abs/path or s3://bucket/prefix, "
                f"got {self.storage_url!r}"
            )
        if self.session_cookie_samesite not in {"Lax", "Strict", "None"}:
            raise SettingsError("SESSION_COOKIE_SAMESITE must be Lax, Strict or None")
        if self.session_cookie_samesite == "None" and not self.cookie_secure:
            raise SettingsError("SESSION_COOKIE_SAMESITE=None requires SESSION_COOKIE_SECURE=1")
        if not self.local_mode and not self.secret_key:
            raise SettingsError("SECRET_KEY must be set when LOCAL_MODE=0")
        for name in ("RATE_LIMIT_SESSION", "RATE_LIMIT_IP", "RATE_LIMIT_READ_IP",
                     "RATE_LIMIT_CLIENT"):
            value = getattr(self, name.lower())
            if "/" not in value and " per " not in value:
                raise SettingsError(f"{name} must look like '5/minute', got {value!r}")
        for name in ("RETENTION_HOURS", "MAX_WORKER_LOSSES", "SESSION_LIFETIME_HOURS",
                     "STALL_SECONDS", "MAX_STREAMS_PER_SESSION", "MAX_STREAMS_PER_IP",
                     "MAX_ACTIVE_JOBS_PER_SESSION", "MAX_ACTIVE_JOBS_PER_IP",
                     "MAX_ACTIVE_JOBS_PER_CLIENT"):
            if getattr(self, name.lower()) < 1:
                raise SettingsError(f"{name} must be at least 1")
        if self.storage_retries < 0 or self.max_body_bytes < 1024:
            raise SettingsError("STORAGE_RETRIES must be >= 0, MAX_BODY_BYTES >= 1024")
        if not 0 <= self.trusted_proxy_count <= MAX_TRUSTED_PROXIES:
            raise SettingsError(
                f"TRUSTED_PROXY_COUNT must be 0..{MAX_TRUSTED_PROXIES} (the reverse proxies "
                f"in front of the API), got {self.trusted_proxy_count}"
            )
        if not 0 < self.webhook_timeout_seconds <= 15:
            raise SettingsError("WEBHOOK_TIMEOUT_SECONDS must be more than 0 and at most 15")
        for item in self.webhook_allow_hosts:
            if "/" in item:
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise SettingsError(
                        f"WEBHOOK_ALLOW_HOSTS: {item!r} is neither a host name nor a CIDR"
                    ) from None
        for origin in self.cors_origins:
            if not _ORIGIN_RE.match(origin):
                raise SettingsError(
                    "CORS_ORIGINS must list exact origins such as https://app.example or "
                    f"http://host:8080 (credentials are allowed, so no '*'), got {origin!r}"
                )

    @property
    def cookie_secure(self) -> bool:
        # Browsers drop Secure cookies over plain http://127.0.0.1, so local runs default off.
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return not self.local_mode

    @property
    def redis_base_db(self) -> int:
        path = urlsplit(self.redis_url).path.strip("/")
        try:
            return int(path or 0)
        except ValueError:
            raise SettingsError(f"REDIS_URL database must be a number, got {path!r}") from None

    def redis_url_for(self, concern: str) -> str:
        parts = urlsplit(self.redis_url)
        db = self.redis_base_db + REDIS_DB_OFFSETS[concern]
        return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))

    @property
    def uses_sentinel(self) -> bool:
        return bool(self.redis_sentinels)

    def redis_db_for(self, concern: str) -> int:
        return self.redis_base_db + REDIS_DB_OFFSETS[concern]

    def redis_password(self) -> str | None:
        """The data nodes' password (REDIS_URL's), also under Sentinel."""
        parts = urlsplit(self.redis_url)
        return unquote(parts.password) if parts.password else None

    def celery_url_for(self, concern: str) -> str:
        """Celery's broker / result backend URL: `sentinel://` URLs, one per sentinel."""
        if not self.redis_sentinels:
            return self.redis_url_for(concern)
        netloc = urlsplit(self.redis_url).netloc
        auth = netloc.rpartition("@")[0]
        auth = f"{auth}@" if auth else ""
        db = self.redis_db_for(concern)
        return ";".join(
            f"sentinel://{auth}{_netloc(host, port)}/{db}" for host, port in self.redis_sentinels
        )

    def sentinel_kwargs(self) -> dict:
        """Options for the connections to the sentinels themselves."""
        kwargs = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
        if self.redis_sentinel_password:
            kwargs["password"] = self.redis_sentinel_password
        return kwargs

    def limits_storage_uri(self) -> str:
        """Flask-Limiter's storage: `redis+sentinel://h1:p1,h2:p2/master` under Sentinel."""
        if not self.redis_sentinels:
            return self.redis_url_for("limits")
        hosts = ",".join(_netloc(host, port) for host, port in self.redis_sentinels)
        return f"redis+sentinel://{hosts}/{self.redis_sentinel_master}"

    def time_limits(self, duration: int) -> tuple[int, int]:
        soft = int(self.time_limit_base + self.time_limit_per_second * duration)
        return soft, soft + 30

    @classmethod
    def env_names(cls) -> list[str]:
        return [f.metadata["env"] for f in dataclasses.fields(cls)]


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
