"""Request guards: token check for writes, per-client rate limit, request size limits and
security headers, as one small ASGI middleware (no per-request task or buffering).

Policy
- Reading needs nothing. Anything else (POST, PUT, PATCH, DELETE) needs
  ``Authorization: Bearer <token>`` matching ``serve.token``; with no token configured every
  write is refused (403).
- Each client address gets a token bucket (``rate_per_s`` sustained, ``burst`` at once);
  past it: 429 with ``Retry-After``.
- Bodies of writes over ``max_body_bytes`` (declared or streamed): 413. Query strings over
  ``max_query_bytes``: 414.

Every limit is a setting (``serve.rate_per_s``, ``serve.burst``, ``serve.max_body_bytes``...,
see docs/configuration.md); :meth:`Limits.from_settings` reads them.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from tailwatch.config import ServeSettings

__all__ = ["CrashGuard", "Limits", "SecurityMiddleware", "token_ok"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Limits:
    """Request limits (per client address for the rate)."""

    rate_per_s: float = 50.0
    burst: int = 200
    max_body_bytes: int = 64 * 1024
    max_query_bytes: int = 8 * 1024
    max_clients_tracked: int = 10_000
    ws_queue: int = 8  #: live-feed messages a websocket client may lag behind before it is dropped
    max_ws_clients: int = 256

    @classmethod
    def from_settings(cls, settings: ServeSettings) -> Limits:
        """The limits of ``settings`` (``serve.rate_per_s``, ``serve.burst``...)."""
        return cls(**{f: getattr(settings, f) for f in LIMIT_FIELDS})


#: the :class:`Limits` fields, each also a ``serve.*`` setting of the same name
LIMIT_FIELDS = ("rate_per_s", "burst", "max_body_bytes", "max_query_bytes",
                "max_clients_tracked", "ws_queue", "max_ws_clients")


def token_ok(configured: str, header: str | None) -> bool:
    """Whether an ``Authorization`` header carries the configured token (constant time)."""
    if not configured or not header:
        return False
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), configured.encode())


class _Buckets:
    """Token buckets keyed by client address, least recently used ones forgotten."""

    def __init__(self, rate: float, burst: int, max_keys: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self._b: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, now: float) -> float:
        """0 when allowed, else the seconds to wait."""
        tokens, last = self._b.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._b[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._b[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate if self.rate > 0 else 60.0
        while len(self._b) > self.max_keys:
            self._b.popitem(last=False)
        return wait


async def _reply(send: Send, status: int, message: str,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()), *(headers or [])],
    })
    await send({"type": "http.response.body", "body": body})


class SecurityMiddleware:
    """See the module docstring. ``stats`` counts refusals by reason."""

    def __init__(self, app: ASGIApp, *, token: str, limits: Limits,
                 csp: str = "", stats: dict[str, int] | None = None,
                 csp_exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        #: path prefixes whose pages bring their own policy (an installed tar1090)
        self.csp_exempt = csp_exempt
        self.token = token
        self.limits = limits
        self.csp = csp.encode()
        self.buckets = _Buckets(limits.rate_per_s, limits.burst, limits.max_clients_tracked)
        self.stats: dict[str, int] = stats if stats is not None else {}
        for k in ("requests", "rate_limited", "too_large", "unauthorized", "forbidden"):
            self.stats.setdefault(k, 0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        self.stats["requests"] += 1
        client = scope.get("client") or ("unknown", 0)
        wait = self.buckets.take(str(client[0]), time.monotonic())
        if wait > 0:
            self.stats["rate_limited"] += 1
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1013})
                return
            await _reply(send, 429, "too many requests: slow down",
                         [(b"retry-after", str(max(1, math.ceil(wait))).encode())])
            return
        if kind == "websocket":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > self.limits.max_query_bytes:
            self.stats["too_large"] += 1
            await _reply(send, 414, f"query string over {self.limits.max_query_bytes} bytes")
            return
        method = scope.get("method", "GET")
        if method not in SAFE_METHODS:
            header = None
            declared = None
            for k, v in scope.get("headers", []):
                if k == b"authorization":
                    header = v.decode("latin-1")
                elif k == b"content-length":
                    declared = v
            if not self.token:
                self.stats["forbidden"] += 1
                await _reply(send, 403, "writes are disabled: this server has no token "
                             "configured (serve.token)")
                return
            if not token_ok(self.token, header):
                self.stats["unauthorized"] += 1
                await _reply(send, 401, "this needs 'Authorization: Bearer <token>'",
                             [(b"www-authenticate", b'Bearer realm="tailwatch"')])
                return
            if declared is not None:
                try:
                    too_big = int(declared) > self.limits.max_body_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    self.stats["too_large"] += 1
                    await _reply(send, 413,
                                 f"request body over {self.limits.max_body_bytes} bytes")
                    return
        limit = self.limits.max_body_bytes
        downstream_receive = receive
        if method not in SAFE_METHODS:
            # writes are rare and small: read the body here (bounded), then replay it
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message.get("type") != "http.request":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    self.stats["too_large"] += 1
                    await _reply(send, 413, f"request body over {limit} bytes")
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            downstream_receive = replay

        csp = self.csp
        if self.csp_exempt and scope.get("path", "").startswith(self.csp_exempt):
            csp = b""

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer")]
                if csp and any(k == b"content-type" and v.startswith(b"text/html")
                                    for k, v in headers):
                    headers += [(b"content-security-policy", csp),
                                (b"x-frame-options", b"SAMEORIGIN")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, downstream_receive, send_with_headers)


class CrashGuard:
    """An unexpected error in a handler becomes ``500 {"error": "internal error"}`` and is
    logged once; the connection stays usable for the next keep-alive request (Starlette's
    last-resort handler re-raises to the server, which then drops the connection).
    ``stats["internal_errors"]`` counts them."""

    def __init__(self, app: ASGIApp, *, stats: dict[str, int] | None = None) -> None:
        self.app = app
        self.stats: dict[str, int] = stats if stats is not None else {}
        self.stats.setdefault("internal_errors", 0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            self.stats["internal_errors"] += 1
            log.exception("unhandled error on %s", scope.get("path", "?"))
            if started:  # half an answer is out: nothing sensible can follow on this socket
                raise
            await _reply(send, 500, "internal error")
