"""The HTTP API and the web map: ``create_app(state, settings)``.

One router per client family, so that each contract lives in one place (docs/api.md has each
endpoint with examples):

* :mod:`~tailwatch.serve.readsb_api`: readsb / tar1090 (``/data/aircraft.json``,
  ``/data/receiver.json``, traces, ``db2`` look-ups, the query API ``/re-api/``)
* :mod:`~tailwatch.serve.v2_api`: ADSBx v2 as adsb.lol serves it (``/v2/...``)
* :mod:`~tailwatch.serve.opensky_api`: OpenSky REST (``/api/states/all``, ``/api/flights/*``,
  ``/api/tracks/all``)
* :mod:`~tailwatch.serve.native_api`: tailwatch's own (``/api/aircraft/{icao24}``, search,
  flights, events, history, exports, stats, config, ``/health``, identity reload)
* :mod:`~tailwatch.serve.live_api`: the websocket ``/api/live``
* :mod:`~tailwatch.serve.map_api`: what the web map asks for (``/api/map/...``)
* :mod:`~tailwatch.serve.rules_api`: rules and alerts (token)
* :mod:`~tailwatch.serve.gnss_api`: GNSS interference cells (``/api/gnss``)
* :mod:`~tailwatch.serve.web_api`: the web map at ``/``, the API reference at ``/docs``

Other modules add theirs through ``create_app(..., routers=[...])``: an ``APIRouter``, or a
callable ``install(app)``.

Handlers read the current :class:`~tailwatch.serve.view.SnapshotView` and the history store
only. Bulk bodies are built column-wise and memoised per snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from tailwatch import __version__
from tailwatch.config import ServeSettings
from tailwatch.serve import live_api, map_api, native_api, opensky_api, readsb_api, v2_api
from tailwatch.serve.context import ServeContext, json_response
from tailwatch.serve.gnss_api import gnss_router
from tailwatch.serve.history import HistoryError
from tailwatch.serve.rules_api import install_rules_routes
from tailwatch.serve.security import CrashGuard, Limits, SecurityMiddleware
from tailwatch.serve.select import BadRequestError
from tailwatch.serve.state import LiveState
from tailwatch.serve.web_api import STATIC_DIR, mount_static, web_router

__all__ = ["STATIC_DIR", "ExtraRoutes", "create_app", "csp_header", "parse_time"]

log = logging.getLogger(__name__)

#: what ``create_app(routers=...)`` takes: a router, or a function that installs routes
ExtraRoutes = APIRouter | Callable[[FastAPI], None]


def parse_time(text: str | None, what: str, default: float | None = None) -> float | None:
    """Seconds since the epoch or ISO 8601 (see :func:`tailwatch.serve.context.parse_time`)."""
    from tailwatch.serve.context import parse_time as parse

    return parse(text, what, default)


def create_app(
    state: LiveState,
    settings: ServeSettings | None = None,
    *,
    limits: Limits | None = None,
    static_dir: Path | None = None,
    routers: Sequence[ExtraRoutes] = (),
    tar1090_dir: Path | None = None,
) -> FastAPI:
    """The FastAPI application serving ``state`` with ``settings`` (ServeSettings).

    ``routers``: more routes (each an ``APIRouter`` or a callable ``install(app)``), mounted
    after the built-in API and before the web map. ``tar1090_dir``: an installed tar1090
    ``html/`` folder served at ``/tar1090/`` beside the data it reads.
    """
    settings = settings if settings is not None else ServeSettings()
    limits = limits if limits is not None else Limits.from_settings(settings)
    static = static_dir if static_dir is not None else STATIC_DIR
    ctx = ServeContext(state, settings, limits)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx.hub.start(asyncio.get_running_loop())
        try:
            yield
        finally:
            ctx.hub.stop()

    app = FastAPI(
        title="tailwatch",
        version=__version__,
        description="Live and historical aircraft data: readsb-, ADSBx-v2- and OpenSky-"
        "compatible endpoints, native flights/events/history, exports and a live feed. "
        "Read-only without a token. See docs/api.md.",
        lifespan=lifespan,
        # Swagger/ReDoc load their scripts from a CDN: not offline, and refused by the CSP;
        # /docs is tailwatch's own page instead (serve/apidocs.py)
        docs_url=None,
        redoc_url=None,
    )
    app.state.tw = ctx

    _install_errors(app)
    for family in (readsb_api, v2_api, opensky_api, native_api, live_api, map_api):
        app.include_router(family.router)
    install_rules_routes(app)
    app.include_router(gnss_router(lambda: state.history.store))
    for extra in routers:
        if isinstance(extra, APIRouter):
            app.include_router(extra)
        else:
            extra(app)
    if tar1090_dir is not None:
        readsb_api.mount_tar1090(app, tar1090_dir)
    app.include_router(web_router(static))
    mount_static(app, static)

    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=5)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "OPTIONS", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(SecurityMiddleware, token=settings.token, limits=limits,
                       csp=csp_header(settings.tile_url), stats=ctx.security_stats,
                       # tar1090's page has inline scripts and loads its tiles elsewhere
                       csp_exempt=(readsb_api.TAR1090_PREFIX + "/",) if tar1090_dir else ())
    # outermost of ours: an unexpected error becomes a 500 answer and the connection stays
    # usable (Starlette's own handler re-raises, and the server then drops the connection)
    app.add_middleware(CrashGuard, stats=ctx.security_stats)
    return app


def csp_header(tile_url: str = "") -> str:
    """The map page's Content-Security-Policy: this server only (plus the tile server's
    origin for images and fetches); websockets only to this page's own origin."""
    tile_origin = _origin(tile_url)
    tile = f" {tile_origin}" if tile_origin else ""
    # 'self' covers ws:/wss: to the page's own host and port (CSP level 3); no other socket
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: blob:{tile}; worker-src 'self'; child-src 'self'; "
            f"connect-src 'self'{tile}; "
            "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


def _origin(url: str) -> str:
    m = re.match(r"^(https?://[^/{}]+)", url or "")
    return m.group(1) if m else ""


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(BadRequestError)
    async def bad_request(request: Request, exc: BadRequestError) -> Response:
        return json_response({"error": "bad request", "detail": str(exc)}, 400)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "path"))
            got = e.get("input")
            parts.append(f"{loc}: {e.get('msg')}" + (f" (got {got!r})" if got is not None
                                                       and not isinstance(got, dict) else ""))
        return json_response({"error": "bad request", "detail": "; ".join(parts)}, 400)

    @app.exception_handler(HistoryError)
    async def history_failed(request: Request, exc: HistoryError) -> Response:
        log.warning("%s", exc)
        return json_response({"error": "history store unavailable", "detail": str(exc)}, 503)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return json_response({"error": exc.detail if isinstance(exc.detail, str) else "error"},
                     exc.status_code)
