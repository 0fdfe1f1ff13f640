"""Webhooks signed as Standard Webhooks (https://www.standardwebhooks.com/).

Each attempt POSTs the same JSON body ``{"type": "tailwatch.alert", "timestamp": ...,
"data": <alert>}`` with the headers

* ``webhook-id``: the alert's stable id (the same on every retry: receivers de-duplicate on it),
* ``webhook-timestamp``: the attempt's UNIX time in seconds,
* ``webhook-signature``: ``v1,`` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), where
  the key is the base64 part of the ``whsec_...`` secret, decoded.

The host is resolved once per attempt and vetted by the SSRF guard; the connection goes to
that vetted address (TLS still checks the certificate against the host name). Redirects are
not followed (a 3xx is a failed attempt), the response body is read up to 64 KiB, and the
timeout applies to the connection and to each read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from tailwatch import __version__
from tailwatch.alert.model import Alert
from tailwatch.alert.sinks.base import DeliveryError
from tailwatch.alert.ssrf import Resolver, TargetRefusedError, resolve_public

__all__ = ["WebhookSink", "sign_webhook", "verify_webhook", "webhook_body"]

MAX_RESPONSE_BYTES = 65536


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign_webhook(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value: ``v1,<base64 HMAC-SHA256>``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_webhook(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
    tolerance_s: float = 300.0,
) -> bool:  # fmt: skip
    """Check a received webhook (for receivers written in Python, and the tests)."""
    h = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id, ts = h["webhook-id"], int(h["webhook-timestamp"])
        sigs = h["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    want = sign_webhook(secret, msg_id, ts, body)
    return any(hmac.compare_digest(s, want) for s in sigs)


def webhook_body(alert: Alert) -> bytes:
    doc = {"type": "tailwatch.alert", "timestamp": alert.time_iso, "data": alert.to_dict()}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int | None, address: str, timeout: float,
                 context: ssl.SSLContext) -> None:  # fmt: skip
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._ctx = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(raw, server_hostname=self.host)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class WebhookSink:
    """POSTs alerts to ``url`` (see the module docstring)."""

    def __init__(
        self,
        name: str,
        url: str,
        secret: str,
        *,
        timeout_s: float = 10.0,
        allow_private: bool = False,
        headers: Mapping[str, str] | None = None,
        resolver: Resolver = socket.getaddrinfo,
        clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.name = name
        self.url = url
        self._secret = secret
        self._key = _key(secret)  # validates the secret early
        self.timeout_s = timeout_s
        self.allow_private = allow_private
        self.headers = dict(headers or {})
        self._resolver = resolver
        self._clock = clock
        self._parts = parts

    def __repr__(self) -> str:
        return f"WebhookSink({self.name!r}, {self.url!r})"

    def send(self, alert: Alert) -> None:
        body = webhook_body(alert)
        ts = int(self._clock())
        headers = {
            **self.headers,
            "content-type": "application/json",
            "user-agent": f"tailwatch/{__version__}",
            "webhook-id": alert.id,
            "webhook-timestamp": str(ts),
            "webhook-signature": sign_webhook(self._secret, alert.id, ts, body),
        }
        status, reason, retry_after = self._post(body, headers)
        if 200 <= status < 300:
            return
        msg = f"HTTP {status} {reason}"
        if 300 <= status < 400:
            msg += " (redirects are not followed)"
        raise DeliveryError(f"{self.name}: {msg}", retry_after_s=retry_after)

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, float | None]:
        p = self._parts
        host = p.hostname or ""
        port = p.port or (443 if p.scheme == "https" else 80)
        try:
            addrs = resolve_public(host, port, allow_private=self.allow_private,
                                   resolver=self._resolver)  # fmt: skip
        except TargetRefusedError as e:
            raise DeliveryError(f"{self.name}: {e}", permanent=True) from e
        except OSError as e:
            raise DeliveryError(f"{self.name}: cannot resolve {host}: {e}") from e
        path = (p.path or "/") + (f"?{p.query}" if p.query else "")
        conn: http.client.HTTPConnection
        if p.scheme == "https":
            conn = _PinnedHTTPS(host, port, addrs[0], self.timeout_s,
                                ssl.create_default_context())  # fmt: skip
        else:
            conn = _PinnedHTTP(host, port, addrs[0], self.timeout_s)
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read(MAX_RESPONSE_BYTES)
            return resp.status, resp.reason, _retry_after(resp.getheader("retry-after"))
        except (OSError, http.client.HTTPException) as e:
            raise DeliveryError(f"{self.name}: {type(e).__name__}: {e}") from e
        finally:
            conn.close()
