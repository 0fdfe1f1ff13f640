"""Connection limits below the application: idle connections cannot deny service.

uvicorn's own guard (``limit_concurrency``) answers 503 to everyone once that many connections
are open, idle ones included, and a connection that never sends a request is never timed out:
a thousand idle sockets shut a server out. This HTTP protocol (uvicorn's h11 protocol, with
the guard added) instead

* caps the connections of each client address (``max_connections_per_client``) and of the
  whole server (``max_connections``): past a cap, the **oldest idle** connection (no request
  in progress: never sent one, waiting between keep-alive requests, or stuck in its headers)
  is closed to make room; only when every connection is busy is the newcomer refused;
* closes a connection whose request headers are not complete ``header_timeout_s`` after it
  opened or after its previous answer (slowloris);
* refuses a request line and headers over ``max_header_bytes`` (431, connection closed);
* closes keep-alive connections idle for ``idle_timeout_s`` (uvicorn's keep-alive timeout).

Each limit is a setting (``serve.max_connections``...; docs/configuration.md). Counters (for
/api/stats): ``connections_evicted_idle``, ``connections_refused``, ``header_timeouts``,
``headers_too_large``.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol

from tailwatch.config import ServeSettings

__all__ = ["ConnectionLimits", "guarded_protocol"]


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_connections: int = 2048
    max_connections_per_client: int = 128
    header_timeout_s: float = 10.0
    idle_timeout_s: float = 15.0
    max_header_bytes: int = 16 * 1024

    @classmethod
    def from_settings(cls, settings: ServeSettings) -> ConnectionLimits:
        return cls(settings.max_connections, settings.max_connections_per_client,
                   settings.header_timeout_s, settings.idle_timeout_s,
                   settings.max_header_bytes)


class _Registry:
    """Open connections, oldest first, in all and per client address (event loop only)."""

    def __init__(self, limits: ConnectionLimits, stats: dict[str, int]) -> None:
        self.limits = limits
        self.stats = stats
        for k in ("connections_evicted_idle", "connections_refused", "header_timeouts",
                  "headers_too_large"):
            stats.setdefault(k, 0)
        self.all: OrderedDict[GuardedH11Protocol, None] = OrderedDict()
        self.by_client: dict[str, OrderedDict[GuardedH11Protocol, None]] = {}

    def _evict_idle(self, pool: OrderedDict[GuardedH11Protocol, None]) -> bool:
        for conn in list(pool):
            if conn.closing:
                self.forget(conn)
                return True
            if conn.idle:
                self.stats["connections_evicted_idle"] += 1
                conn.close()
                return True
        return False

    def admit(self, conn: GuardedH11Protocol) -> bool:
        """Make room for ``conn`` (closing the oldest idle connection past a cap); False
        when every connection is busy."""
        mine = self.by_client.setdefault(conn.client_key, OrderedDict())
        while len(mine) >= self.limits.max_connections_per_client:
            if not self._evict_idle(mine):
                return False
        while len(self.all) >= self.limits.max_connections:
            if not self._evict_idle(self.all):
                return False
        mine[conn] = None
        self.all[conn] = None
        return True

    def forget(self, conn: GuardedH11Protocol) -> None:
        self.all.pop(conn, None)
        mine = self.by_client.get(conn.client_key)
        if mine is not None:
            mine.pop(conn, None)
            if not mine:
                del self.by_client[conn.client_key]


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the guard of the module docstring."""

    registry: ClassVar[_Registry]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._cycle_seen: object = None
        self._header_bytes = 0  # of the request whose headers are arriving
        self._header_tail = b""  # the last bytes seen, to find the blank line across reads
        self.client_key = "?"

    # --- state -------------------------------------------------------------------------------
    @property
    def closing(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    @property
    def idle(self) -> bool:
        """No request in progress (and not handed over to a websocket)."""
        if self.transport.get_protocol() is not self:  # upgraded: a live websocket
            return False
        cycle = self.cycle
        return cycle is None or bool(cycle.response_complete)

    def close(self) -> None:
        self._cancel_header_timer()
        if not self.closing:
            self.transport.close()

    # --- header timeout ----------------------------------------------------------------------
    def _start_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.registry.limits.header_timeout_s,
                                                  self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.idle and not self.closing:
            self.registry.stats["header_timeouts"] += 1
            self.transport.close()

    # --- protocol ----------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.client_key = str(self.client[0]) if self.client else "?"
        if not self.registry.admit(self):
            self.registry.stats["connections_refused"] += 1
            transport.close()
            return
        self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        self.registry.forget(self)
        super().connection_lost(exc)

    def _headers_too_long(self, data: bytes) -> bool:
        """Count the bytes of the request line and headers while they arrive (h11 bounds
        only what it buffers of an incomplete request, not a whole one read at once)."""
        window = self._header_tail + data
        end = window.find(b"\r\n\r\n")
        if end < 0:
            self._header_bytes += len(data)
            self._header_tail = window[-3:]
        else:
            self._header_bytes += end + 4 - len(self._header_tail)
        too_long = self._header_bytes > self.registry.limits.max_header_bytes
        if end >= 0:
            self._header_bytes, self._header_tail = 0, b""
        return too_long

    def data_received(self, data: bytes) -> None:
        if self.idle:
            if self._header_timer is None:
                self._start_header_timer()  # the next request on a keep-alive connection
            if self._headers_too_long(data):
                self.registry.stats["headers_too_large"] += 1
                body = (b'{"error": "request headers over %d bytes"}'
                        % self.registry.limits.max_header_bytes)
                self.transport.write(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: "
                    b"application/json\r\nconnection: close\r\ncontent-length: %d\r\n\r\n"
                    % len(body) + body)
                self.close()
                return
        super().data_received(data)
        if self.cycle is not None and self.cycle is not self._cycle_seen:
            self._cycle_seen = self.cycle  # the headers of a request are complete
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._cancel_header_timer()


def guarded_protocol(limits: ConnectionLimits, stats: dict[str, int]) -> type[H11Protocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` sharing one registry."""
    registry = _Registry(limits, stats)
    return type("TailwatchH11Protocol", (GuardedH11Protocol,), {"registry": registry})
