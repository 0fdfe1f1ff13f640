"""readsb / tar1090: ``/data/aircraft.json``, ``/data/receiver.json`` and the readsb query
API ``/re-api/`` (readsb's README-json.md and README-api.md are the contract)."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from tailwatch.serve import formats as fmt
from tailwatch.serve.context import (
    MAX_HISTORY_ROWS,
    ctx_of,
    hidden_icao,
    hidden_refused,
    json_response,
    now_of,
    prebuilt,
    raw,
    view_at,
)
from tailwatch.serve.select import parse_hex, parse_readsb_query, select_readsb
from tailwatch.serve.tar1090 import FULL_WINDOW_S, db2_answer, html_folder, trace_document

__all__ = ["TAR1090_PREFIX", "answer_readsb_query", "mount_tar1090", "router"]

#: where `create_app(tar1090_dir=...)` serves tar1090
TAR1090_PREFIX = "/tar1090"
#: readsb-style history items (``history_N.json``) tar1090 loads on start, and their spacing
HISTORY_ITEMS = 20
HISTORY_STEP_S = 30.0
_TRACE_RE = re.compile(r"^trace_(full|recent)_(~?[0-9a-fA-F]{6})\.json$")

router = APIRouter()


@router.get("/data/aircraft.json", tags=["readsb"],
         summary="Every live aircraft, readsb aircraft.json format")
async def aircraft_json(request: Request) -> Response:
    """``{"now", "messages", "aircraft": [...]}`` with readsb's keys (``hex``, ``flight``,
    ``alt_baro``, ``gs``, ``track``, ``lat``, ``lon``, ``squawk``, ``r``, ``t``,
    ``dbFlags``...), built (and gzip-compressed) once per snapshot; ``ETag`` /
    ``If-None-Match`` answer 304 while the snapshot has not changed."""
    ctx = ctx_of(request)
    view = ctx.state.view()
    allow = ctx.allow_hidden(request.headers.get("authorization"))
    return prebuilt(request, view, f"aircraft{int(allow)}",
                     lambda: fmt.aircraft_json(view, allow),
                     lambda: fmt.aircraft_json_gzip(view, allow))

@router.get("/data/receiver.json", tags=["readsb"], summary="Receiver description")
async def receiver_json(request: Request) -> Response:
    """``{"version", "refresh", "history", "lat", "lon"}`` (position when configured)."""
    st = ctx_of(request).state
    return json_response(fmt.receiver_json(st.view(), traces=st.history.available,
                                           history=HISTORY_ITEMS if st.history.available
                                           else 0))


@router.get("/data/history_{index}.json", tags=["readsb"],
            summary="A past aircraft.json (readsb's history_N.json), from the history store")
def history_item(request: Request, index: int) -> Response:
    """``history_0.json`` … ``history_<N>.json`` (N = receiver.json's ``history``; tar1090
    asks for all of them): the aircraft as they were ``(N - index) × 30 s`` before the last
    half minute, oldest first, in aircraft.json's format, so that tar1090 draws every
    aircraft's recent track on load."""
    if not 0 <= index <= HISTORY_ITEMS:
        return json_response({"error": f"history items are 0 to {HISTORY_ITEMS}"}, 404)
    ctx = ctx_of(request)
    now = now_of(ctx.state)
    base = math.floor(now / HISTORY_STEP_S) * HISTORY_STEP_S
    view = view_at(ctx, base - (HISTORY_ITEMS - index) * HISTORY_STEP_S)
    allow = ctx.allow_hidden(request.headers.get("authorization"))
    return raw(fmt.aircraft_json(view, allow), headers={"Cache-Control": "no-cache"})

def answer_readsb_query(request: Request, params: list[tuple[str, str]]) -> Response:
    """The answer to a readsb query (``/re-api/`` and every ``/v2`` route)."""
    t0 = time.perf_counter()
    ctx = ctx_of(request)
    q = parse_readsb_query(params)
    if q.status:
        return json_response({"status": "ok"})
    allow = ctx.allow_hidden(request.headers.get("authorization"))
    if ("pia" in q.flags or "ladd" in q.flags) and not allow:
        return hidden_refused()
    view = ctx.state.view()
    rows, dst, direction = select_readsb(view, q, view.visible(allow))
    return raw(fmt.readsb_api_body(view, rows, dst, direction, jv2=q.jv2, t_start=t0))


async def re_api(request: Request) -> Response:
    return answer_readsb_query(request, list(request.query_params.multi_items()))


router.add_api_route(
    "/re-api/", re_api, methods=["GET"], tags=["readsb"],
    summary="readsb query API (circle, closest, box, all, find_*, filters, jv2)",
    description="Exactly one base query: `circle=lat,lon,nm`, `closest=lat,lon,nm`, "
    "`box=latS,latN,lonW,lonE`, `all_with_pos`, `all`, `find_hex=h1,h2`, "
    "`find_callsign=`, `find_reg=`, `find_type=`; filters `filter_callsign_exact`, "
    "`filter_callsign_prefix`, `filter_squawk`, `filter_with_pos`, `filter_type`, "
    "`above_alt_baro`, `below_alt_baro`, `filter_mil|interesting|pia|ladd` (OR-ed); "
    "`jv2` for the ADSBx v2 envelope; `status` for a health check.",
)
router.add_api_route("/re-api", re_api, methods=["GET"], include_in_schema=False)



@router.get("/data/traces/{bucket}/{name}", tags=["readsb"],
            summary="An aircraft's trace (readsb trace format, from the history store)")
def trace(request: Request, bucket: str, name: str) -> Response:
    """``trace_full_<hex>.json`` (the last 24 hours) or ``trace_recent_<hex>.json`` (the
    last points), under ``<bucket>`` = the address's last two hex digits, as tar1090 asks for
    them. 404 when there is no stored position (or the aircraft is PIA/LADD and hidden)."""
    m = _TRACE_RE.match(name)
    if m is None or bucket.lower() != m.group(2)[-2:].lower():
        return json_response({"error": "not a trace (trace_full_<hex>.json or "
                              "trace_recent_<hex>.json under the last two hex digits)"}, 404)
    ctx = ctx_of(request)
    addr = parse_hex(m.group(2).lower(), "hex")
    allow = ctx.allow_hidden(request.headers.get("authorization"))
    if not allow and bool(hidden_icao(ctx, np.array([addr], np.uint32))[0]):
        return json_response({"error": "no trace for this aircraft"}, 404)
    now = now_of(ctx.state)
    cols = ctx.state.history.positions(icao24=[addr], since=now - FULL_WINDOW_S,
                                       until=now + 1, limit=MAX_HISTORY_ROWS)
    if cols["t"].shape[0] == 0:
        return json_response({"error": "no trace for this aircraft"}, 404)
    ident = ctx.state.identity.detail(addr)
    body = trace_document(cols, ident["icao24"], ident, recent=m.group(1) == "recent")
    return raw(body, headers={"Cache-Control": "no-cache"})


@router.get("/db2/{name}", tags=["readsb"],
            summary="Aircraft database look-up in tar1090's db2 format")
def db2(request: Request, name: str) -> Response:
    """``/db2/<KEY>.js``: addresses starting with the hex digits ``KEY`` → ``[registration,
    type, flags, description]``, or ``{"children": [...]}`` when there are many. Other
    ``db2`` files (``ranges.js``, ``icao_aircraft_types2.js``...) come from the tar1090
    folder when one is served."""
    ctx = ctx_of(request)
    key = name.removesuffix(".js")
    allow = ctx.allow_hidden(request.headers.get("authorization"))
    body = db2_answer(ctx.state.identity.db, key, allow) if name.endswith(".js") else None
    if body is not None:
        return raw(body, headers={"Cache-Control": "public, max-age=600"})
    folder = ctx.tar1090_dir
    if folder is not None and re.fullmatch(r"[A-Za-z0-9_.\-]{1,80}", name):
        path = folder / "db2" / name
        if path.is_file():
            return FileResponse(path, media_type="application/json")
    return json_response({"error": f"no db2 file {name!r}"}, 404)


def mount_tar1090(app: FastAPI, html_dir: Path) -> None:
    """Serve an installed tar1090 ``html/`` folder at ``/tar1090/``, with the data it asks for
    (``data/aircraft.json``, ``data/receiver.json``, ``data/traces/``, ``db2/``) beside it."""
    html = html_folder(html_dir)
    app.state.tw.tar1090_dir = html
    app.include_router(router, prefix=TAR1090_PREFIX, include_in_schema=False)
    app.mount(TAR1090_PREFIX, StaticFiles(directory=html, html=True), name="tar1090")
