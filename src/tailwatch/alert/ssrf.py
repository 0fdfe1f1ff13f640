"""SSRF guard: alert targets must resolve to public addresses unless explicitly allowed.

A webhook URL comes from a rules file, which may arrive through the API; without a guard it
could make tailwatch POST to its own admin endpoints, to the LAN, or to a cloud metadata
service (169.254.169.254). :func:`resolve_public` resolves the host and refuses the target
when *any* address is loopback, private, link-local, multicast, reserved, shared (CGNAT),
unspecified, a known metadata address, or otherwise not globally routable; IPv4-mapped IPv6
addresses are judged by their IPv4 address. The caller then connects to the vetted address
itself (no second lookup that DNS rebinding could change).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

from tailwatch.core.errors import TailwatchError

__all__ = ["METADATA_ADDRESSES", "TargetRefusedError", "non_public_reason", "resolve_public"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
        "fd00:ec2::254",  # AWS IPv6
    )
)
METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal", "instance-data"})


class TargetRefusedError(TailwatchError):
    """The target resolves to an address the SSRF guard refuses."""


def non_public_reason(ip: IPAddress) -> str | None:
    """Why an address is refused ("loopback", "private", ...), or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return "cloud metadata"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
    )
    for name, hit in checks:
        if hit:
            return name
    if not ip.is_global:
        return "not globally routable"
    return None


Resolver = Callable[..., list[tuple[Any, ...]]]


def resolve_public(
    host: str,
    port: int,
    *,
    allow_private: bool = False,
    resolver: Resolver = socket.getaddrinfo,
) -> list[str]:
    """The addresses of ``host`` (all of them public unless ``allow_private``).

    Raises :class:`TargetRefusedError` for a refused address, ``OSError`` when the name does not
    resolve (a transient failure the caller may retry).
    """
    name = host.strip("[]").rstrip(".").lower()
    if not allow_private and name in METADATA_HOSTS:
        raise TargetRefusedError(f"{host}: refused (cloud metadata host)")
    infos = resolver(name, port, type=socket.SOCK_STREAM)
    addrs: list[str] = []
    for info in infos:
        addr = str(info[4][0]).split("%", 1)[0]
        if addr not in addrs:
            addrs.append(addr)
    if not addrs:
        raise OSError(f"{host}: no address")
    if not allow_private:
        for a in addrs:
            reason = non_public_reason(ipaddress.ip_address(a))
            if reason is not None:
                raise TargetRefusedError(
                    f"{host} resolves to {a} ({reason}); refused unless "
                    "alerts.allow_private_webhooks is set"
                )
    return addrs
