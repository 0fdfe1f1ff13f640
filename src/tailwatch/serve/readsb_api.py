"""readsb / tar1090: ``/data/aircraft.json``, ``/data/receiver.json`` and the readsb query
API ``/re-api/`` (readsb's README-json.md and README-api.md are the contract)."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.staticfiles import StaticFiles

from tailwatch.core.errors import ConfigError
from tailwatch.serve import formats as fmt
from tailwatch.serve.context import ctx_of, hidden_refused, json_response, prebuilt, raw
from tailwatch.serve.select import parse_readsb_query, select_readsb

__all__ = ["TAR1090_PREFIX", "answer_readsb_query", "mount_tar1090", "router"]

#: where `create_app(tar1090_dir=...)` serves tar1090
TAR1090_PREFIX = "/tar1090"

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
    return json_response(fmt.receiver_json(ctx_of(request).state.view()))

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



def mount_tar1090(app: FastAPI, html_dir: Path) -> None:
    """Serve an installed tar1090 ``html/`` folder at ``/tar1090/``, with the data it asks for
    (``data/aircraft.json``, ``data/receiver.json``, traces, ``db2/``) beside it."""
    html = Path(html_dir)
    if not (html / "index.html").is_file():
        raise ConfigError(f"{html}: not a tar1090 html folder (no index.html)")
    app.include_router(router, prefix=TAR1090_PREFIX, include_in_schema=False)
    app.mount(TAR1090_PREFIX, StaticFiles(directory=html, html=True), name="tar1090")
