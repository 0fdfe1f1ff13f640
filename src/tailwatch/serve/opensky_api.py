"""OpenSky REST: ``/api/states/all``, ``/api/flights/{all,aircraft,arrival,departure}``,
``/api/tracks/all`` (the OpenSky REST API documentation and its official bindings are the
contract)."""

from __future__ import annotations

import math
import time
from enum import Enum
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tailwatch.serve import formats as fmt
from tailwatch.serve.context import (
    AIRPORT_RE,
    MAX_HISTORY_ROWS,
    Begin,
    ServeContext,
    ctx_of,
    hex_param,
    hidden_icao,
    icao_list,
    json_response,
    prebuilt,
    raw,
    view_at,
    visible_flights,
)
from tailwatch.serve.export import opensky_path
from tailwatch.serve.fields import OPENSKY_MAX_AGE_S
from tailwatch.serve.select import BadRequestError

__all__ = ["router"]

router = APIRouter()

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


tags: list[str | Enum] = ["OpenSky"]

_TRUE = frozenset({"1", "true", "True", "TRUE"})
_FALSE = frozenset({"0", "false", "False", "FALSE", ""})
#: a ``time`` this close to the live snapshot is answered from it
LIVE_WINDOW_S = 15


def _flag(value: str | None, what: str) -> bool:
    """OpenSky's boolean parameters, as its clients send them: 1/0, true/false, True/False."""
    if value is None or value in _FALSE:
        return False
    if value in _TRUE:
        return True
    raise BadRequestError(f"{what}: {value!r} is not a boolean (1, true or True; 0, false)")


async def _states(request: Request, time_s: int | None, icao24: list[str] | None,
                  box: tuple[float | None, float | None, float | None, float | None],
                  extended: str | None) -> Response:
    ctx = ctx_of(request)
    allow = ctx.allow_hidden(request.headers.get("authorization"))
    lamin, lomin, lamax, lomax = box
    if any(v is not None for v in box) and any(v is None for v in box):
        raise BadRequestError("give all four of lamin, lomin, lamax, lomax, or none")
    ext = _flag(extended, "extended")
    if time_s == 0:  # OpenSky: 0 = now (the official bindings always send it)
        time_s = None
    view = ctx.state.view()
    if time_s is not None and ctx.state.version and abs(time_s - view.now) > LIVE_WINDOW_S:
        if time_s > view.now:
            raise BadRequestError("time: cannot answer for the future")
        view = await run_in_threadpool(view_at, ctx, time_s)
    elif icao24 is None and lamin is None:
        live = view
        return prebuilt(request, live, f"states{int(allow)}{int(ext)}",
                        lambda: fmt.opensky_all(live, allow, ext),
                        lambda: fmt.opensky_all_gzip(live, allow, ext))
    mask = view.visible(allow) & view.opensky_listed()
    wanted = icao_list(icao24)
    if wanted is not None:
        mask &= np.isin(view.icao24, np.array(wanted, dtype=np.uint32))
    if lamin is not None and lamax is not None and lomin is not None and lomax is not None:
        from tailwatch.serve.select import mask_box

        if lamin > lamax:
            raise BadRequestError("lamin is north of lamax")
        # a position OpenSky still shows (15 s) inside the box
        mask &= (mask_box(view, lamin, lamax, lomin, lomax)
                 & view.fresh("position", OPENSKY_MAX_AGE_S))
    rows = None if bool(mask.all()) else np.flatnonzero(mask)
    return raw(fmt.opensky_states_body(view, rows, ext, time_s))


Time = Annotated[int | None, Query(alias="time", ge=0, le=4_100_000_000,
                                   description="UNIX seconds; 0 or absent: now")]
Icao24 = Annotated[list[str] | None, Query(description="repeat for several (or comma-"
                                           "separated)")]
Lat = Annotated[float | None, Query(ge=-90, le=90)]
Lon = Annotated[float | None, Query(ge=-180, le=180)]
Extended = Annotated[str | None, Query(description="1/true/True: add the category")]


@router.get("/api/states/all", tags=tags, summary="State vectors (OpenSky format)")
async def states_all(
    request: Request, time_s: Time = None, icao24: Icao24 = None, lamin: Lat = None,
    lomin: Lon = None, lamax: Lat = None, lomax: Lon = None, extended: Extended = None,
) -> Response:
    """``{"time", "states": [[icao24, callsign, origin_country, time_position,
    last_contact, longitude, latitude, baro_altitude, on_ground, velocity, true_track,
    vertical_rate, sensors, geo_altitude, squawk, spi, position_source(, category)]]}``
    in m, m/s and s, with OpenSky's validity rules (positions and velocities reused for 15 s,
    state vectors dropped after 15 s without either). ``time`` (other than 0) more than 15 s
    before the live snapshot is answered from the history store. The unfiltered live answer
    is built (and gzip-compressed) once per snapshot; filters select from the pre-rendered
    rows."""
    return await _states(request, time_s, icao24, (lamin, lomin, lamax, lomax), extended)


@router.get("/api/states/own", tags=tags, summary="State vectors of your own receivers")
async def states_own(
    request: Request, time_s: Time = None, icao24: Icao24 = None,
    serials: Annotated[list[int] | None, Query(description="not supported (400)")] = None,
    extended: Extended = None,
) -> Response:
    """Every receiver of a tailwatch installation is its owner's: the same answer as
    ``/api/states/all``. Filtering by receiver (``serials``) is not available: 400."""
    if serials:
        raise BadRequestError("serials: tailwatch does not keep which receiver heard each "
                              "aircraft; leave it out for every receiver's aircraft")
    return await _states(request, time_s, icao24, (None, None, None, None), extended)


#: OpenSky's longest intervals (docs/free/rest.rst of openskynetwork/opensky-api)
MAX_FLIGHTS_ALL_S = 2 * 3600
MAX_FLIGHTS_AIRCRAFT_S = 2 * 86400
MAX_FLIGHTS_AIRPORT_S = 2 * 86400


def _flights_between(request: Request, begin: int, end: int, max_s: float,
                     icao: list[int] | None = None) -> list[dict[str, Any]]:
    if end <= begin:
        raise BadRequestError("end must be after begin")
    if end - begin > max_s:
        span = f"{max_s / 3600:g} hours" if max_s < 86400 else f"{max_s / 86400:g} days"
        raise BadRequestError(f"The given time interval must not be larger than {span}!")
    ctx = ctx_of(request)
    flights = ctx.state.history.flights(icao24=icao, since=begin, until=end)
    allow = ctx.allow_hidden(request.headers.get("authorization"))
    return visible_flights(ctx, flights, allow)


def _flights_answer(flights: list[dict[str, Any]]) -> Response:
    """A list of flight objects; none: 404 with an empty body, as OpenSky answers (the
    official bindings read it as an empty list)."""
    if not flights:
        return Response(status_code=404)
    return json_response([_flight_opensky(f) for f in flights])


EMPTY_404: dict[int | str, dict[str, Any]] = {
    404: {"description": "No flight in the interval (empty body, as OpenSky)"}}


@router.get("/api/flights/all", tags=tags, summary="Flights in an interval (≤ 2 h)",
            responses=EMPTY_404)
def flights_all(request: Request, begin: Begin, end: Begin) -> Response:
    return _flights_answer(_flights_between(request, begin, end, MAX_FLIGHTS_ALL_S))


@router.get("/api/flights/aircraft", tags=tags, summary="Flights of one aircraft (≤ 2 days)",
            responses=EMPTY_404)
def flights_aircraft(request: Request, icao24: str, begin: Begin, end: Begin) -> Response:
    addr = hex_param(icao24)
    return _flights_answer(_flights_between(request, begin, end, MAX_FLIGHTS_AIRCRAFT_S,
                                            [addr]))


def _airport(code: str) -> str:
    if not AIRPORT_RE.match(code):
        raise BadRequestError(f"airport: {code!r} is not an ICAO airport code")
    return code.upper()


@router.get("/api/flights/arrival", tags=tags, summary="Arrivals at an airport (≤ 2 days)",
            responses=EMPTY_404)
def flights_arrival(request: Request, airport: str, begin: Begin, end: Begin) -> Response:
    code = _airport(airport)
    flights = _flights_between(request, begin, end, MAX_FLIGHTS_AIRPORT_S)
    return _flights_answer([f for f in flights
                            if (f.get("destination") or "").upper() == code
                            and begin <= float(f.get("last_seen") or 0) <= end])


@router.get("/api/flights/departure", tags=tags,
            summary="Departures from an airport (≤ 2 days)", responses=EMPTY_404)
def flights_departure(request: Request, airport: str, begin: Begin, end: Begin,
                      ) -> Response:
    code = _airport(airport)
    flights = _flights_between(request, begin, end, MAX_FLIGHTS_AIRPORT_S)
    return _flights_answer([f for f in flights
                            if (f.get("origin") or "").upper() == code
                            and begin <= float(f.get("first_seen") or 0) <= end])


@router.get("/api/tracks/all", tags=tags, summary="Track of an aircraft (OpenSky format)")
@router.get("/api/tracks/all/", tags=tags, include_in_schema=False)
@router.get("/api/tracks", tags=tags, include_in_schema=False)
@router.get("/api/tracks/", tags=tags, include_in_schema=False)  # pyopensky asks for this one
def tracks_all(
    request: Request,
    icao24: str,
    time_s: Annotated[int, Query(alias="time", ge=0, le=4_100_000_000)] = 0,
) -> Response:
    """``{"icao24", "startTime", "endTime", "callsign", "path": [[time, latitude,
    longitude, baro_altitude, true_track, on_ground]]}``, thinned as OpenSky does.
    ``time=0``: the live track; otherwise the flight around ``time``."""
    ctx = ctx_of(request)
    addr = hex_param(icao24)
    allow = ctx.allow_hidden(request.headers.get("authorization"))
    if not allow and bool(hidden_icao(ctx, np.array([addr], np.uint32))[0]):
        return json_response({"error": "no track for this aircraft"}, 404)
    start, end = _track_span(ctx, addr, float(time_s))
    cols = ctx.state.history.positions(icao24=[addr], since=start, until=end,
                                       limit=MAX_HISTORY_ROWS)
    if cols["t"].shape[0] == 0:
        return json_response({"error": "no track for this aircraft"}, 404)
    cs = np.char.strip(np.asarray(cols["callsign"], "S8").astype("U8"))
    named = [c for c in cs.tolist() if c]
    return json_response({
        "icao24": f"{addr & 0xFFFFFF:06x}",
        "startTime": math.floor(float(cols["t"][0])),
        "endTime": math.floor(float(cols["t"][-1])),
        "callsign": f"{named[-1]:<8}" if named else None,
        "path": opensky_path(cols),
    })

