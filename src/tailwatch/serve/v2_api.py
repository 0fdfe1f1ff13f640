"""ADSBx v2, as adsb.lol serves it (adsblol/api, ``utils/api_v2.py``): every ``/v2`` route is a
readsb query (``/re-api/?...&jv2``) with fixed parameters, answered in the v2 envelope
``{"ac", "msg", "now", "total", "ctime", "ptime"}`` with readsb aircraft objects.

=======================================================  ==========================
route                                                    readsb query
=======================================================  ==========================
``/v2/pia``, ``/v2/mil``, ``/v2/ladd``                   ``all&filter_pia|mil|ladd``
``/v2/squawk/{squawk}`` (``/v2/sqk/``)                   ``all&filter_squawk=``
``/v2/type/{aircraft_type}``                             ``find_type=``
``/v2/registration/{registration}`` (``/v2/reg/``)       ``find_reg=``
``/v2/hex/{icao_hex}`` (``/v2/icao/``)                   ``find_hex=``
``/v2/callsign/{callsign}``                              ``find_callsign=``
``/v2/point/{lat}/{lon}/{radius}`` (``/v2/lat/…/lon/…/dist/…``)  ``circle=lat,lon,min(radius, 250)``
``/v2/closest/{lat}/{lon}/{radius}``                     ``closest=lat,lon,radius``
=======================================================  ==========================
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from tailwatch.serve.readsb_api import answer_readsb_query

__all__ = ["MAX_V2_RADIUS_NM", "router"]

#: adsb.lol caps the radius of /v2/point at 250 NM
MAX_V2_RADIUS_NM = 250.0

router = APIRouter()
tags: list[str | Enum] = ["ADSBx v2"]

Lat = Annotated[float, PathParam(ge=-90, le=90, description="degrees")]
Lon = Annotated[float, PathParam(ge=-180, le=180, description="degrees")]
Radius = Annotated[float, PathParam(ge=0, le=100_000, description="NM (at most 250 "
                                    "are used)")]


def _v2(request: Request, *params: tuple[str, str]) -> Response:
    return answer_readsb_query(request, [*params, ("jv2", "")])


@router.get("/v2/pia", tags=tags, summary="PIA aircraft (token or show_pia_ladd only)")
async def v2_pia(request: Request) -> Response:
    return _v2(request, ("all", ""), ("filter_pia", ""))


@router.get("/v2/mil", tags=tags, summary="Military and state aircraft")
async def v2_mil(request: Request) -> Response:
    """tailwatch's verdict: database flag, ICAO military block or military callsign."""
    return _v2(request, ("all", ""), ("filter_mil", ""))


@router.get("/v2/ladd", tags=tags, summary="LADD aircraft (token or show_pia_ladd only)")
async def v2_ladd(request: Request) -> Response:
    return _v2(request, ("all", ""), ("filter_ladd", ""))


@router.get("/v2/squawk/{squawk}", tags=tags, summary="Aircraft by squawk")
@router.get("/v2/sqk/{squawk}", tags=tags, include_in_schema=False)
async def v2_squawk(request: Request, squawk: str) -> Response:
    return _v2(request, ("all", ""), ("filter_squawk", squawk))


@router.get("/v2/type/{aircraft_type}", tags=tags, summary="Aircraft by ICAO type designator")
async def v2_type(request: Request, aircraft_type: str) -> Response:
    return _v2(request, ("find_type", aircraft_type))


@router.get("/v2/registration/{registration}", tags=tags, summary="Aircraft by registration")
@router.get("/v2/reg/{registration}", tags=tags, include_in_schema=False)
async def v2_registration(request: Request, registration: str) -> Response:
    """Case-insensitive, with or without the '-'; several comma-separated."""
    return _v2(request, ("find_reg", registration))


@router.get("/v2/hex/{icao_hex}", tags=tags, summary="Aircraft by ICAO address(es)")
@router.get("/v2/icao/{icao_hex}", tags=tags, include_in_schema=False)
async def v2_hex(request: Request, icao_hex: str) -> Response:
    """``/v2/hex/393322`` or several, comma-separated."""
    return _v2(request, ("find_hex", icao_hex.lower()))


@router.get("/v2/callsign/{callsign}", tags=tags, summary="Aircraft by callsign")
async def v2_callsign(request: Request, callsign: str) -> Response:
    return _v2(request, ("find_callsign", callsign))


@router.get("/v2/point/{lat}/{lon}/{radius}", tags=tags,
            summary="Aircraft within a radius (NM, at most 250) of a point")
@router.get("/v2/lat/{lat}/lon/{lon}/dist/{radius}", tags=tags, include_in_schema=False)
async def v2_point(request: Request, lat: Lat, lon: Lon, radius: Radius) -> Response:
    """Nearest first, each with ``dst`` (NM) and ``dir`` (deg from the point); the radius
    is capped at 250 NM as adsb.lol does."""
    r = min(radius, MAX_V2_RADIUS_NM)
    return _v2(request, ("circle", f"{lat!r},{lon!r},{r!r}"))


@router.get("/v2/closest/{lat}/{lon}/{radius}", tags=tags,
            summary="The aircraft closest to a point, within a radius (NM, at most 250)")
async def v2_closest(request: Request, lat: Lat, lon: Lon, radius: Radius) -> Response:
    """At most one aircraft, with ``dst`` (NM) and ``dir``."""
    r = min(radius, MAX_V2_RADIUS_NM)
    return _v2(request, ("closest", f"{lat!r},{lon!r},{r!r}"))
