"""What the web map needs from the history store that the rest of the API does not give:
``router`` (a FastAPI ``APIRouter``, mounted by ``create_app``), under ``/api/map/``.

* ``GET /api/map/search?q=`` — live aircraft *and* aircraft only in the store (aircraft table,
  flights' callsigns, an exact address, an exact registration from the aircraft database)
* ``GET /api/map/track/{icao24}`` — the stored track of the day (or a window), in seen segments
* ``GET /api/map/itinerary/{icao24}?days=7`` — flights of the last days with their airports,
  stops, seen segments and the unseen legs between them (drawn dashed)
* ``GET /api/map/report/{icao24}.zip`` — the evidence report (tailwatch.report) as a zip
* ``GET /api/map/events`` — the events feed with the aircraft's identity and feed classes
  (military, emergency, stop, gnss)
* ``GET /api/map/heatmap?box=`` — stored positions in view counted on a grid
* ``GET /api/map/coverage`` — each receiver's measured coverage outline (farthest position per
  bearing sector)
* ``GET /api/map/layers`` — the optional layer scripts present in static/ (``gnss.js``, ...),
  which the page then loads (no request for a file that is not there)
* ``GET /api/map/positions.bin`` — every drawn aircraft's position, altitude, track, flags,
  category, type and callsign as binary columns, built once per snapshot (the map's fast path
  for big worlds: no JSON to parse, no objects to walk)

Every read goes through ``state.history`` (serve/history.py); PIA/LADD aircraft are left out
unless the server shows them or the request carries the token, as everywhere else.
"""

from __future__ import annotations

import io
import itertools
import math
import tempfile
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tailwatch.serve.select import BadRequestError, check_lat_lon, parse_floats, parse_hex

__all__ = ["FEED_CLASSES", "coverage_outline", "heat_grid", "router", "split_segments"]

router = APIRouter(prefix="/api/map", tags=["map"])

JSON = "application/json"
DAY_S = 86400.0
#: positions further apart in time than this start a new seen segment
GAP_S = 600.0
MAX_TRACK_WINDOW_S = 2 * DAY_S
MAX_ITINERARY_DAYS = 31
MAX_HEAT_WINDOW_S = 24 * 3600.0
MAX_HEAT_ROWS = 3_000_000
MAX_COVERAGE_WINDOW_S = 7 * DAY_S
MAX_COVERAGE_ROWS = 5_000_000
EARTH_RADIUS_NM = 3440.065
#: the event types of each class of the events feed (military is a property of the aircraft)
FEED_CLASSES: dict[str, tuple[str, ...]] = {
    "emergency": ("emergency",),
    "stop": ("stopover", "inferred_stop", "landing", "takeoff"),
    "gnss": ("gnss_degradation", "implausible_position"),
    "alert": ("alert", "military_at_civil_airport", "orbit"),
}
_report_lock = threading.Lock()
STATIC_DIR = Path(__file__).parent / "static"
#: layer scripts other features may drop into static/ (the map loads those present)
OPTIONAL_LAYERS = ("gnss.js", "mlat.js")


# --- helpers --------------------------------------------------------------------------------

def _json(obj: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status,
                    media_type=JSON)


def _ctx(request: Request) -> Any:
    return request.app.state.tw


def _allow(request: Request) -> bool:
    return bool(_ctx(request).allow_hidden(request.headers.get("authorization")))


def _now(request: Request) -> float:
    """'Now': the live snapshot's time once published (replays), else the clock."""
    import time

    state = _ctx(request).state
    return float(state.view().now) if state.version else time.time()


def _addr(text: str) -> int:
    return parse_hex(text.strip().lower(), "icao24")


def _hidden(request: Request, icao: npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:
    """Mask of the addresses this request may not see (PIA/LADD)."""
    if icao.shape[0] == 0 or _allow(request):
        return np.zeros(icao.shape[0], dtype=bool)
    uniq, inv = np.unique(np.asarray(icao, np.uint32), return_inverse=True)
    hidden = _ctx(request).state.identity.rows(uniq).hidden
    return np.asarray(hidden[inv], dtype=bool)


def _refuse_hidden(request: Request, addr: int) -> Response | None:
    if bool(_hidden(request, np.array([addr], np.uint32))[0]):
        return _json({"error": "no data for this aircraft"}, 404)
    return None


def _window(since: float | None, until: float | None, default_since: float, now: float,
            max_s: float) -> tuple[float, float]:
    a = default_since if since is None else float(since)
    b = now + 1 if until is None else float(until)
    if not (math.isfinite(a) and math.isfinite(b)):
        raise BadRequestError("since/until: not finite")
    if b <= a:
        raise BadRequestError("until must be after since")
    if b - a > max_s:
        raise BadRequestError(f"window: at most {max_s / 3600:g} hours at once")
    return a, b


def _box(text: str) -> tuple[float, float, float, float]:
    s, w, n, e = parse_floats(text, "box", 4)
    check_lat_lon(s, w, "box")
    check_lat_lon(n, e, "box")
    if s > n:
        raise BadRequestError("box: south is north of north (order: south,west,north,east)")
    return s, w, n, e


def _nulls(a: npt.ArrayLike, nd: int) -> list[Any]:
    r = np.round(np.asarray(a, np.float64), nd)
    return [None if v != v else v for v in r.tolist()]


def _is_mlat(source: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    from tailwatch.core.schema import SOURCE_LABELS

    out: npt.NDArray[np.bool_] = np.asarray(source).astype(np.int64) == SOURCE_LABELS.index(
        "mlat")
    return out


# --- pure computations (tested directly) ----------------------------------------------------

def split_segments(t: npt.NDArray[np.float64], gap_s: float = GAP_S) -> list[tuple[int, int]]:
    """[start, stop) index ranges of ``t`` (sorted) without a gap longer than ``gap_s``."""
    n = int(t.shape[0])
    if n == 0:
        return []
    cut = np.flatnonzero(np.diff(t) > gap_s) + 1
    bounds = [0, *cut.tolist(), n]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def heat_grid(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64],
              box: tuple[float, float, float, float], cells: int
              ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64],
                         npt.NDArray[np.int64], float]:
    """Positions counted on a grid of about ``cells`` × ``cells`` square cells over ``box``:
    (cell centre lat, lon, count, cell size in degrees) of the non-empty cells."""
    s, w, n, e = box
    width = (e - w) % 360.0 or 360.0
    size = max(width, n - s) / max(cells, 1)
    ok = np.isfinite(lat) & np.isfinite(lon)
    la, lo = lat[ok], lon[ok]
    i = np.floor((la - s) / size).astype(np.int64)
    j = np.floor(((lo - w) % 360.0) / size).astype(np.int64)
    ncol = math.ceil(width / size) + 1
    key = i * ncol + j
    uniq, count = np.unique(key, return_counts=True)
    ci, cj = uniq // ncol, uniq % ncol
    clat = s + (ci + 0.5) * size
    clon = (w + (cj + 0.5) * size + 180.0) % 360.0 - 180.0
    return clat, clon, count.astype(np.int64), float(size)


def coverage_outline(lat0: float, lon0: float, lat: npt.NDArray[np.float64],
                     lon: npt.NDArray[np.float64], sectors: int = 72, quantile: float = 0.99,
                     ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The measured coverage of a receiver at (lat0, lon0): per bearing sector, the
    ``quantile`` of the distances (NM) of the positions heard in it (a high quantile rather
    than the maximum: one bad position does not make the outline). Returns (bearing of the
    sector centre in degrees, range in NM; NaN where nothing was heard)."""
    ok = np.isfinite(lat) & np.isfinite(lon)
    p1, p2 = math.radians(lat0), np.radians(lat[ok])
    dl = np.radians(lon[ok] - lon0)
    a = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    dist = 2 * EARTH_RADIUS_NM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    brg = np.degrees(np.arctan2(np.sin(dl) * np.cos(p2),
                                math.cos(p1) * np.sin(p2) - math.sin(p1) * np.cos(p2)
                                * np.cos(dl))) % 360.0
    sector = np.minimum((brg / (360.0 / sectors)).astype(np.int64), sectors - 1)
    order = np.lexsort((dist, sector))
    sector, dist = sector[order], dist[order]
    rng = np.full(sectors, np.nan)
    starts = np.searchsorted(sector, np.arange(sectors), side="left")
    stops = np.searchsorted(sector, np.arange(sectors), side="right")
    for k in range(sectors):  # per sector, not per position
        m = int(stops[k] - starts[k])
        if m:
            rng[k] = float(dist[int(starts[k]) + min(m - 1, int(quantile * (m - 1) + 0.5))])
    centres = (np.arange(sectors, dtype=np.float64) + 0.5) * (360.0 / sectors)
    return centres, rng.astype(np.float64)


def destination(lat0: float, lon0: float, bearing_deg: npt.NDArray[np.float64],
                dist_nm: npt.NDArray[np.float64]
                ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Points at ``dist_nm`` along ``bearing_deg`` from (lat0, lon0) on the sphere."""
    d = dist_nm / EARTH_RADIUS_NM
    b = np.radians(bearing_deg)
    p1, l1 = math.radians(lat0), math.radians(lon0)
    p2 = np.arcsin(math.sin(p1) * np.cos(d) + math.cos(p1) * np.sin(d) * np.cos(b))
    l2 = l1 + np.arctan2(np.sin(b) * np.sin(d) * math.cos(p1), np.cos(d) - math.sin(p1)
                         * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 540.0) % 360.0 - 180.0


# --- search ---------------------------------------------------------------------------------

@router.get("/search", summary="Find aircraft, live or in the store")
def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=40,
                            description="hex, registration, callsign, type or operator")],
    limit: Annotated[int, Query(ge=1, le=200)] = 30,
    days: Annotated[float, Query(gt=0, le=31, description="how far back in the store")] = 7,
) -> Response:
    """``{"q", "live": [native records], "stored": [{"icao24", "registration", "typecode",
    "operator", "callsign", "last_seen", "military", "why"}]}``: live aircraft as
    ``/api/search`` finds them, and aircraft seen in the last ``days`` that are not live now
    (from the store's aircraft and flights tables; an exact address or registration is
    looked up in the store's positions)."""
    from tailwatch.serve import formats as fmt
    from tailwatch.serve.select import search_rows

    ctx = _ctx(request)
    view = ctx.state.view()
    allow = _allow(request)
    rows = search_rows(view, q, view.visible(allow), limit)
    live = [fmt.aircraft_record(view, int(i)) for i in rows.tolist()]
    live_hex = {r["icao24"] for r in live} | {f"{int(a):06x}" for a in view.icao24.tolist()}
    now = _now(request)
    since = now - days * DAY_S
    needle = q.strip().upper()
    plain = needle.replace("-", "").replace(" ", "")
    found: dict[str, dict[str, Any]] = {}

    def add(hexa: str, why: str, **kw: Any) -> None:
        if hexa in live_hex:
            return
        entry = found.setdefault(hexa, {"icao24": hexa, "why": why})
        for k, v in kw.items():
            if v not in (None, "") and entry.get(k) in (None, ""):
                entry[k] = v

    hist = ctx.state.history
    if hist.available:
        store = hist.store
        table = store.aircraft(since=since, until=now + 1)
        for r in table.to_pylist():
            fields = [str(r.get(k) or "").upper() for k in ("icao24", "registration",
                                                             "typecode", "operator")]
            reg = fields[1].replace("-", "").replace(" ", "")
            if any(needle in f for f in fields) or (plain and plain in reg):
                last = r.get("last_seen")
                add(str(r["icao24"]), "aircraft", registration=r.get("registration"),
                    typecode=r.get("typecode"), operator=r.get("operator"),
                    last_seen=last.timestamp() if hasattr(last, "timestamp") else last)
        for f in hist.flights(since=since, until=now + 1):
            calls = str(f.get("callsigns") or f.get("callsign") or "").upper()
            if needle in calls or needle in str(f.get("icao24") or "").upper():
                add(str(f["icao24"]), "flight", callsign=f.get("callsign"),
                    last_seen=f.get("last_seen"))
        exact: list[int] = []
        if len(needle) == 6 and all(c in "0123456789ABCDEF" for c in needle):
            exact.append(int(needle, 16))
        db = getattr(ctx.state.identity, "db", None)
        if db is not None and len(plain) >= 3:
            import pyarrow.compute as pc

            t = db.table
            if "registration" in t.column_names and "icao24" in t.column_names:
                norm = pc.replace_substring(pc.utf8_upper(t.column("registration")), "-", "")
                hit = t.filter(pc.fill_null(pc.equal(norm, plain), False))
                exact.extend(int(x) if isinstance(x, int) else int(str(x), 16)
                             for x in hit.column("icao24").to_pylist()[:5])
        for addr in exact[:6]:
            cols = hist.positions(icao24=[addr], since=since, until=now + 1)
            if cols["t"].shape[0]:
                named = [c for c in np.char.strip(np.asarray(cols["callsign"], "S8")
                                                  .astype("U8")).tolist() if c]
                add(f"{addr:06x}", "positions", last_seen=float(cols["t"][-1]),
                    callsign=named[-1] if named else None)
    stored = list(found.values())
    if stored:
        icao = np.array([int(s["icao24"], 16) for s in stored], np.uint32)
        rows_id = ctx.state.identity.rows(icao)
        hidden = rows_id.hidden if not allow else np.zeros(icao.shape[0], bool)
        regs, types = rows_id.strings("registration"), rows_id.strings("typecode")
        for k, s in enumerate(stored):
            s["military"] = bool(rows_id.military[k])
            s.setdefault("registration", regs[k])
            s.setdefault("typecode", types[k])
        stored = [s for k, s in enumerate(stored) if not hidden[k]]
        stored.sort(key=lambda s: -(s.get("last_seen") or 0))
    return _json({"q": q, "live": live, "stored": stored[:limit]})


# --- the track of the day and the itinerary -------------------------------------------------

def _track_payload(cols: dict[str, np.ndarray], gap_s: float) -> dict[str, Any]:
    t = np.asarray(cols["t"], np.float64)
    alt = np.where(np.asarray(cols["on_ground"]) == 1, 0.0,
                   np.asarray(cols["altitude_ft"], np.float64))
    return {
        "count": int(t.shape[0]),
        "segments": split_segments(t, gap_s),
        "columns": {"t": np.round(t, 1).tolist(), "lat": _nulls(cols["lat"], 5),
                    "lon": _nulls(cols["lon"], 5), "altitude_ft": _nulls(alt, 0),
                    "mlat": _is_mlat(cols["source"]).tolist()},
    }


def _sorted_positions(request: Request, addr: int, since: float, until: float,
                      every_s: float) -> dict[str, np.ndarray]:
    from tailwatch.serve.history import thin_by_time

    cols = _ctx(request).state.history.positions(icao24=[addr], since=since, until=until)
    keep = np.isfinite(np.asarray(cols["lat"], np.float64))
    cols = {k: v[keep] for k, v in cols.items()}
    return thin_by_time(cols, every_s) if every_s > 0 else cols


@router.get("/track/{icao24}", summary="Stored track of one aircraft (default: today, UTC)")
def track(
    request: Request,
    icao24: str,
    since: Annotated[float | None, Query(ge=0, description="UNIX s (default 00:00Z)")] = None,
    until: Annotated[float | None, Query(ge=0, description="UNIX s (default now)")] = None,
    every: Annotated[float, Query(ge=0, le=600)] = 2,
) -> Response:
    """``{"icao24", "since", "until", "count", "segments": [[start, stop], …], "columns":
    {"t", "lat", "lon", "altitude_ft" (0 on the ground), "mlat"}}``; a segment is a stretch
    without a gap longer than 10 min."""
    addr = _addr(icao24)
    if (refused := _refuse_hidden(request, addr)) is not None:
        return refused
    now = _now(request)
    a, b = _window(since, until, math.floor(now / DAY_S) * DAY_S, now, MAX_TRACK_WINDOW_S)
    cols = _sorted_positions(request, addr, a, b, every)
    return _json({"icao24": f"{addr:06x}", "since": a, "until": b,
                  **_track_payload(cols, GAP_S)})


def _airport_point(code: str) -> dict[str, Any] | None:
    from tailwatch.reference.airports import airport

    if not code:
        return None
    try:
        ap = airport(code)
    except (KeyError, ValueError):
        return None
    return {"icao": code, "name": str(ap.name), "lat": float(ap.lat_deg),
            "lon": float(ap.lon_deg)}


def unseen_legs(t: npt.NDArray[np.float64], lat: npt.NDArray[np.float64],
                lon: npt.NDArray[np.float64], segments: Sequence[tuple[int, int]],
                stops: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Between consecutive seen segments: the leg from the last position of one to the first
    of the next, through the inferred stops of the gap (as the evidence report draws it)."""
    legs = []
    for (_, a_stop), (b_start, _) in itertools.pairwise(segments):
        t0, t1 = float(t[a_stop - 1]), float(t[b_start])
        via = [[float(e["lon"]), float(e["lat"])] for e in stops
               if e.get("lat") is not None and e.get("lon") is not None
               and t0 <= float(e.get("t") or t0) <= t1]
        legs.append({"from_t": t0, "to_t": t1, "hours": round((t1 - t0) / 3600, 2),
                     "coordinates": [[float(lon[a_stop - 1]), float(lat[a_stop - 1])], *via,
                                     [float(lon[b_start]), float(lat[b_start])]]})
    return legs


@router.get("/itinerary/{icao24}", summary="Flights of the last days, stops, unseen legs")
def itinerary(
    request: Request,
    icao24: str,
    days: Annotated[float, Query(gt=0, le=MAX_ITINERARY_DAYS)] = 7,
    until: Annotated[float | None, Query(ge=0)] = None,
) -> Response:
    """``{"icao24", "identity", "flights": [flight + "origin_airport", "destination_airport"],
    "stops": [events stopover / inferred_stop], "airports": [{icao, name, lat, lon}],
    "track": {segments, columns} (one position per 30 s), "legs": [unseen legs through
    inferred stops, with coordinates [lon, lat]], "report": the report's URL}``."""
    addr = _addr(icao24)
    if (refused := _refuse_hidden(request, addr)) is not None:
        return refused
    ctx = _ctx(request)
    now = _now(request) if until is None else float(until)
    since = now - days * DAY_S
    hist = ctx.state.history
    flights = hist.flights(icao24=[addr], since=since, until=now + 1)
    flights.sort(key=lambda f: f.get("first_seen") or 0)
    events = hist.events(icao24=[addr], since=since, until=now + 1)
    stops = [e for e in events if e.get("type") in ("stopover", "inferred_stop")]
    airports: dict[str, dict[str, Any]] = {}
    for f in flights:
        for key in ("origin", "destination"):
            p = _airport_point(str(f.get(key) or ""))
            f[f"{key}_airport"] = p
            if p is not None:
                airports[p["icao"]] = p
    for e in stops:
        p = _airport_point(str(e.get("airport") or ""))
        if p is not None:
            airports.setdefault(p["icao"], p)
    cols = _sorted_positions(request, addr, since, now + 1, 30.0)
    payload = _track_payload(cols, GAP_S)
    t = np.asarray(cols["t"], np.float64)
    legs = unseen_legs(t, np.asarray(cols["lat"], np.float64),
                       np.asarray(cols["lon"], np.float64), payload["segments"], stops)
    ident = ctx.state.identity.detail(addr)
    return _json({"icao24": f"{addr:06x}", "since": since, "until": now, "identity": ident,
                  "flights": flights, "stops": stops, "airports": list(airports.values()),
                  "track": payload, "legs": legs,
                  "report": f"/api/map/report/{addr:06x}.zip?since={since:.0f}&until="
                            f"{now + 1:.0f}"})


@router.get("/report/{icao24}.zip", summary="Evidence report of one aircraft (zip)")
def report(
    request: Request,
    icao24: str,
    since: Annotated[float | None, Query(ge=0)] = None,
    until: Annotated[float | None, Query(ge=0)] = None,
) -> Response:
    """The evidence report (route and profile pictures, GeoJSON/KML/CSV track, summary in
    Markdown and HTML, SHA-256 of every file) of the aircraft's stored history in the window
    (default the last 7 days), as ``tailwatch report`` writes it, zipped. One report is made
    at a time (429 while another is being made); nothing is kept on the server."""
    from tailwatch.report.evidence import ReportInput, write_report

    addr = _addr(icao24)
    if (refused := _refuse_hidden(request, addr)) is not None:
        return refused
    now = _now(request)
    a, b = _window(since, until, now - 7 * DAY_S, now, MAX_ITINERARY_DAYS * DAY_S)
    hist = _ctx(request).state.history
    cols = hist.positions(icao24=[addr], since=a, until=b)
    if cols["t"].shape[0] == 0:
        return _json({"error": f"no stored positions of {addr:06x} in that window"}, 404)
    order = np.argsort(cols["t"], kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    lo, hi = float(cols["t"][0]), float(cols["t"][-1])
    flights = [f for f in hist.flights(icao24=[addr], since=a, until=b)
               if (f.get("last_seen") or 0) >= lo and (f.get("first_seen") or 0) <= hi]
    events = hist.events(icao24=[addr], since=a, until=b)
    ident = _ctx(request).state.identity.detail(addr)
    inp = ReportInput(f"{addr:06x}", cols, flights, events, ident)
    if not _report_lock.acquire(blocking=False):
        return _json({"error": "a report is being made; try again in a few seconds"}, 429)
    try:
        with tempfile.TemporaryDirectory(prefix="tailwatch-report-") as tmp:
            out = Path(tmp)
            write_report(inp, out)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                for p in sorted(out.iterdir()):
                    z.write(p, f"{addr:06x}/{p.name}")
    finally:
        _report_lock.release()
    name = f"tailwatch-report-{addr:06x}-{int(a)}.zip"
    return Response(buf.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- events feed ----------------------------------------------------------------------------

@router.get("/events", summary="Events feed with identity and feed classes")
def events(
    request: Request,
    since: Annotated[float | None, Query(ge=0)] = None,
    until: Annotated[float | None, Query(ge=0)] = None,
    classes: Annotated[str | None, Query(description="comma-separated: military, emergency, "
                                         "stop, gnss, alert (any of them)")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 300,
) -> Response:
    """``{"count", "events": [{t, icao24, type, airport, lat, lon, details, flight_id,
    "military", "registration", "typecode", "classes": [...]}]}`` newest first (default: the
    last 24 hours)."""
    now = _now(request)
    a, b = _window(since, until, now - DAY_S, now, MAX_ITINERARY_DAYS * DAY_S)
    wanted: set[str] = set()
    if classes:
        wanted = {c.strip() for c in classes.split(",") if c.strip()}
        bad = wanted - {*FEED_CLASSES, "military"}
        if bad:
            raise BadRequestError(f"classes: unknown {sorted(bad)}; known: military, "
                                  f"{', '.join(FEED_CLASSES)}")
    rows = _ctx(request).state.history.events(since=a, until=b)
    if not rows:
        return _json({"count": 0, "events": []})
    icao = np.array([int(str(e["icao24"]), 16) for e in rows], np.uint32)
    hidden = _hidden(request, icao)
    ident = _ctx(request).state.identity.rows(icao)
    regs, types = ident.strings("registration"), ident.strings("typecode")
    out = []
    for k, e in enumerate(rows):
        if hidden[k]:
            continue
        cls = [c for c, kinds in FEED_CLASSES.items() if e.get("type") in kinds]
        if bool(ident.military[k]):
            cls.append("military")
        if wanted and not wanted.intersection(cls):
            continue
        out.append({**e, "military": bool(ident.military[k]), "registration": regs[k],
                    "typecode": types[k], "classes": cls})
    out.sort(key=lambda e: -(e.get("t") or 0))
    return _json({"count": len(out[:limit]), "events": out[:limit]})


# --- heatmap and coverage -------------------------------------------------------------------

@router.get("/heatmap", summary="Stored positions in a box, counted on a grid")
def heatmap(
    request: Request,
    box: Annotated[str, Query(description="south,west,north,east")],
    since: Annotated[float | None, Query(ge=0)] = None,
    until: Annotated[float | None, Query(ge=0)] = None,
    cells: Annotated[int, Query(ge=8, le=400, description="grid cells across")] = 160,
) -> Response:
    """``{"count", "truncated", "cell_deg", "cells": {"lat", "lon", "n"}}`` (cell centres,
    non-empty cells only) for the window (default the last hour; at most 24 h)."""
    bbox = _box(box)
    now = _now(request)
    a, b = _window(since, until, now - 3600, now, MAX_HEAT_WINDOW_S)
    cols = _ctx(request).state.history.positions(since=a, until=b, box=bbox)
    n = int(cols["t"].shape[0])
    truncated = n > MAX_HEAT_ROWS
    lat = np.asarray(cols["lat"], np.float64)[:MAX_HEAT_ROWS]
    lon = np.asarray(cols["lon"], np.float64)[:MAX_HEAT_ROWS]
    keep = ~_hidden(request, np.asarray(cols["icao24"], np.uint32)[:MAX_HEAT_ROWS])
    clat, clon, count, size = heat_grid(lat[keep], lon[keep], bbox, cells)
    return _json({"since": a, "until": b, "count": int(keep.sum()), "truncated": truncated,
                  "cell_deg": size, "cells": {"lat": _nulls(clat, 4), "lon": _nulls(clon, 4),
                                              "n": count.tolist()}})


def _receivers(request: Request) -> list[Any]:
    state = _ctx(request).state
    many = getattr(state, "receivers", None)
    rx = list(many) if many else [state.receiver]
    return [r for r in rx if getattr(r, "lat", None) is not None
            and getattr(r, "lon", None) is not None]


@router.get("/coverage", summary="Receivers' measured coverage outline")
def coverage(
    request: Request,
    hours: Annotated[float, Query(gt=0, le=MAX_COVERAGE_WINDOW_S / 3600)] = 24,
    sectors: Annotated[int, Query(ge=8, le=360)] = 72,
) -> Response:
    """``{"receivers": [{"id", "name", "lat", "lon", "positions", "outline": [[lon, lat],
    …] (closed ring; sectors with no position are left out), "max_nm"}]}`` from the stored
    positions of the last ``hours`` (ADS-B and the like; MLAT positions are left out: they
    are not what this receiver heard; PIA/LADD aircraft count only when shown)."""
    receivers = _receivers(request)
    if not receivers:
        return _json({"receivers": []})
    now = _now(request)
    cols = _ctx(request).state.history.positions(since=now - hours * 3600, until=now + 1)
    lat = np.asarray(cols["lat"], np.float64)[:MAX_COVERAGE_ROWS]
    lon = np.asarray(cols["lon"], np.float64)[:MAX_COVERAGE_ROWS]
    own = ~_is_mlat(np.asarray(cols["source"])[:MAX_COVERAGE_ROWS]) & np.isfinite(lat)
    own &= ~_hidden(request, np.asarray(cols["icao24"], np.uint32)[:MAX_COVERAGE_ROWS])
    out = []
    for rx in receivers:
        brg, rng = coverage_outline(float(rx.lat), float(rx.lon), lat[own], lon[own], sectors)
        ok = np.isfinite(rng)
        ring: list[list[float]] = []
        if ok.any():
            plat, plon = destination(float(rx.lat), float(rx.lon), brg[ok], rng[ok])
            ring = [[round(float(x), 4), round(float(y), 4)] for x, y in zip(plon, plat,
                                                                              strict=True)]
            ring.append(ring[0])
        out.append({"id": getattr(rx, "id", ""), "name": getattr(rx, "name", ""),
                    "lat": rx.lat, "lon": rx.lon, "positions": int(own.sum()),
                    "outline": ring,
                    "max_nm": round(float(np.nanmax(rng)), 1) if ok.any() else None})
    return _json({"hours": hours, "receivers": out})


@router.get("/layers", summary="Optional map layers present")
def layers() -> Response:
    """``{"scripts": ["/static/gnss.js", …]}``: the optional layer scripts shipped in this
    installation, for the page to load."""
    present = [f"/static/{n}" for n in OPTIONAL_LAYERS if (STATIC_DIR / n).is_file()]
    return _json({"scripts": present})


#: positions.bin: magic, then n (u32), now (f64), snapshot version (u32), reserved (u32)
BIN_MAGIC = b"TWP1"


def positions_bin(view: Any, allow: bool) -> bytes:
    """The binary columns of ``GET /api/map/positions.bin`` (little-endian): a 24-byte header
    (``TWP1``, n u32, now f64, version u32, 0 u32), then icao24 u32[n], lat f32[n], lon f32[n],
    altitude ft f32[n] (NaN unknown, 0 on the ground), track deg f32[n] (NaN unknown),
    type designator 4 ASCII bytes[n], flags u8[n] (1 military, 2 on the ground, 4 MLAT
    position, 8 interesting), category u8[n] (set letter A-D × 8 + number, 0 unknown),
    callsign 8 ASCII bytes[n]. Only aircraft with a current position the caller may see."""
    from tailwatch.core.schema import SOURCE_LABELS

    rows = np.flatnonzero(view.has_position & view.visible(allow))
    n = int(rows.shape[0])
    c = view.cols
    track = np.asarray(c["track_deg"], np.float64)
    vel = view.fresh("velocity")
    track = np.where(vel & np.isfinite(track), track, np.nan)
    flags = (view.ident.military.astype(np.uint8)
             | (view.on_ground.astype(np.uint8) << 1)
             | ((np.asarray(c["position_source"]) == SOURCE_LABELS.index("mlat"))
                .astype(np.uint8) << 2)
             | (view.ident.interesting.astype(np.uint8) << 3))
    cat = np.clip(np.asarray(c["category"]).astype(np.int64), 0, 255).astype(np.uint8)
    typ = np.char.encode(view.upper("typecode"), "ascii", "replace").astype("S4")
    call = np.char.encode(np.asarray(view.callsign, dtype=np.str_), "ascii", "replace")
    head = BIN_MAGIC + np.array([n], "<u4").tobytes() + np.array([view.now], "<f8").tobytes() \
        + np.array([view.version, 0], "<u4").tobytes()
    parts = [
        head,
        view.icao24[rows].astype("<u4").tobytes(),
        view.lat[rows].astype("<f4").tobytes(),
        view.lon[rows].astype("<f4").tobytes(),
        view.alt_baro[rows].astype("<f4").tobytes(),
        track[rows].astype("<f4").tobytes(),
        typ[rows].tobytes(),
        flags[rows].tobytes(),
        cat[rows].tobytes(),
        call.astype("S8")[rows].tobytes(),
    ]
    return b"".join(parts)


@router.get("/positions.bin", summary="Drawn aircraft as binary columns (the map's fast path)")
def positions(request: Request) -> Response:
    """Built once per snapshot and kind of caller (plain and gzip); ``ETag`` /
    ``If-None-Match`` answer 304 until the next snapshot. Layout: see ``positions_bin``
    (docs/map.md)."""
    view = _ctx(request).state.view()
    allow = _allow(request)
    key = ("mapbin", allow)
    etag = f'"{view.version}-{int(allow)}-{int(view.now * 1000)}"'
    headers = {"Cache-Control": "no-cache", "ETag": etag, "Vary": "Accept-Encoding"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)

    def build() -> bytes:
        return positions_bin(view, allow)

    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(view.gzip_body(key, build), media_type="application/octet-stream",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(view.body(key, build), media_type="application/octet-stream",
                    headers=headers)
