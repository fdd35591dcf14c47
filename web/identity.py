"""Who is asking: the server-side session's owner id, and the client's network key."""

from __future__ import annotations

import ipaddress
import secrets

from flask import request, session


def session_owner() -> str:
    """The owner id stored in the server-side session, created on first use.

    Ownership uses this id, never the raw cookie: a forged or unknown cookie
    opens a fresh, empty session and so a new owner. Only the routes that may
    create a session call this (POST /api/generate and the page); reads use
    `existing_owner()`, so an anonymous read writes nothing to Redis.
    """
    owner = session.get("owner")
    if not owner:
        owner = secrets.token_urlsafe(16)
        session["owner"] = owner
        session.permanent = True
    return owner


def existing_owner() -> str | None:
    """The owner of a session Redis already holds; None for no or unknown cookie."""
    return session.get("owner") or None


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
