"""Which webhook URLs may be called: https to public addresses, or hosts the operator allows.

`WEBHOOK_ALLOW_HOSTS` names hosts (matched against the URL's host as written)
or networks (matched against a URL whose host is an IP literal). Only those
may use http:// or reach a non-public address; every other URL goes through
requests-hardened, which resolves the name once, refuses loopback, private,
link-local, multicast and carrier-grade NAT addresses and connects to the very
address it checked (no DNS rebinding between check and connect). A name that
merely resolves into an allowed network is not trusted: it could change.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit


class WebhookUrlError(ValueError):
    """The URL may never be called (the message says why)."""


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    networks: tuple

    @classmethod
    def parse(cls, items: tuple[str, ...]) -> AllowList:
        hosts, networks = set(), []
        for item in items:
            item = item.strip().lower()
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                hosts.add(item)
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str) -> bool:
        host = host.lower().strip("[]")
        if host in self.hosts:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def _public_literal(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return True  # a name: checked when it is resolved, at delivery
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check(url: str, allow: AllowList) -> bool:
    """Raises WebhookUrlError; returns True when the host is one the operator allows."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        raise WebhookUrlError("webhook is not a valid URL") from None
    if not host:
        raise WebhookUrlError("webhook must name a host")
    if parts.username or parts.password:
        raise WebhookUrlError("webhook must not carry credentials in the URL")
    trusted = allow.allows(host)
    if parts.scheme != "https" and not (parts.scheme == "http" and trusted):
        raise WebhookUrlError("webhook must be an https:// URL")
    if not trusted and not _public_literal(host):
        raise WebhookUrlError("webhook must not point at a loopback, private or reserved address")
    return trusted
