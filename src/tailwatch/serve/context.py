"""What every router of the API shares: the per-app context, response helpers, parameter
parsers and the limits of history reads.

The routers (one per client family: :mod:`readsb_api`, :mod:`v2_api`, :mod:`opensky_api`,
:mod:`native_api`, :mod:`live_api`, :mod:`web_api`) read ``request.app.state.tw`` (a
:class:`ServeContext`) and answer through :func:`raw` / :func:`json_response` /
:func:`prebuilt`; a malformed parameter raises :class:`BadRequestError` (400).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import Query, Request
from fastapi.responses import Response

from tailwatch.config import ServeSettings
from tailwatch.serve.live import LiveHub
from tailwatch.serve.security import Limits, token_ok
from tailwatch.serve.select import BadRequestError, parse_hex, parse_hex_list
from tailwatch.serve.state import LiveState
from tailwatch.serve.view import SnapshotView

__all__ = [
    "AIRPORT_RE",
    "JSON",
    "MAX_HISTORY_ROWS",
    "MAX_WINDOW_ALL_S",
    "MAX_WINDOW_ONE_S",
    "STALE_AFTER_S",
    "Begin",
    "ServeContext",
    "Since",
    "check_window",
    "ctx_of",
    "hex_param",
    "hidden_icao",
    "hidden_refused",
    "icao_list",
    "json_response",
    "now_of",
    "parse_time",
    "prebuilt",
    "raw",
    "visible_flights",
]

JSON = "application/json"
#: longest window of one history read: all aircraft / one aircraft
MAX_WINDOW_ALL_S = 6 * 3600.0
MAX_WINDOW_ONE_S = 31 * 86400.0
MAX_HISTORY_ROWS = 2_000_000
#: a published snapshot older than this makes /health answer 503
STALE_AFTER_S = 30.0
AIRPORT_RE = re.compile(r"^[A-Za-z0-9]{3,4}$")

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
        #: an installed tar1090 html/ folder served at /tar1090/ (create_app(tar1090_dir=))
        self.tar1090_dir: Path | None = None

    def allow_hidden(self, authorization: str | None) -> bool:
        return self.settings.show_pia_ladd or token_ok(self.settings.token, authorization)


def ctx_of(request: Request) -> ServeContext:
    ctx: ServeContext = request.app.state.tw
    return ctx


def raw(body: bytes, status: int = 200, media_type: str = JSON,
         headers: dict[str, str] | None = None) -> Response:
    return Response(content=body, status_code=status, media_type=media_type, headers=headers)


def accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "")


def etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag in tags or "*" in tags


def prebuilt(request: Request, view: SnapshotView, variant: str, plain: Callable[[], bytes],
              gzipped: Callable[[], bytes]) -> Response:
    """A whole body built once per snapshot: 304 when the client has it (ETag), the gzip copy
    when the client accepts gzip (the compression middleware passes it through), else the
    plain one."""
    etag = f'"{ctx_of(request).boot_id}-{view.version}-{variant}"'
    headers = {"Cache-Control": "no-cache", "ETag": etag, "Vary": "Accept-Encoding"}
    if etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    if accepts_gzip(request):
        return raw(gzipped(), headers={**headers, "Content-Encoding": "gzip"})
    return raw(plain(), headers=headers)


def json_response(obj: Any, status: int = 200) -> Response:
    return raw(orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY), status)


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


def check_window(since: float | None, until: float | None, max_s: float, what: str = "window",
            ) -> None:
    if since is not None and until is not None:
        if until <= since:
            raise BadRequestError(f"{what}: the end must be after the start")
        if until - since > max_s:
            raise BadRequestError(f"{what}: at most {max_s / 3600:g} hours at once")


def hex_param(text: str) -> int:
    return parse_hex(text.lower(), "icao24")


def icao_list(values: list[str] | None) -> list[int] | None:
    if not values:
        return None
    out: list[int] = []
    for v in values:
        out.extend(parse_hex_list(v, "icao24"))
    return out


def now_of(state: LiveState) -> float:
    """'Now' for default windows: the snapshot's time once published (replays), else the
    clock."""
    return state.view().now if state.version else time.time()


def hidden_icao(ctx: ServeContext, icao: np.ndarray) -> np.ndarray:
    """Mask of addresses that are PIA/LADD (for history reads)."""
    if icao.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    uniq, inv = np.unique(np.asarray(icao, np.uint32), return_inverse=True)
    hidden = ctx.state.identity.rows(uniq).hidden
    return np.asarray(hidden[inv], dtype=bool)


def hidden_refused() -> Response:
    return json_response({"error": "PIA/LADD aircraft are not shown by this server "
                          "(serve.show_pia_ladd is off; a token holder may see them)"}, 403)

def visible_flights(ctx: ServeContext, flights: list[dict[str, Any]], allow: bool,
                     ) -> list[dict[str, Any]]:
    if allow or not flights:
        return flights
    icao = np.array([int(str(f.get("icao24") or "0"), 16) for f in flights], dtype=np.uint32)
    hidden = hidden_icao(ctx, icao)
    return [f for f, h in zip(flights, hidden.tolist(), strict=True) if not h]


def view_at(ctx: ServeContext, time_s: float) -> SnapshotView:
    """The live picture at ``time_s`` rebuilt from the history store (blocking: call it from
    a thread): each aircraft's last position in the minute before."""
    from tailwatch.serve.state import snapshot_from_positions

    pos = ctx.state.history.positions(since=time_s - 60, until=time_s + 1e-3,
                                      limit=MAX_HISTORY_ROWS)
    return SnapshotView(snapshot_from_positions(pos, float(time_s)), ctx.state.identity,
                        ctx.state.receiver, -1)
