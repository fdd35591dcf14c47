"""Who is asking: the owner (a session, or an API key's client) and the client's network key.

Job records carry one `owner` string: a session's random id, or
`client:{id}` for a key client (tasks.clients.store.owner_for). Everything
that checks or counts ownership goes through the two functions below, so the
routes need not know which kind of caller they serve.
"""

from __future__ import annotations

import functools
import ipaddress
import secrets

from flask import request, session

from web.auth import api_client


def session_owner() -> str:
    """The caller's owner id: its key's client, or the session's id created on first use.

    Ownership uses this id, never the raw cookie: a forged or unknown cookie
    opens a fresh, empty session and so a new owner. Only the routes that may
    create a session call this (POST /api/generate and the page); reads use
    `existing_owner()`, so an anonymous read writes nothing to Redis.
    """
    client = api_client()
    if client is not None:
        return client.owner
    owner = session.get("owner")
    if not owner:
        owner = secrets.token_urlsafe(16)
        session["owner"] = owner
        session.permanent = True
    return owner


def existing_owner() -> str | None:
    """The key client, or the owner of a session Redis already holds; None for neither."""
    client = api_client()
    if client is not None:
        return client.owner
    return session.get("owner") or None


def limit_key() -> str:
    """What read limits count under: the key client, else the network (client_key)."""
    client = api_client()
    return "client:" + client.id if client is not None else client_key()


def client_ip() -> str:
    # ProxyFix (enabled only with TRUSTED_PROXY_COUNT > 0) has already rewritten
    # remote_addr from X-Forwarded-For; otherwise the header is ignored.
    return request.remote_addr or "unknown"


def client_key() -> str:
    """The key every per-IP limit and cap counts under.

    IPv4 is the address itself (an IPv4-mapped IPv6 address counts as its IPv4
    address). IPv6 is its /64: one subscriber usually gets a whole /64, so
    keying on the full address would let a client rotate through 2**64 "IPs".
    """
    return network_key(client_ip())


# Every limited request asks; a busy process sees the same few thousand addresses.
@functools.lru_cache(maxsize=4096)
def network_key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 4:
        return str(ip)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))
