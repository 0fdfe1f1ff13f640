"""The HTTP API and the web map: ``create_app(state, settings)``.

Endpoints (docs/api.md has each with examples):

* readsb: ``/data/aircraft.json``, ``/data/receiver.json``, the query API ``/re-api/``
* ADSBx v2: ``/v2/hex|icao/{hex}``, ``/v2/callsign/{cs}``, ``/v2/reg/{reg}``, ``/v2/type/{t}``,
  ``/v2/sqk/{sqk}``, ``/v2/mil``, ``/v2/ladd``, ``/v2/pia``, ``/v2/point/{lat}/{lon}/{nm}``
* OpenSky: ``/api/states/all``, ``/api/flights/{all,aircraft,arrival,departure}``,
  ``/api/tracks/all``
* native: ``/api/aircraft/{icao24}``, ``/api/search``, ``/api/flights``, ``/api/events``,
  ``/api/history``, ``/api/flights/{id}.{geojson,kml,csv}``, ``/api/airports``, ``/api/stats``,
  ``/api/config``, ``/health``, the websocket ``/api/live``
* admin (token): ``POST /api/admin/identity/reload``
* the web map at ``/`` (static files shipped in the package), the API reference at ``/docs``
  (rendered from ``/openapi.json``, offline)

Handlers read the current :class:`~tailwatch.serve.view.SnapshotView` and the history store
only. Bulk bodies are built column-wise and memoised per snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import FastAPI, Query, Request, WebSocket, WebSocketDisconnect
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles

from tailwatch import __version__
from tailwatch.config import ServeSettings
from tailwatch.core.schema import EVENT_TYPES
from tailwatch.serve import formats as fmt
from tailwatch.serve.export import EXPORT_FORMATS, export_track, opensky_path
from tailwatch.serve.history import HistoryError, thin_by_time
from tailwatch.serve.live import LiveHub, snapshot_payload
from tailwatch.serve.rules_api import install_rules_routes
from tailwatch.serve.security import Limits, SecurityMiddleware, token_ok
from tailwatch.serve.select import (
    BadRequestError,
    parse_hex,
    parse_hex_list,
    parse_readsb_query,
    parse_squawk,
    parse_text_list,
    rows_circle,
    search_rows,
    select_readsb,
)
from tailwatch.serve.state import LiveState, snapshot_from_positions
from tailwatch.serve.view import SnapshotView

__all__ = ["STATIC_DIR", "create_app"]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
JSON = "application/json"
MAX_V2_RADIUS_NM = 250.0
#: longest window of one history read: all aircraft / one aircraft
MAX_WINDOW_ALL_S = 6 * 3600.0
MAX_WINDOW_ONE_S = 31 * 86400.0
MAX_HISTORY_ROWS = 2_000_000
#: a published snapshot older than this makes /health answer 503
STALE_AFTER_S = 30.0
_FLIGHT_ID_RE = re.compile(r"^[A-Za-z0-9_.:~\-]{1,80}$")
_AIRPORT_RE = re.compile(r"^[A-Za-z0-9]{3,4}$")


Begin = Annotated[int, Query(ge=0, le=4_100_000_000, description="UNIX seconds")]
Since = Annotated[str | None, Query(description="UNIX seconds or ISO 8601 (UTC)")]


class ServeContext:
    """What the handlers share (``app.state.tw``)."""

    def __init__(self, state: LiveState, settings: ServeSettings, limits: Limits) -> None:
        self.state = state
        self.settings = settings
        self.limits = limits
        self.hub = LiveHub(state, queue_size=limits.ws_queue, max_clients=limits.max_ws_clients)
        self.security_stats: dict[str, int] = {}
        #: distinguishes this process's ETags from those of an earlier run
        self.boot_id = f"{int(state.started * 1000) & 0xFFFFFFFFFF:x}"
        self.airports_body: bytes | None = None

    def allow_hidden(self, authorization: str | None) -> bool:
        return self.settings.show_pia_ladd or token_ok(self.settings.token, authorization)


def _ctx(request: Request) -> ServeContext:
    ctx: ServeContext = request.app.state.tw
    return ctx


def _raw(body: bytes, status: int = 200, media_type: str = JSON,
         headers: dict[str, str] | None = None) -> Response:
    return Response(content=body, status_code=status, media_type=media_type, headers=headers)


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "")


def _etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag in tags or "*" in tags


def _prebuilt(request: Request, view: SnapshotView, variant: str, plain: Callable[[], bytes],
              gzipped: Callable[[], bytes]) -> Response:
    """A whole body built once per snapshot: 304 when the client has it (ETag), the gzip copy
    when the client accepts gzip (the compression middleware passes it through), else the
    plain one."""
    etag = f'"{_ctx(request).boot_id}-{view.version}-{variant}"'
    headers = {"Cache-Control": "no-cache", "ETag": etag, "Vary": "Accept-Encoding"}
    if _etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    if _accepts_gzip(request):
        return _raw(gzipped(), headers={**headers, "Content-Encoding": "gzip"})
    return _raw(plain(), headers=headers)


def _json(obj: Any, status: int = 200) -> Response:
    return _raw(orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY), status)


def parse_time(text: str | None, what: str, default: float | None = None) -> float | None:
    """Seconds since the epoch, or an ISO 8601 date-time (UTC when no zone is given)."""
    if text is None or text == "":
        return default
    try:
        v = float(text)
    except ValueError:
        try:
            d = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise BadRequestError(f"{what}: {text!r} is neither seconds since 1970 nor an ISO 8601 "
                             "date-time") from None
        if d.tzinfo is None:
            d = d.replace(tzinfo=UTC)
        v = d.timestamp()
    if not math.isfinite(v) or not 0 <= v < 4.1e9:
        raise BadRequestError(f"{what}: {text!r} is out of range")
    return v


def _window(since: float | None, until: float | None, max_s: float, what: str = "window",
            ) -> None:
    if since is not None and until is not None:
        if until <= since:
            raise BadRequestError(f"{what}: the end must be after the start")
        if until - since > max_s:
            raise BadRequestError(f"{what}: at most {max_s / 3600:g} hours at once")


def _hex_param(text: str) -> int:
    return parse_hex(text.lower(), "icao24")


def _icao_list(values: list[str] | None) -> list[int] | None:
    if not values:
        return None
    out: list[int] = []
    for v in values:
        out.extend(parse_hex_list(v, "icao24"))
    return out


def _now(state: LiveState) -> float:
    """'Now' for default windows: the snapshot's time once published (replays), else the
    clock."""
    return state.view().now if state.version else time.time()


def _hidden_icao(ctx: ServeContext, icao: np.ndarray) -> np.ndarray:
    """Mask of addresses that are PIA/LADD (for history reads)."""
    if icao.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    uniq, inv = np.unique(np.asarray(icao, np.uint32), return_inverse=True)
    hidden = ctx.state.identity.rows(uniq).hidden
    return np.asarray(hidden[inv], dtype=bool)


def create_app(
    state: LiveState,
    settings: ServeSettings | None = None,
    *,
    limits: Limits | None = None,
    static_dir: Path | None = None,
) -> FastAPI:
    """The FastAPI application serving ``state`` with ``settings`` (ServeSettings)."""
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
    _readsb_routes(app)
    _v2_routes(app)
    _opensky_routes(app)
    _native_routes(app)
    _live_routes(app)
    install_rules_routes(app)
    _web_routes(app, static)

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
    tile_origin = _origin(settings.tile_url)
    csp = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
           f"img-src 'self' data: blob:{' ' + tile_origin if tile_origin else ''}; "
           "worker-src 'self'; child-src 'self'; "
           f"connect-src 'self' ws: wss:{' ' + tile_origin if tile_origin else ''}; "
           "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
    app.add_middleware(SecurityMiddleware, token=settings.token, limits=limits, csp=csp,
                       stats=ctx.security_stats)
    return app


def _origin(url: str) -> str:
    m = re.match(r"^(https?://[^/{}]+)", url or "")
    return m.group(1) if m else ""


# --- errors ---------------------------------------------------------------------------------

def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(BadRequestError)
    async def bad_request(request: Request, exc: BadRequestError) -> Response:
        return _json({"error": "bad request", "detail": str(exc)}, 400)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "path"))
            got = e.get("input")
            parts.append(f"{loc}: {e.get('msg')}" + (f" (got {got!r})" if got is not None
                                                       and not isinstance(got, dict) else ""))
        return _json({"error": "bad request", "detail": "; ".join(parts)}, 400)

    @app.exception_handler(HistoryError)
    async def history_failed(request: Request, exc: HistoryError) -> Response:
        log.warning("%s", exc)
        return _json({"error": "history store unavailable", "detail": str(exc)}, 503)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _json({"error": exc.detail if isinstance(exc.detail, str) else "error"},
                     exc.status_code)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return _json({"error": "internal error"}, 500)


# --- readsb ---------------------------------------------------------------------------------

def _readsb_routes(app: FastAPI) -> None:
    @app.get("/data/aircraft.json", tags=["readsb"],
             summary="Every live aircraft, readsb aircraft.json format")
    async def aircraft_json(request: Request) -> Response:
        """``{"now", "messages", "aircraft": [...]}`` with readsb's keys (``hex``, ``flight``,
        ``alt_baro``, ``gs``, ``track``, ``lat``, ``lon``, ``squawk``, ``r``, ``t``,
        ``dbFlags``...), built (and gzip-compressed) once per snapshot; ``ETag`` /
        ``If-None-Match`` answer 304 while the snapshot has not changed."""
        ctx = _ctx(request)
        view = ctx.state.view()
        allow = ctx.allow_hidden(request.headers.get("authorization"))
        return _prebuilt(request, view, f"aircraft{int(allow)}",
                         lambda: fmt.aircraft_json(view, allow),
                         lambda: fmt.aircraft_json_gzip(view, allow))

    @app.get("/data/receiver.json", tags=["readsb"], summary="Receiver description")
    async def receiver_json(request: Request) -> Response:
        """``{"version", "refresh", "history", "lat", "lon"}`` (position when configured)."""
        return _json(fmt.receiver_json(_ctx(request).state.view()))

    async def re_api(request: Request) -> Response:
        t0 = time.perf_counter()
        ctx = _ctx(request)
        q = parse_readsb_query(list(request.query_params.multi_items()))
        if q.status:
            return _json({"status": "ok"})
        allow = ctx.allow_hidden(request.headers.get("authorization"))
        if ("pia" in q.flags or "ladd" in q.flags) and not allow:
            return _hidden_refused()
        view = ctx.state.view()
        rows, dst, direction = select_readsb(view, q, view.visible(allow))
        return _raw(fmt.readsb_api_body(view, rows, dst, direction, jv2=q.jv2, t_start=t0))

    app.add_api_route(
        "/re-api/", re_api, methods=["GET"], tags=["readsb"],
        summary="readsb query API (circle, closest, box, all, find_*, filters, jv2)",
        description="Exactly one base query: `circle=lat,lon,nm`, `closest=lat,lon,nm`, "
        "`box=latS,latN,lonW,lonE`, `all_with_pos`, `all`, `find_hex=h1,h2`, "
        "`find_callsign=`, `find_reg=`, `find_type=`; filters `filter_callsign_exact`, "
        "`filter_callsign_prefix`, `filter_squawk`, `filter_with_pos`, `filter_type`, "
        "`above_alt_baro`, `below_alt_baro`, `filter_mil|interesting|pia|ladd` (OR-ed); "
        "`jv2` for the ADSBx v2 envelope; `status` for a health check.",
    )
    app.add_api_route("/re-api", re_api, methods=["GET"], include_in_schema=False)


def _hidden_refused() -> Response:
    return _json({"error": "PIA/LADD aircraft are not shown by this server "
                  "(serve.show_pia_ladd is off; a token holder may see them)"}, 403)


# --- ADSBx v2 -------------------------------------------------------------------------------

def _v2(request: Request, select: Callable[[SnapshotView, np.ndarray], Any]) -> Response:
    t0 = time.perf_counter()
    ctx = _ctx(request)
    view = ctx.state.view()
    visible = view.visible(ctx.allow_hidden(request.headers.get("authorization")))
    out = select(view, visible)
    if isinstance(out, tuple):
        rows, dst, direction = out
        extra = fmt._extra(dst, direction)
    else:
        rows, extra = out, None
    objects = view.readsb_rows().join(rows, extra=extra)
    return _raw(fmt.jv2_body(view, objects, len(rows), t0))


def _v2_routes(app: FastAPI) -> None:
    tags: list[str | Enum] = ["ADSBx v2"]

    @app.get("/v2/hex/{hexes}", tags=tags, summary="Aircraft by ICAO address(es)")
    @app.get("/v2/icao/{hexes}", tags=tags, include_in_schema=False)
    async def v2_hex(request: Request, hexes: str) -> Response:
        """``/v2/hex/393322`` or several, comma-separated."""
        wanted = np.array(parse_hex_list(hexes.lower(), "hex"), dtype=np.uint32)
        return _v2(request, lambda v, vis: np.flatnonzero(np.isin(v.icao24, wanted) & vis))

    @app.get("/v2/callsign/{callsign}", tags=tags, summary="Aircraft by callsign")
    async def v2_callsign(request: Request, callsign: str) -> Response:
        words = np.array(parse_text_list(callsign, "callsign"), dtype=np.str_)
        return _v2(request, lambda v, vis: np.flatnonzero(
            np.isin(np.char.upper(v.callsign), words) & vis))

    @app.get("/v2/reg/{registration}", tags=tags, summary="Aircraft by registration")
    async def v2_reg(request: Request, registration: str) -> Response:
        from tailwatch.serve.select import norm_reg

        words = norm_reg(parse_text_list(registration, "registration"))

        def sel(v: SnapshotView, vis: np.ndarray) -> np.ndarray:
            regs = np.char.replace(np.char.replace(v.upper("registration"), "-", ""), " ", "")
            return np.flatnonzero(np.isin(regs, words) & vis)

        return _v2(request, sel)

    @app.get("/v2/type/{typecode}", tags=tags, summary="Aircraft by ICAO type designator")
    async def v2_type(request: Request, typecode: str) -> Response:
        words = np.array(parse_text_list(typecode, "type"), dtype=np.str_)

        def sel(v: SnapshotView, vis: np.ndarray) -> np.ndarray:
            return np.flatnonzero(np.isin(v.upper("typecode"), words) & vis)

        return _v2(request, sel)

    @app.get("/v2/sqk/{squawk}", tags=tags, summary="Aircraft by squawk")
    async def v2_sqk(request: Request, squawk: str) -> Response:
        sq = parse_squawk(squawk)
        return _v2(request, lambda v, vis: np.flatnonzero(
            (np.asarray(v.cols["squawk"]) == sq) & vis))

    @app.get("/v2/mil", tags=tags, summary="Military and state aircraft")
    async def v2_mil(request: Request) -> Response:
        """tailwatch's verdict: database flag, ICAO military block or military callsign."""
        return _v2(request, lambda v, vis: np.flatnonzero(v.ident.military & vis))

    @app.get("/v2/ladd", tags=tags, summary="LADD aircraft (token or show_pia_ladd only)")
    async def v2_ladd(request: Request) -> Response:
        if not _ctx(request).allow_hidden(request.headers.get("authorization")):
            return _hidden_refused()
        return _v2(request, lambda v, vis: np.flatnonzero(v.ident.ladd & vis))

    @app.get("/v2/pia", tags=tags, summary="PIA aircraft (token or show_pia_ladd only)")
    async def v2_pia(request: Request) -> Response:
        if not _ctx(request).allow_hidden(request.headers.get("authorization")):
            return _hidden_refused()
        return _v2(request, lambda v, vis: np.flatnonzero(v.ident.pia & vis))

    @app.get("/v2/point/{lat}/{lon}/{radius}", tags=tags,
             summary="Aircraft within a radius (NM, at most 250) of a point")
    @app.get("/v2/lat/{lat}/lon/{lon}/dist/{radius}", tags=tags, include_in_schema=False)
    async def v2_point(
        request: Request,
        lat: Annotated[float, PathParam(ge=-90, le=90)],
        lon: Annotated[float, PathParam(ge=-180, le=180)],
        radius: Annotated[float, PathParam(ge=0, le=100_000)],
    ) -> Response:
        """Nearest first, each with ``dst`` (NM) and ``dir`` (deg from the point); the radius
        is capped at 250 NM as on ADSBx-style services."""
        r = min(radius, MAX_V2_RADIUS_NM)

        def sel(v: SnapshotView, vis: np.ndarray) -> Any:
            rows, d, b = rows_circle(v, lat, lon, r)
            ok = vis[rows]
            return rows[ok], d[ok], b[ok]

        return _v2(request, sel)


# --- OpenSky --------------------------------------------------------------------------------

def _flight_opensky(f: dict[str, Any]) -> dict[str, Any]:
    def airport(x: Any) -> str | None:
        return str(x) if x else None

    def t(x: Any) -> int | None:
        return None if x is None else math.floor(float(x))

    cs = f.get("callsign") or None
    return {
        "icao24": f.get("icao24"),
        "firstSeen": t(f.get("first_seen")),
        "estDepartureAirport": airport(f.get("origin")),
        "lastSeen": t(f.get("last_seen")),
        "estArrivalAirport": airport(f.get("destination")),
        "callsign": f"{cs:<8}" if cs else None,
        "estDepartureAirportHorizDistance": None,
        "estDepartureAirportVertDistance": None,
        "estArrivalAirportHorizDistance": None,
        "estArrivalAirportVertDistance": None,
        "departureAirportCandidatesCount": 1 if f.get("origin") else 0,
        "arrivalAirportCandidatesCount": 1 if f.get("destination") else 0,
    }


def _visible_flights(ctx: ServeContext, flights: list[dict[str, Any]], allow: bool,
                     ) -> list[dict[str, Any]]:
    if allow or not flights:
        return flights
    icao = np.array([int(str(f.get("icao24") or "0"), 16) for f in flights], dtype=np.uint32)
    hidden = _hidden_icao(ctx, icao)
    return [f for f, h in zip(flights, hidden.tolist(), strict=True) if not h]


def _view_at(ctx: ServeContext, time_s: int) -> SnapshotView:
    """The live picture at ``time_s`` rebuilt from the history store (blocking: a thread)."""
    pos = ctx.state.history.positions(since=time_s - 60, until=time_s + 1e-3,
                                      limit=MAX_HISTORY_ROWS)
    return SnapshotView(snapshot_from_positions(pos, float(time_s)), ctx.state.identity,
                        ctx.state.receiver, -1)


def _opensky_routes(app: FastAPI) -> None:
    tags: list[str | Enum] = ["OpenSky"]

    @app.get("/api/states/all", tags=tags, summary="State vectors (OpenSky format)")
    async def states_all(
        request: Request,
        time_s: Annotated[int | None, Query(alias="time", ge=0, le=4_100_000_000)] = None,
        icao24: Annotated[list[str] | None, Query()] = None,
        lamin: Annotated[float | None, Query(ge=-90, le=90)] = None,
        lomin: Annotated[float | None, Query(ge=-180, le=180)] = None,
        lamax: Annotated[float | None, Query(ge=-90, le=90)] = None,
        lomax: Annotated[float | None, Query(ge=-180, le=180)] = None,
        extended: Annotated[int | None, Query(ge=0, le=1)] = None,
    ) -> Response:
        """``{"time", "states": [[icao24, callsign, origin_country, time_position,
        last_contact, longitude, latitude, baro_altitude, on_ground, velocity, true_track,
        vertical_rate, sensors, geo_altitude, squawk, spi, position_source(, category)]]}``
        in m, m/s and s. ``time`` in the past is answered from the history store. The
        unfiltered live answer is built (and gzip-compressed) once per snapshot; filters select
        from the pre-rendered rows."""
        ctx = _ctx(request)
        allow = ctx.allow_hidden(request.headers.get("authorization"))
        box = (lamin, lomin, lamax, lomax)
        if any(v is not None for v in box) and any(v is None for v in box):
            raise BadRequestError("give all four of lamin, lomin, lamax, lomax, or none")
        view = ctx.state.view()
        ext = bool(extended)
        if time_s is not None and ctx.state.version and abs(time_s - view.now) > 15:
            if time_s > view.now:
                raise BadRequestError("time: cannot answer for the future")
            view = await run_in_threadpool(_view_at, ctx, time_s)
        elif time_s is None and icao24 is None and lamin is None:
            live = view
            return _prebuilt(request, live, f"states{int(allow)}{int(ext)}",
                             lambda: fmt.opensky_all(live, allow, ext),
                             lambda: fmt.opensky_all_gzip(live, allow, ext))
        mask = view.visible(allow)
        wanted = _icao_list(icao24)
        if wanted is not None:
            mask &= np.isin(view.icao24, np.array(wanted, dtype=np.uint32))
        if lamin is not None and lamax is not None and lomin is not None and lomax is not None:
            from tailwatch.serve.select import mask_box

            if lamin > lamax:
                raise BadRequestError("lamin is north of lamax")
            mask &= mask_box(view, lamin, lamax, lomin, lomax)
        rows = None if bool(mask.all()) else np.flatnonzero(mask)
        return _raw(fmt.opensky_states_body(view, rows, ext, time_s))

    def _flights_between(request: Request, begin: int, end: int, max_s: float,
                         icao: list[int] | None = None) -> list[dict[str, Any]]:
        if end <= begin:
            raise BadRequestError("end must be after begin")
        if end - begin > max_s:
            raise BadRequestError(f"the interval may not exceed {max_s / 86400:g} days")
        ctx = _ctx(request)
        flights = ctx.state.history.flights(icao24=icao, since=begin, until=end)
        allow = ctx.allow_hidden(request.headers.get("authorization"))
        return _visible_flights(ctx, flights, allow)

    @app.get("/api/flights/all", tags=tags, summary="Flights in an interval (≤ 2 h)")
    def flights_all(request: Request, begin: Begin, end: Begin) -> Response:
        return _json([_flight_opensky(f) for f in
                      _flights_between(request, begin, end, 2 * 3600)])

    @app.get("/api/flights/aircraft", tags=tags, summary="Flights of one aircraft (≤ 30 days)")
    def flights_aircraft(request: Request, icao24: str, begin: Begin, end: Begin) -> Response:
        addr = _hex_param(icao24)
        return _json([_flight_opensky(f) for f in
                      _flights_between(request, begin, end, 30 * 86400, [addr])])

    def _airport(code: str) -> str:
        if not _AIRPORT_RE.match(code):
            raise BadRequestError(f"airport: {code!r} is not an ICAO airport code")
        return code.upper()

    @app.get("/api/flights/arrival", tags=tags, summary="Arrivals at an airport (≤ 7 days)")
    def flights_arrival(request: Request, airport: str, begin: Begin, end: Begin) -> Response:
        code = _airport(airport)
        flights = _flights_between(request, begin, end, 7 * 86400)
        return _json([_flight_opensky(f) for f in flights
                      if (f.get("destination") or "").upper() == code
                      and begin <= float(f.get("last_seen") or 0) <= end])

    @app.get("/api/flights/departure", tags=tags,
             summary="Departures from an airport (≤ 7 days)")
    def flights_departure(request: Request, airport: str, begin: Begin, end: Begin,
                          ) -> Response:
        code = _airport(airport)
        flights = _flights_between(request, begin, end, 7 * 86400)
        return _json([_flight_opensky(f) for f in flights
                      if (f.get("origin") or "").upper() == code
                      and begin <= float(f.get("first_seen") or 0) <= end])

    @app.get("/api/tracks/all", tags=tags, summary="Track of an aircraft (OpenSky format)")
    @app.get("/api/tracks", tags=tags, include_in_schema=False)
    def tracks_all(
        request: Request,
        icao24: str,
        time_s: Annotated[int, Query(alias="time", ge=0, le=4_100_000_000)] = 0,
    ) -> Response:
        """``{"icao24", "startTime", "endTime", "callsign", "path": [[time, latitude,
        longitude, baro_altitude, true_track, on_ground]]}``, thinned as OpenSky does.
        ``time=0``: the live track; otherwise the flight around ``time``."""
        ctx = _ctx(request)
        addr = _hex_param(icao24)
        allow = ctx.allow_hidden(request.headers.get("authorization"))
        if not allow and bool(_hidden_icao(ctx, np.array([addr], np.uint32))[0]):
            return _json({"error": "no track for this aircraft"}, 404)
        start, end = _track_span(ctx, addr, float(time_s))
        cols = ctx.state.history.positions(icao24=[addr], since=start, until=end,
                                           limit=MAX_HISTORY_ROWS)
        if cols["t"].shape[0] == 0:
            return _json({"error": "no track for this aircraft"}, 404)
        cs = np.char.strip(np.asarray(cols["callsign"], "S8").astype("U8"))
        named = [c for c in cs.tolist() if c]
        return _json({
            "icao24": f"{addr & 0xFFFFFF:06x}",
            "startTime": math.floor(float(cols["t"][0])),
            "endTime": math.floor(float(cols["t"][-1])),
            "callsign": f"{named[-1]:<8}" if named else None,
            "path": opensky_path(cols),
        })


def _track_span(ctx: ServeContext, addr: int, at: float) -> tuple[float, float]:
    """The time span of the flight of ``addr`` around ``at`` (0: the live one)."""
    state = ctx.state
    view = state.view()
    if at == 0:
        hit = np.flatnonzero(view.icao24 == addr)
        if hit.size:
            first = float(view.cols["first_seen"][hit[0]]) if "first_seen" in view.cols else (
                view.now - 86400)
            return first - 1, view.now + 1
        at = view.now if state.version else time.time()
    for f in state.history.flights(icao24=[addr], since=at - 86400, until=at + 86400):
        a, b = f.get("first_seen"), f.get("last_seen")
        if a is not None and b is not None and a - 60 <= at <= b + 60:
            return float(a) - 1, float(b) + 1
    # no flight record: the stretch of positions around `at` without a 30-minute gap
    cols = state.history.positions(icao24=[addr], since=at - 86400, until=at + 86400)
    t = cols["t"]
    if t.shape[0] == 0:
        return at - 1, at + 1
    cut = np.flatnonzero(np.diff(t) > 1800) + 1
    bounds = np.concatenate([[0], cut, [t.shape[0]]])
    k = int(np.clip(np.searchsorted(t, at, side="right") - 1, 0, t.shape[0] - 1))
    seg = int(np.searchsorted(bounds, k, side="right") - 1)
    return float(t[bounds[seg]]) - 1, float(t[bounds[seg + 1] - 1]) + 1


# --- native ---------------------------------------------------------------------------------

def _native_routes(app: FastAPI) -> None:
    tags: list[str | Enum] = ["native"]

    @app.get("/api/aircraft/{icao24}", tags=tags,
             summary="Everything about one aircraft: live state, identity, flights, events")
    def aircraft_detail(request: Request, icao24: str) -> Response:
        """Live state (null when not live), identity with the source of each field
        (registration, type, operator, country, military verdict and rule, annotations),
        recent flights and events, and export links. PIA/LADD aircraft answer 404 unless
        shown."""
        ctx = _ctx(request)
        addr = _hex_param(icao24)
        allow = ctx.allow_hidden(request.headers.get("authorization"))
        view = ctx.state.view()
        hit = np.flatnonzero(view.icao24 == addr)
        live = fmt.aircraft_record(view, int(hit[0])) if hit.size else None
        callsign = live["callsign"] if live else None
        ident = ctx.state.identity.detail(addr, callsign)
        if (ident["pia"] or ident["ladd"]) and not allow:
            return _json({"error": "no data for this aircraft"}, 404)
        now = _now(ctx.state)
        flights = ctx.state.history.flights(icao24=[addr], since=now - 7 * 86400, until=now)
        events = ctx.state.history.events(icao24=[addr], since=now - 7 * 86400, until=now)
        hexa = ident["icao24"]
        first = live["first_seen"] if live and live.get("first_seen") else now - 3600
        links = {f: f"/api/history?icao24={hexa}&since={first:.0f}&format={f}"
                 for f in EXPORT_FORMATS}
        for f in flights:
            fid = f.get("flight_id")
            f["exports"] = {e: f"/api/flights/{fid}.{e}" for e in EXPORT_FORMATS}
        return _json({"icao24": hexa, "live": live, "identity": ident, "flights": flights,
                      "events": events, "exports": links, "now": view.now})

    @app.get("/api/search", tags=tags, summary="Find live aircraft")
    async def search(
        request: Request,
        q: Annotated[str, Query(min_length=1, max_length=40,
                                description="hex, registration, callsign, type or operator")],
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Response:
        """Live aircraft whose address, callsign, registration, type or operator contains
        ``q`` (case-insensitive; exact matches first)."""
        ctx = _ctx(request)
        view = ctx.state.view()
        rows = search_rows(view, q, view.visible(
            ctx.allow_hidden(request.headers.get("authorization"))), limit)
        return _json({"q": q, "count": int(rows.shape[0]),
                      "aircraft": [fmt.aircraft_record(view, int(i)) for i in rows.tolist()]})

    @app.get("/api/flights", tags=tags, summary="Reconstructed flights")
    def flights(
        request: Request,
        icao24: Annotated[list[str] | None, Query()] = None,
        since: Since = None,
        until: Since = None,
        airport: str | None = None,
        callsign: str | None = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    ) -> Response:
        """Flights (``flight_id, icao24, callsign, first_seen, last_seen, origin,
        destination, takeoff_t, landing_t, ...``, times in UNIX seconds), newest first.
        Default window: the last 24 hours."""
        ctx = _ctx(request)
        now = _now(ctx.state)
        a = parse_time(since, "since", now - 86400)
        b = parse_time(until, "until", now + 60)
        icao = _icao_list(icao24)
        _window(a, b, MAX_WINDOW_ONE_S)
        rows = ctx.state.history.flights(icao24=icao, since=a, until=b)
        if airport:
            if not _AIRPORT_RE.match(airport):
                raise BadRequestError(f"airport: {airport!r} is not an airport code")
            code = airport.upper()
            rows = [f for f in rows if code in ((f.get("origin") or "").upper(),
                                                (f.get("destination") or "").upper())]
        if callsign:
            cs = callsign.strip().upper()
            rows = [f for f in rows if cs in (f.get("callsigns") or f.get("callsign") or "")
                    .upper()]
        rows = _visible_flights(ctx, rows, ctx.allow_hidden(
            request.headers.get("authorization")))
        rows.sort(key=lambda f: -(f.get("first_seen") or 0))
        for f in rows:
            f["exports"] = {e: f"/api/flights/{f.get('flight_id')}.{e}" for e in EXPORT_FORMATS}
        return _json({"count": len(rows[:limit]), "flights": rows[:limit]})

    @app.get("/api/flights/{flight_id}.{export}", tags=tags,
             summary="Export one flight (geojson, kml, csv)")
    def flight_export(request: Request, flight_id: str, export: str) -> Response:
        if export not in EXPORT_FORMATS:
            raise BadRequestError(f"format: {export!r} is not one of {', '.join(EXPORT_FORMATS)}")
        if not _FLIGHT_ID_RE.match(flight_id):
            raise BadRequestError(f"flight id {flight_id!r} has unexpected characters")
        ctx = _ctx(request)
        flight = ctx.state.history.flight(flight_id)
        if flight is None:
            return _json({"error": f"no flight {flight_id!r}"}, 404)
        addr = int(str(flight["icao24"]), 16)
        allow = ctx.allow_hidden(request.headers.get("authorization"))
        if not allow and bool(_hidden_icao(ctx, np.array([addr], np.uint32))[0]):
            return _json({"error": f"no flight {flight_id!r}"}, 404)
        cols = ctx.state.history.positions(
            icao24=[addr], since=flight["first_seen"],
            until=(flight.get("last_seen") or flight["first_seen"]) + 1e-3,
            limit=MAX_HISTORY_ROWS)
        ident = ctx.state.identity.detail(addr)
        meta = {"flight_id": flight_id, "icao24": f"{addr:06x}",
                "registration": ident["registration"], "typecode": ident["typecode"],
                "operator": ident["operator"], "country": ident["country"],
                "origin": flight.get("origin") or None,
                "destination": flight.get("destination") or None}
        return _raw(export_track(cols, export, meta), media_type=EXPORT_FORMATS[export],
                    headers={"Content-Disposition":
                             f'attachment; filename="{flight_id}.{export}"'})

    @app.get("/api/events", tags=tags, summary="Detected events")
    def events(
        request: Request,
        icao24: Annotated[list[str] | None, Query()] = None,
        since: Since = None,
        until: Since = None,
        type: Annotated[list[str] | None, Query(description="event type(s)")] = None,
        airport: str | None = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    ) -> Response:
        """Events (``t, icao24, flight_id, type, airport, lat, lon, details``), newest
        first. Default window: the last 24 hours."""
        ctx = _ctx(request)
        now = _now(ctx.state)
        a = parse_time(since, "since", now - 86400)
        b = parse_time(until, "until", now + 60)
        _window(a, b, MAX_WINDOW_ONE_S)
        kinds = None
        if type:
            kinds = [k for v in type for k in v.split(",") if k]
            bad = [k for k in kinds if k not in EVENT_TYPES]
            if bad:
                raise BadRequestError(f"type: unknown event type(s) {bad}; known: "
                                 f"{', '.join(EVENT_TYPES)}")
        if airport is not None and not _AIRPORT_RE.match(airport):
            raise BadRequestError(f"airport: {airport!r} is not an airport code")
        rows = ctx.state.history.events(icao24=_icao_list(icao24), since=a, until=b,
                                        types=kinds, airport=airport.upper() if airport else None)
        rows = _visible_flights(ctx, rows, ctx.allow_hidden(
            request.headers.get("authorization")))
        rows.sort(key=lambda e: -(e.get("t") or 0))
        return _json({"count": len(rows[:limit]), "events": rows[:limit]})

    @app.get("/api/history", tags=tags, summary="Stored positions (JSON columns or exports)")
    def history(
        request: Request,
        icao24: Annotated[list[str] | None, Query()] = None,
        since: Since = None,
        until: Since = None,
        box: Annotated[str | None, Query(description="south,west,north,east")] = None,
        every: Annotated[float, Query(ge=0, le=3600, description="thin to one position "
                                      "per aircraft per `every` seconds")] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_HISTORY_ROWS)] = 500_000,
        format: Annotated[str, Query(description="json, geojson, kml or csv")] = "json",
    ) -> Response:
        """Positions sorted by address then time. JSON is column-wise:
        ``{"count", "truncated", "since", "until", "columns": {"t": [...], "icao24": [...],
        "lat": [...], ...}}``. Exports need exactly one ``icao24``. Default window: the last
        hour; at most 6 hours for all aircraft, 31 days for chosen ones."""
        ctx = _ctx(request)
        now = _now(ctx.state)
        icao = _icao_list(icao24)
        a = parse_time(since, "since", now - 3600)
        b = parse_time(until, "until", now + 1)
        assert a is not None and b is not None
        _window(a, b, MAX_WINDOW_ALL_S if icao is None else MAX_WINDOW_ONE_S)
        bbox = None
        if box is not None:
            from tailwatch.serve.select import check_lat_lon, parse_floats

            s, w, n, e = parse_floats(box, "box", 4)
            check_lat_lon(s, w, "box")
            check_lat_lon(n, e, "box")
            if s > n:
                raise BadRequestError("box: south is north of north (order: south,west,north,east)")
            bbox = (s, w, n, e)
        if format != "json" and format not in EXPORT_FORMATS:
            raise BadRequestError(f"format: {format!r} is not json, geojson, kml or csv")
        if format != "json" and (icao is None or len(icao) != 1):
            raise BadRequestError("exports need exactly one icao24")
        cols = ctx.state.history.positions(icao24=icao, since=a, until=b, box=bbox,
                                           limit=limit + 1)
        truncated = cols["t"].shape[0] > limit
        if truncated:
            cols = {k: v[:limit] for k, v in cols.items()}
        if not ctx.allow_hidden(request.headers.get("authorization")):
            keep = ~_hidden_icao(ctx, cols["icao24"])
            if not bool(keep.all()):
                cols = {k: v[keep] for k, v in cols.items()}
        if every > 0:
            cols = thin_by_time(cols, every)
        if format != "json":
            assert icao is not None
            ident = ctx.state.identity.detail(icao[0])
            meta = {"icao24": ident["icao24"], "registration": ident["registration"],
                    "typecode": ident["typecode"], "operator": ident["operator"],
                    "country": ident["country"]}
            return _raw(export_track(cols, format, meta), media_type=EXPORT_FORMATS[format],
                        headers={"Content-Disposition":
                                 f'attachment; filename="{ident["icao24"]}-{int(a)}.{format}"'})
        return _raw(_history_json(cols, a, b, truncated))

    @app.get("/api/airports", tags=tags, summary="Airports (column-wise JSON, for the map)")
    def airports(request: Request) -> Response:
        """``{"icao": [...], "iata": [...], "name": [...], "lat": [...], "lon": [...]}``
        from the package's airport table."""
        ctx = _ctx(request)
        if ctx.airports_body is None:
            from tailwatch.reference.airports import airports as table

            t = table()
            ctx.airports_body = orjson.dumps({
                "icao": t.icao.tolist(), "iata": t.iata.tolist(),
                "name": [str(x) for x in t.name.tolist()],
                "lat": np.round(t.lat_deg, 4).tolist(), "lon": np.round(t.lon_deg, 4).tolist(),
            })
        return _raw(ctx.airports_body, headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/api/stats", tags=tags, summary="Counters")
    def stats(request: Request) -> Response:
        """Aircraft counts, tracker and ingest counters, history span, server counters."""
        ctx = _ctx(request)
        st = ctx.state
        view = st.view()
        span = None
        with contextlib.suppress(HistoryError):
            span = st.history.time_range()
        sec = dict(ctx.security_stats)
        return _json({
            "now": view.now,
            "version": __version__,
            "uptime_s": round(time.time() - st.started, 1),
            "snapshot": {"version": st.version, "age_s": _age(st)},
            "aircraft": view.n,
            "with_position": int(view.has_position.sum()),
            "military": int(view.ident.military.sum()),
            "hidden_pia_ladd": int(view.hidden.sum()),
            "messages": int(view.snapshot.counters.get("messages", 0)),
            "tracker": dict(view.snapshot.counters),
            "ingest": st.ingest_counters,
            "history": {"available": st.history.available,
                        "first": span[0] if span else None, "last": span[1] if span else None},
            "server": {**sec, "live_clients": len(ctx.hub.clients), **{
                f"live_{k}": v for k, v in ctx.hub.stats.items()}},
        })

    @app.get("/api/config", tags=tags, summary="Settings the web map needs")
    async def config(request: Request) -> Response:
        ctx = _ctx(request)
        rx = ctx.state.receiver
        return _json({
            "version": __version__,
            "tile_url": ctx.settings.tile_url or None,
            "show_pia_ladd": ctx.settings.show_pia_ladd,
            "history": ctx.state.history.available,
            "receiver": {"id": rx.id, "name": rx.name, "lat": rx.lat, "lon": rx.lon},
        })

    @app.get("/health", tags=tags, summary="Liveness")
    async def health(request: Request) -> Response:
        """``{"status": "ok" | "starting" | "stale", ...}``; 503 when the last snapshot is
        older than 30 s (the pipeline stalled)."""
        st = _ctx(request).state
        age = _age(st)
        status = "starting" if age is None else ("stale" if age > STALE_AFTER_S else "ok")
        return _json({"status": status, "snapshot_age_s": age, "aircraft": st.view().n,
                      "version": __version__}, 503 if status == "stale" else 200)

    @app.post("/api/admin/identity/reload", tags=["admin"],
              summary="Forget cached identities (token required)")
    async def reload_identity(request: Request) -> Response:
        """After the aircraft database or the annotations changed on disk."""
        ctx = _ctx(request)
        if not token_ok(ctx.settings.token, request.headers.get("authorization")):
            return _json({"error": "this needs 'Authorization: Bearer <token>'"}, 401)
        ctx.state.identity.clear()
        return _json({"status": "ok"})


def _age(st: LiveState) -> float | None:
    at = st.published_at
    return None if at is None else round(time.time() - at, 3)


def _history_json(cols: dict[str, np.ndarray], since: float, until: float,
                  truncated: bool) -> bytes:
    from tailwatch.core.schema import SOURCE_LABELS
    from tailwatch.serve.render import hex_strings

    n = int(cols["t"].shape[0])

    def nulls(a: np.ndarray, nd: int) -> list[Any]:
        r = np.round(np.asarray(a, np.float64), nd)
        return [None if v != v else v for v in r.tolist()]

    src = np.asarray(cols["source"]).astype(np.int64)
    labels = np.array([*SOURCE_LABELS, None], dtype=object)
    sq = np.asarray(cols["squawk"]).astype(np.int64)
    out = {
        "count": n,
        "truncated": truncated,
        "since": since,
        "until": until,
        "columns": {
            "t": np.round(np.asarray(cols["t"], np.float64), 3).tolist(),
            "icao24": hex_strings(cols["icao24"]).tolist(),
            "lat": nulls(cols["lat"], 6),
            "lon": nulls(cols["lon"], 6),
            "altitude_ft": nulls(cols["altitude_ft"], 0),
            "gs_kt": nulls(cols["gs_kt"], 1),
            "track_deg": nulls(cols["track_deg"], 1),
            "vrate_fpm": nulls(cols["vrate_fpm"], 0),
            "on_ground": (np.asarray(cols["on_ground"]) == 1).tolist(),
            "callsign": np.char.strip(np.asarray(cols["callsign"], "S8").astype("U8")).tolist(),
            "squawk": [f"{v:04d}" if v >= 0 else None for v in sq.tolist()],
            "source": labels[np.where((src >= 0) & (src < len(SOURCE_LABELS)), src,
                                      len(SOURCE_LABELS))].tolist(),
        },
    }
    return orjson.dumps(out)


# --- live -----------------------------------------------------------------------------------

def _live_routes(app: FastAPI) -> None:
    @app.websocket("/api/live")
    async def live(ws: WebSocket) -> None:
        """A snapshot on connect, then the changed aircraft after each publish. Token (for
        PIA/LADD when hidden) in ``Authorization`` or ``?token=``; ``?compress=gzip`` for
        gzip-compressed binary frames instead of JSON text frames."""
        ctx: ServeContext = ws.app.state.tw
        auth = ws.headers.get("authorization")
        token = ws.query_params.get("token")
        allow = ctx.allow_hidden(auth) or (
            bool(token) and token_ok(ctx.settings.token, f"Bearer {token}"))
        encoding = {"": "json", "gzip": "gzip"}.get(ws.query_params.get("compress", ""))
        if encoding is None:
            await ws.close(code=1008, reason="compress: only gzip")
            return
        # the first message (the whole snapshot) is built once per snapshot and class; build
        # it off the event loop, so that the first client after a publish blocks no one
        await run_in_threadpool(snapshot_payload, ctx.state.view(), allow, encoding)
        added = ctx.hub.add(allow, encoding)
        if added is None:
            await ws.close(code=1013)
            return
        client, first = added
        await ws.accept()
        receiver = asyncio.create_task(_drain(ws))
        try:
            await _send(ws, first)
            while True:
                getter = asyncio.create_task(client.queue.get())
                done, _ = await asyncio.wait({getter, receiver},
                                             return_when=asyncio.FIRST_COMPLETED)
                if receiver in done:
                    getter.cancel()
                    break
                msg = getter.result()
                if msg is None:  # dropped: too slow
                    await ws.close(code=1013, reason="too slow: dropped")
                    break
                await _send(ws, msg)
                client.sent += 1
        except (WebSocketDisconnect, RuntimeError, ConnectionError):
            pass
        finally:
            receiver.cancel()
            ctx.hub.remove(client)


async def _send(ws: WebSocket, payload: str | bytes) -> None:
    """One message: the same object for every client of a class (text or binary frame)."""
    if isinstance(payload, str):
        await ws.send_text(payload)
    else:
        await ws.send_bytes(payload)


async def _drain(ws: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            msg = await ws.receive()
            if msg.get("type") == "websocket.disconnect":
                return


# --- the web map ----------------------------------------------------------------------------

def _web_routes(app: FastAPI, static: Path) -> None:
    index = static / "index.html"
    reference: list[bytes] = []

    @app.get("/docs", include_in_schema=False)
    async def api_reference(request: Request) -> Response:
        """The API reference, rendered from /openapi.json (offline, no script)."""
        if not reference:
            from tailwatch.serve.apidocs import render_api_reference

            reference.append(render_api_reference(request.app.openapi()).encode())
        return _raw(reference[0], media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-cache"})

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        if not index.is_file():
            return _json({"error": "the web map is not built (python -m "
                          "tailwatch.serve.build_web)"}, 404)
        return FileResponse(index, media_type="text/html",
                            headers={"Cache-Control": "no-cache"})

    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")
