"""Running the app: ``serve(state, settings)`` blocks; ``ServerThread`` runs it in the
background (for the pipeline, demos and tests)."""

from __future__ import annotations

import gc
import ipaddress
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from tailwatch.config import ServeSettings
from tailwatch.serve.app import ExtraRoutes, create_app
from tailwatch.serve.connections import ConnectionLimits, guarded_protocol
from tailwatch.serve.security import Limits
from tailwatch.serve.state import LiveState

__all__ = ["ServerThread", "serve", "settle_gc"]

log = logging.getLogger(__name__)


def _config(state: LiveState, settings: ServeSettings, limits: Limits | None,
            routers: Sequence[ExtraRoutes] = (), tar1090_dir: Path | None = None,
            ) -> uvicorn.Config:
    if not _is_loopback(settings.host) and not settings.token:
        log.warning("serving on %s without a token: the API is read-only for everyone, and "
                    "nothing can be administered", settings.host)
    app = create_app(state, settings, limits=limits, routers=routers, tar1090_dir=tar1090_dir)
    conn = ConnectionLimits.from_settings(settings)
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        ws="auto",
        # live-feed messages are compressed once per publish (``?compress=gzip``), not once
        # per client: no permessage-deflate
        ws_per_message_deflate=False,
        proxy_headers=False,
        server_header=False,
        # connection limits per client and overall, header and idle timeouts, header size:
        # serve/connections.py (uvicorn's limit_concurrency would 503 everyone once idle
        # connections fill it)
        http=guarded_protocol(conn, app.state.tw.security_stats),
        timeout_keep_alive=max(1, round(conn.idle_timeout_s)),
        h11_max_incomplete_event_size=conn.max_header_bytes,
        limit_concurrency=None,
    )


def settle_gc() -> None:
    """Move every object alive now (modules, the app, the identity tables...) out of the
    garbage collector's reach (``gc.freeze``). A full collection otherwise scans them all —
    some 170,000 objects, ~100 ms during which no request is answered; afterwards it only
    scans what was allocated since. Called once the server is set up."""
    gc.collect()
    gc.freeze()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(state: LiveState, settings: ServeSettings | None = None,
          limits: Limits | None = None, *, routers: Sequence[ExtraRoutes] = (),
          tar1090_dir: Path | None = None) -> None:
    """Serve until interrupted (binds settings.host, 127.0.0.1 by default). ``routers`` and
    ``tar1090_dir``: see :func:`~tailwatch.serve.app.create_app`."""
    server = uvicorn.Server(_config(state, settings or ServeSettings(), limits, routers,
                                    tar1090_dir))
    settle_gc()
    server.run()


class ServerThread:
    """The server on a background thread: ``with ServerThread(state, settings) as url: ...``.

    ``settings.port = 0`` picks a free port; :attr:`url` is the base URL once started.
    """

    def __init__(self, state: LiveState, settings: ServeSettings | None = None,
                 limits: Limits | None = None, *, routers: Sequence[ExtraRoutes] = (),
                 tar1090_dir: Path | None = None) -> None:
        self.server = uvicorn.Server(_config(state, settings or ServeSettings(), limits,
                                             routers, tar1090_dir))
        self._thread = threading.Thread(target=self.server.run, name="tailwatch-http",
                                        daemon=True)
        self.url = ""

    def start(self, timeout_s: float = 20.0) -> str:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.02)
        settle_gc()
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
