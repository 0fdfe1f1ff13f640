"""tailwatch's own endpoints: aircraft detail, search, flights, events, history, exports,
airports, stats, config, health, identity reload."""

from __future__ import annotations

import contextlib
import re
import time
from enum import Enum
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tailwatch import __version__
from tailwatch.core.schema import EVENT_TYPES
from tailwatch.serve import formats as fmt
from tailwatch.serve.context import (
    AIRPORT_RE,
    MAX_HISTORY_ROWS,
    MAX_WINDOW_ALL_S,
    MAX_WINDOW_ONE_S,
    STALE_AFTER_S,
    Since,
    check_window,
    ctx_of,
    hex_param,
    hidden_icao,
    icao_list,
    json_response,
    now_of,
    parse_time,
    raw,
    visible_flights,
)
from tailwatch.serve.export import EXPORT_FORMATS, export_track
from tailwatch.serve.history import HistoryError, thin_by_time
from tailwatch.serve.security import token_ok
from tailwatch.serve.select import BadRequestError, search_rows
from tailwatch.serve.state import LiveState

__all__ = ["router"]

_FLIGHT_ID_RE = re.compile(r"^[A-Za-z0-9_.:~\-]{1,80}$")

router = APIRouter()

tags: list[str | Enum] = ["native"]

@router.get("/api/aircraft/{icao24}", tags=tags,
         summary="Everything about one aircraft: live state, identity, flights, events")
def aircraft_detail(request: Request, icao24: str) -> Response:
    """Live state (null when not live), identity with the source of each field
    (registration, type, operator, country, military verdict and rule, annotations),
    recent flights and events, and export links. PIA/LADD aircraft answer 404 unless
    shown."""
    ctx = ctx_of(request)
    addr = hex_param(icao24)
    allow = ctx.allow_hidden(request.headers.get("authorization"))
    view = ctx.state.view()
    hit = np.flatnonzero(view.icao24 == addr)
    live = fmt.aircraft_record(view, int(hit[0])) if hit.size else None
    callsign = live["callsign"] if live else None
    ident = ctx.state.identity.detail(addr, callsign)
    if (ident["pia"] or ident["ladd"]) and not allow:
        return json_response({"error": "no data for this aircraft"}, 404)
    now = now_of(ctx.state)
    flights = ctx.state.history.flights(icao24=[addr], since=now - 7 * 86400, until=now)
    events = ctx.state.history.events(icao24=[addr], since=now - 7 * 86400, until=now)
    hexa = ident["icao24"]
    first = live["first_seen"] if live and live.get("first_seen") else now - 3600
    links = {f: f"/api/history?icao24={hexa}&since={first:.0f}&format={f}"
             for f in EXPORT_FORMATS}
    for f in flights:
        fid = f.get("flight_id")
        f["exports"] = {e: f"/api/flights/{fid}.{e}" for e in EXPORT_FORMATS}
    return json_response({"icao24": hexa, "live": live, "identity": ident, "flights": flights,
                  "events": events, "exports": links, "now": view.now})

@router.get("/api/search", tags=tags, summary="Find live aircraft")
async def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=40,
                            description="hex, registration, callsign, type or operator")],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """Live aircraft whose address, callsign, registration, type or operator contains
    ``q`` (case-insensitive; exact matches first)."""
    ctx = ctx_of(request)
    view = ctx.state.view()
    rows = search_rows(view, q, view.visible(
        ctx.allow_hidden(request.headers.get("authorization"))), limit)
    return json_response({"q": q, "count": int(rows.shape[0]),
                  "aircraft": [fmt.aircraft_record(view, int(i)) for i in rows.tolist()]})

@router.get("/api/flights", tags=tags, summary="Reconstructed flights")
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
    ctx = ctx_of(request)
    now = now_of(ctx.state)
    a = parse_time(since, "since", now - 86400)
    b = parse_time(until, "until", now + 60)
    icao = icao_list(icao24)
    check_window(a, b, MAX_WINDOW_ONE_S)
    rows = ctx.state.history.flights(icao24=icao, since=a, until=b)
    if airport:
        if not AIRPORT_RE.match(airport):
            raise BadRequestError(f"airport: {airport!r} is not an airport code")
        code = airport.upper()
        rows = [f for f in rows if code in ((f.get("origin") or "").upper(),
                                            (f.get("destination") or "").upper())]
    if callsign:
        cs = callsign.strip().upper()
        rows = [f for f in rows if cs in (f.get("callsigns") or f.get("callsign") or "")
                .upper()]
    rows = visible_flights(ctx, rows, ctx.allow_hidden(
        request.headers.get("authorization")))
    rows.sort(key=lambda f: -(f.get("first_seen") or 0))
    for f in rows:
        f["exports"] = {e: f"/api/flights/{f.get('flight_id')}.{e}" for e in EXPORT_FORMATS}
    return json_response({"count": len(rows[:limit]), "flights": rows[:limit]})

@router.get("/api/flights/{flight_id}.{export}", tags=tags,
         summary="Export one flight (geojson, kml, csv)")
def flight_export(request: Request, flight_id: str, export: str) -> Response:
    if export not in EXPORT_FORMATS:
        raise BadRequestError(f"format: {export!r} is not one of {', '.join(EXPORT_FORMATS)}")
    if not _FLIGHT_ID_RE.match(flight_id):
        raise BadRequestError(f"flight id {flight_id!r} has unexpected characters")
    ctx = ctx_of(request)
    flight = ctx.state.history.flight(flight_id)
    if flight is None:
        return json_response({"error": f"no flight {flight_id!r}"}, 404)
    addr = int(str(flight["icao24"]), 16)
    allow = ctx.allow_hidden(request.headers.get("authorization"))
    if not allow and bool(hidden_icao(ctx, np.array([addr], np.uint32))[0]):
        return json_response({"error": f"no flight {flight_id!r}"}, 404)
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
    return raw(export_track(cols, export, meta), media_type=EXPORT_FORMATS[export],
                headers={"Content-Disposition":
                         f'attachment; filename="{flight_id}.{export}"'})

@router.get("/api/events", tags=tags, summary="Detected events")
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
    ctx = ctx_of(request)
    now = now_of(ctx.state)
    a = parse_time(since, "since", now - 86400)
    b = parse_time(until, "until", now + 60)
    check_window(a, b, MAX_WINDOW_ONE_S)
    kinds = None
    if type:
        kinds = [k for v in type for k in v.split(",") if k]
        bad = [k for k in kinds if k not in EVENT_TYPES]
        if bad:
            raise BadRequestError(f"type: unknown event type(s) {bad}; known: "
                             f"{', '.join(EVENT_TYPES)}")
    if airport is not None and not AIRPORT_RE.match(airport):
        raise BadRequestError(f"airport: {airport!r} is not an airport code")
    rows = ctx.state.history.events(icao24=icao_list(icao24), since=a, until=b,
                                    types=kinds, airport=airport.upper() if airport else None)
    rows = visible_flights(ctx, rows, ctx.allow_hidden(
        request.headers.get("authorization")))
    rows.sort(key=lambda e: -(e.get("t") or 0))
    return json_response({"count": len(rows[:limit]), "events": rows[:limit]})

@router.get("/api/history", tags=tags, summary="Stored positions (JSON columns or exports)")
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
    ctx = ctx_of(request)
    now = now_of(ctx.state)
    icao = icao_list(icao24)
    a = parse_time(since, "since", now - 3600)
    b = parse_time(until, "until", now + 1)
    assert a is not None and b is not None
    check_window(a, b, MAX_WINDOW_ALL_S if icao is None else MAX_WINDOW_ONE_S)
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
        keep = ~hidden_icao(ctx, cols["icao24"])
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
        return raw(export_track(cols, format, meta), media_type=EXPORT_FORMATS[format],
                    headers={"Content-Disposition":
                             f'attachment; filename="{ident["icao24"]}-{int(a)}.{format}"'})
    return raw(_history_json(cols, a, b, truncated))

@router.get("/api/airports", tags=tags, summary="Airports (column-wise JSON, for the map)")
def airports(request: Request) -> Response:
    """``{"icao": [...], "iata": [...], "name": [...], "lat": [...], "lon": [...]}``
    from the package's airport table."""
    ctx = ctx_of(request)
    if ctx.airports_body is None:
        from tailwatch.reference.airports import airports as table

        t = table()
        ctx.airports_body = orjson.dumps({
            "icao": t.icao.tolist(), "iata": t.iata.tolist(),
            "name": [str(x) for x in t.name.tolist()],
            "lat": np.round(t.lat_deg, 4).tolist(), "lon": np.round(t.lon_deg, 4).tolist(),
        })
    return raw(ctx.airports_body, headers={"Cache-Control": "public, max-age=86400"})

@router.get("/api/stats", tags=tags, summary="Counters")
def stats(request: Request) -> Response:
    """Aircraft counts, tracker and ingest counters, history span, server counters."""
    ctx = ctx_of(request)
    st = ctx.state
    view = st.view()
    span = None
    with contextlib.suppress(HistoryError):
        span = st.history.time_range()
    sec = dict(ctx.security_stats)
    return json_response({
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

@router.get("/api/config", tags=tags, summary="Settings the web map needs")
async def config(request: Request) -> Response:
    ctx = ctx_of(request)
    rx = ctx.state.receiver
    return json_response({
        "version": __version__,
        "tile_url": ctx.settings.tile_url or None,
        "show_pia_ladd": ctx.settings.show_pia_ladd,
        "history": ctx.state.history.available,
        "receiver": {"id": rx.id, "name": rx.name, "lat": rx.lat, "lon": rx.lon},
    })

@router.get("/health", tags=tags, summary="Liveness")
async def health(request: Request) -> Response:
    """``{"status": "ok" | "starting" | "stale", ...}``; 503 when the last snapshot is
    older than 30 s (the pipeline stalled)."""
    st = ctx_of(request).state
    age = _age(st)
    status = "starting" if age is None else ("stale" if age > STALE_AFTER_S else "ok")
    return json_response({"status": status, "snapshot_age_s": age, "aircraft": st.view().n,
                  "version": __version__}, 503 if status == "stale" else 200)

@router.post("/api/admin/identity/reload", tags=["admin"],
          summary="Forget cached identities (token required)")
def reload_identity(request: Request) -> Response:
    """After the aircraft database or the annotations changed on disk (the store's aircraft
    database is also looked at again every 30 s)."""
    ctx = ctx_of(request)
    if not token_ok(ctx.settings.token, request.headers.get("authorization")):
        return json_response({"error": "this needs 'Authorization: Bearer <token>'"}, 401)
    ctx.state.identity.refresh(force=True)  # the store's aircraft database, if any
    ctx.state.identity.clear()
    return json_response({"status": "ok"})



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


@router.post("/api/admin/aircraft-db/update", tags=["admin"],
             summary="Download the aircraft database into the store (token required)")
def update_aircraft_db(request: Request) -> Response:
    """``tailwatch db update`` run by the server itself (the process that holds the store):
    downloads ``reference.aircraft_db_url`` (tar1090-db's aircraft.csv.gz), replaces the rows
    of the previous download and makes identities use it at once. ``{"rows", "rejects"}``;
    503 when there is no store or the download fails."""
    ctx = ctx_of(request)
    if not token_ok(ctx.settings.token, request.headers.get("authorization")):
        return json_response({"error": "this needs 'Authorization: Bearer <token>'"}, 401)
    store = ctx.state.history.store
    if store is None:
        return json_response({"error": "no history store to keep the database in"}, 503)
    from tailwatch.config import load_settings
    from tailwatch.core.errors import TailwatchError
    from tailwatch.history.dbtable import update_db

    url = load_settings().reference.aircraft_db_url
    try:
        rows, rejects = update_db(store, url)
    except (TailwatchError, ValueError, OSError) as e:
        return json_response({"error": f"aircraft database update failed: {e}"}, 503)
    ctx.state.identity.refresh(force=True)
    ctx.state.identity.clear()
    return json_response({"status": "ok", "url": url, "rows": rows, "rejects": dict(rejects)})
