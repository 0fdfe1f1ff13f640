"""Notifications through Apprise: email, Telegram, Slack, Discord, ntfy, MQTT and ~100 more.

One sink is one Apprise URL (``tgram://bottoken/chatid``, ``ntfy://ntfy.sh/topic``,
``mailtos://user:pass@example.org``, ...; see Apprise's documentation). Apprise is an
optional dependency, imported on first use. For the URL kinds that name a host of the
user's choosing (``json://``, ``xml://``, ``form://``, ``apprise://``, ``mqtt://``,
``gotify://``, self-hosted ``ntfy://host/topic``) the host goes through the SSRF guard
before each attempt; Apprise then connects by itself (its own lookup, its own timeouts:
the ``cto``/``rto`` URL parameters).
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

from tailwatch.alert.model import Alert
from tailwatch.alert.sinks.base import DeliveryError
from tailwatch.alert.ssrf import Resolver, TargetRefusedError, resolve_public
from tailwatch.core.errors import ConfigError

__all__ = ["AppriseSink"]

_HOST_SCHEMES = {
    "json": 80, "jsons": 443, "xml": 80, "xmls": 443, "form": 80, "forms": 443,
    "apprise": 80, "apprises": 443, "mqtt": 1883, "mqtts": 8883, "gotify": 80,
    "gotifys": 443, "ntfy": 80, "ntfys": 443,
}  # fmt: skip


def _apprise() -> Any:
    try:
        import apprise
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise ConfigError("Apprise sinks need the apprise package: pip install apprise") from e
    return apprise


def guarded_host(url: str) -> tuple[str, int] | None:
    """(host, port) that the SSRF guard must vet for this Apprise URL, or None."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _HOST_SCHEMES or not parts.hostname:
        return None
    if scheme in ("ntfy", "ntfys") and not parts.path.strip("/"):
        return None  # ntfy://topic: the public ntfy.sh service
    try:
        port = parts.port or _HOST_SCHEMES[scheme]
    except ValueError:
        port = _HOST_SCHEMES[scheme]
    return parts.hostname, port


class AppriseSink:
    def __init__(
        self,
        name: str,
        url: str,
        *,
        allow_private: bool = False,
        resolver: Resolver = socket.getaddrinfo,
    ) -> None:
        self.name = name
        self._url = url
        self.allow_private = allow_private
        self._resolver = resolver
        self._mod = _apprise()
        if self._mod.Apprise.instantiate(url) is None:
            raise ConfigError(f"sink {name}: Apprise does not understand this URL")

    def __repr__(self) -> str:
        return f"AppriseSink({self.name!r}, {urlsplit(self._url).scheme}://...)"

    def send(self, alert: Alert) -> None:
        target = guarded_host(self._url)
        if target is not None:
            try:
                resolve_public(target[0], target[1], allow_private=self.allow_private,
                               resolver=self._resolver)  # fmt: skip
            except TargetRefusedError as e:
                raise DeliveryError(f"{self.name}: {e}", permanent=True) from e
            except OSError as e:
                raise DeliveryError(f"{self.name}: cannot resolve {target[0]}: {e}") from e
        ap = self._mod.Apprise()
        if not ap.add(self._url):
            raise DeliveryError(f"{self.name}: Apprise does not understand this URL",
                                permanent=True)  # fmt: skip
        if not ap.notify(title=alert.title(), body=alert.text()):
            raise DeliveryError(f"{self.name}: Apprise notification failed")
