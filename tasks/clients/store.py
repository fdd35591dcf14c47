"""API clients and their keys, in the jobs Redis DB (no extra DB concern).

A key is `mgk_` + 256 random bits, shown once. Only its SHA-256 is stored: a
key that random cannot be guessed from its hash, so a slow password KDF
(bcrypt, argon2) would only add latency to every request without adding
safety (those exist to protect low-entropy human passwords). Looking a key up
by its hash is one Redis read.

Several keys belong to one client (rotation without orphaning jobs); jobs,
limits and the webhook secret belong to the client, never to a key.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

KEY_PREFIX = "mgk_"
SECRET_PREFIX = "whsec_"
# After a rotation the previous webhook secret keeps signing this long, so
# receivers can switch to the new one without rejecting a delivery.
PREVIOUS_SECRET_SECONDS = 24 * 3600

_CLIENT = "client:{}"
_NAMES = "clients:names"  # hash: client name -> client id
_KEY = "apikey:{}"  # hash per key, by the key's SHA-256
_KEY_IDS = "apikeys"  # hash: key id -> the key's SHA-256 (list, revoke)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_webhook_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def owner_for(client_id: str) -> str:
    """The job records' owner field for a client (session owners never contain ':')."""
    return "client:" + client_id


def client_of(owner: str | None) -> str | None:
    return owner.removeprefix("client:") if owner and owner.startswith("client:") else None


@dataclass(frozen=True)
class ApiClient:
    id: str
    name: str
    key_id: str
    rate: str | None = None  # generation rate limit; None = the settings default
    max_active: int | None = None  # active-job cap; None = the settings default

    @property
    def owner(self) -> str:
        return owner_for(self.id)


class KeyRevoked(LookupError):
    pass


class UnknownClient(LookupError):
    pass


def _text(raw: dict) -> dict:
    return {k.decode(): v.decode() for k, v in raw.items()}


class ClientStore:
    # Found keys are remembered per process this long: a bearer status poll
    # then costs no more Redis reads than a cookie one (web/sessions.py caches
    # sessions the same way). A revocation reaches other processes within it.
    CACHE_SECONDS = 2.0

    def __init__(self, client: redis.Redis) -> None:
        self.r = client
        self._cache: dict[str, tuple[float, ApiClient]] = {}
        self._lock = threading.Lock()

    # --- operators (flask keys ...) -------------------------------------------
    def create_key(self, name: str, rate: str | None = None,
                   max_active: int | None = None) -> tuple[str, str, str]:
        """A new key for the client called `name` (made if new). Returns (key, key id, client id).

        Limits given here are set on the client (and so apply to all its keys).
        """
        client_id = self.r.hget(_NAMES, name)
        if client_id is None:
            candidate = "cl_" + secrets.token_hex(8)
            if self.r.hsetnx(_NAMES, name, candidate):
                self.r.hset(_CLIENT.format(candidate), mapping={
                    "name": name, "created_at": _now(), "whsec": new_webhook_secret(),
                })
            client_id = self.r.hget(_NAMES, name)
        client_id = client_id.decode() if isinstance(client_id, bytes) else client_id
        limits = {"rate": rate, "max_active": max_active}
        limits = {k: str(v) for k, v in limits.items() if v is not None}
        if limits:
            self.r.hset(_CLIENT.format(client_id), mapping=limits)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = "key_" + secrets.token_hex(6)
        digest = key_hash(key)
        pipe = self.r.pipeline()
        pipe.hset(_KEY.format(digest), mapping={
            "key_id": key_id, "client": client_id, "created_at": _now(),
        })
        pipe.hset(_KEY_IDS, key_id, digest)
        pipe.execute()
        return key, key_id, client_id

    def list_keys(self) -> list[dict]:
        """Every key's metadata (never a secret: not even its hash)."""
        digests = {k.decode(): v.decode() for k, v in self.r.hgetall(_KEY_IDS).items()}
        pipe = self.r.pipeline(transaction=False)
        for digest in digests.values():
            pipe.hgetall(_KEY.format(digest))
        rows = []
        clients: dict[str, dict] = {}
        for raw in pipe.execute():
            key = _text(raw)
            if not key:
                continue
            cid = key["client"]
            if cid not in clients:
                clients[cid] = _text(self.r.hgetall(_CLIENT.format(cid)))
            client = clients[cid]
            rows.append({
                "key_id": key["key_id"], "client": client.get("name", "?"), "client_id": cid,
                "created_at": key.get("created_at"), "revoked_at": key.get("revoked_at"),
                "rate": client.get("rate"), "max_active": client.get("max_active"),
            })
        return sorted(rows, key=lambda row: (row["client"], row["created_at"] or ""))

    def revoke(self, key_id: str) -> bool:
        digest = self.r.hget(_KEY_IDS, key_id)
        if digest is None:
            return False
        self.r.hsetnx(_KEY.format(digest.decode()), "revoked_at", _now())
        with self._lock:
            self._cache.pop(digest.decode(), None)
        return True

    # --- requests ---------------------------------------------------------------
    def authenticate(self, key: str) -> ApiClient:
        """The key's client. Raises KeyError (unknown) or KeyRevoked."""
        digest = key_hash(key)
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        record = _text(self.r.hgetall(_KEY.format(digest)))
        if not record:
            raise KeyError("unknown key")
        if record.get("revoked_at"):
            raise KeyRevoked(record["key_id"])
        client = self.client(record["client"], key_id=record["key_id"])
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (time.monotonic() + self.CACHE_SECONDS, client)
        return client

    def client(self, client_id: str, key_id: str = "") -> ApiClient:
        raw = _text(self.r.hgetall(_CLIENT.format(client_id)))
        if not raw:
            raise UnknownClient(client_id)
        return ApiClient(
            id=client_id, name=raw["name"], key_id=key_id, rate=raw.get("rate") or None,
            max_active=int(raw["max_active"]) if raw.get("max_active") else None,
        )

    # --- webhook secrets ------------------------------------------------------------
    def webhook_secrets(self, client_id: str) -> dict:
        """{"secret": current, "previous": old or None, "previous_expires_at": ISO or None}."""
        raw = _text(self.r.hgetall(_CLIENT.format(client_id)))
        if not raw:
            raise UnknownClient(client_id)
        until = float(raw.get("whsec_prev_until") or 0)
        live = raw.get("whsec_prev") and until > time.time()
        return {
            "secret": raw["whsec"],
            "previous": raw["whsec_prev"] if live else None,
            "previous_expires_at": (
                datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds") if live else None
            ),
        }

    def signing_secrets(self, client_id: str) -> list[str]:
        """Every secret a delivery is signed with now: the current one, then a recent previous."""
        found = self.webhook_secrets(client_id)
        return [found["secret"]] + ([found["previous"]] if found["previous"] else [])

    def rotate_webhook_secret(self, client_id: str) -> dict:
        key = _CLIENT.format(client_id)
        current = self.r.hget(key, "whsec")
        if current is None:
            raise UnknownClient(client_id)
        self.r.hset(key, mapping={
            "whsec": new_webhook_secret(), "whsec_prev": current.decode(),
            "whsec_prev_until": str(time.time() + PREVIOUS_SECRET_SECONDS),
        })
        return self.webhook_secrets(client_id)

    def client_id_by_name(self, name: str) -> str | None:
        found = self.r.hget(_NAMES, name)
        return found.decode() if found else None
