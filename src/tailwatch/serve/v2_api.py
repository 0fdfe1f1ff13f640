"""ADSBx v2, as adsb.lol serves it: ``/v2/...`` answers the v2 envelope ``{"ac", "msg",
"now", "total", "ctime", "ptime"}`` with readsb aircraft objects."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from tailwatch.serve import formats as fmt
from tailwatch.serve.context import ctx_of, hidden_refused, raw
from tailwatch.serve.select import parse_hex_list, parse_squawk, parse_text_list, rows_circle
from tailwatch.serve.view import SnapshotView

__all__ = ["router"]

MAX_V2_RADIUS_NM = 250.0

router = APIRouter()

def _v2(request: Request, select: Callable[[SnapshotView, np.ndarray], Any]) -> Response:
    t0 = time.perf_counter()
    ctx = ctx_of(request)
    view = ctx.state.view()
    visible = view.visible(ctx.allow_hidden(request.headers.get("authorization")))
    out = select(view, visible)
    if isinstance(out, tuple):
        rows, dst, direction = out
        extra = fmt._extra(dst, direction)
    else:
        rows, extra = out, None
    objects = view.readsb_rows().join(rows, extra=extra)
    return raw(fmt.jv2_body(view, objects, len(rows), t0))


tags: list[str | Enum] = ["ADSBx v2"]

@router.get("/v2/hex/{hexes}", tags=tags, summary="Aircraft by ICAO address(es)")
@router.get("/v2/icao/{hexes}", tags=tags, include_in_schema=False)
async def v2_hex(request: Request, hexes: str) -> Response:
    """``/v2/hex/393322`` or several, comma-separated."""
    wanted = np.array(parse_hex_list(hexes.lower(), "hex"), dtype=np.uint32)
    return _v2(request, lambda v, vis: np.flatnonzero(np.isin(v.icao24, wanted) & vis))

@router.get("/v2/callsign/{callsign}", tags=tags, summary="Aircraft by callsign")
async def v2_callsign(request: Request, callsign: str) -> Response:
    words = np.array(parse_text_list(callsign, "callsign"), dtype=np.str_)
    return _v2(request, lambda v, vis: np.flatnonzero(
        np.isin(np.char.upper(v.callsign), words) & vis))

@router.get("/v2/reg/{registration}", tags=tags, summary="Aircraft by registration")
async def v2_reg(request: Request, registration: str) -> Response:
    from tailwatch.serve.select import norm_reg

    words = norm_reg(parse_text_list(registration, "registration"))

    def sel(v: SnapshotView, vis: np.ndarray) -> np.ndarray:
        regs = np.char.replace(np.char.replace(v.upper("registration"), "-", ""), " ", "")
        return np.flatnonzero(np.isin(regs, words) & vis)

    return _v2(request, sel)

@router.get("/v2/type/{typecode}", tags=tags, summary="Aircraft by ICAO type designator")
async def v2_type(request: Request, typecode: str) -> Response:
    words = np.array(parse_text_list(typecode, "type"), dtype=np.str_)

    def sel(v: SnapshotView, vis: np.ndarray) -> np.ndarray:
        return np.flatnonzero(np.isin(v.upper("typecode"), words) & vis)

    return _v2(request, sel)

@router.get("/v2/sqk/{squawk}", tags=tags, summary="Aircraft by squawk")
async def v2_sqk(request: Request, squawk: str) -> Response:
    sq = parse_squawk(squawk)
    return _v2(request, lambda v, vis: np.flatnonzero(
        (np.asarray(v.cols["squawk"]) == sq) & vis))

@router.get("/v2/mil", tags=tags, summary="Military and state aircraft")
async def v2_mil(request: Request) -> Response:
    """tailwatch's verdict: database flag, ICAO military block or military callsign."""
    return _v2(request, lambda v, vis: np.flatnonzero(v.ident.military & vis))

@router.get("/v2/ladd", tags=tags, summary="LADD aircraft (token or show_pia_ladd only)")
async def v2_ladd(request: Request) -> Response:
    if not ctx_of(request).allow_hidden(request.headers.get("authorization")):
        return hidden_refused()
    return _v2(request, lambda v, vis: np.flatnonzero(v.ident.ladd & vis))

@router.get("/v2/pia", tags=tags, summary="PIA aircraft (token or show_pia_ladd only)")
async def v2_pia(request: Request) -> Response:
    if not ctx_of(request).allow_hidden(request.headers.get("authorization")):
        return hidden_refused()
    return _v2(request, lambda v, vis: np.flatnonzero(v.ident.pia & vis))

@router.get("/v2/point/{lat}/{lon}/{radius}", tags=tags,
         summary="Aircraft within a radius (NM, at most 250) of a point")
@router.get("/v2/lat/{lat}/lon/{lon}/dist/{radius}", tags=tags, include_in_schema=False)
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

