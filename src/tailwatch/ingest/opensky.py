"""OpenSky Network REST ``/states/all`` → state vectors, and what polling it politely takes.

State vectors (formats.md §5; units m, m/s, s) become STATE_FIELDS columns
(:class:`~tailwatch.track.states.StateBatch`), one row per vector:

================  ==============================================  =====================
column            from                                            conversion
================  ==============================================  =====================
``t``             ``time_position`` (3) for a row with a position; s
                  else ``last_contact`` (4)
``icao24``        ``icao24`` (0)                                   hex → uint32
``lat``, ``lon``  ``latitude`` (6), ``longitude`` (5); NaN when    degrees
                  either or ``time_position`` is null
``altitude_ft``   ``baro_altitude`` (7)                            m / 0.3048
``altitude_geom_ft`` ``geo_altitude`` (13)                         m / 0.3048
``gs_kt``         ``velocity`` (9)                                 m/s × 3600/1852
``track_deg``     ``true_track`` (10)                              degrees
``vrate_fpm``     ``vertical_rate`` (11)                           m/s / 0.3048 × 60
``on_ground``     ``on_ground`` (8)                                bool → 0/1
``callsign``      ``callsign`` (1), stripped
``squawk``        ``squawk`` (14)
``source``        ``opensky`` on every row
================  ==============================================  =====================

A vector without a position still updates callsign, altitude, velocity and squawk of the live
row. When ``last_contact`` is later than ``time_position``, a second row at ``last_contact``
without the position carries the other fields with their own time
(:func:`~tailwatch.ingest.positions.split_times`).

Polling limits: OpenSky charges credits per ``/states`` request by the area of the bounding
box (≤ 25 square degrees: 1, ≤ 100: 2, ≤ 400: 3, larger or none: 4) against a daily
allowance (400 anonymous, 4,000 with an account; 8,000 for active feeders). The poll period
is never shorter than ``86400 × cost / allowance`` seconds, nor than the data's resolution
(10 s anonymous, 5 s authenticated). HTTP 429 answers are honoured
(``X-Rate-Limit-Retry-After-Seconds``). OpenSky's terms forbid redistribution: its positions
are never re-served (see :mod:`tailwatch.ingest.urls`).

Authentication: OAuth2 client credentials (since 2026-03-18), from the settings
``opensky.client_id`` / ``opensky.client_secret``; the token is fetched from
:data:`TOKEN_URL` and renewed a minute before it expires.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np

from tailwatch.core.errors import FormatError, SourceError
from tailwatch.core.rejects import Rejects
from tailwatch.ingest.positions import split_times, squawk_codes
from tailwatch.track.states import StateBatch, make_states

__all__ = ["TOKEN_URL", "OpenSkyAuth", "credit_cost", "min_interval_s", "parse_states"]

TOKEN_URL = ("https://auth.opensky-network.org/auth/realms/opensky-network/protocol/"
             "openid-connect/token")
FT_PER_M = 1.0 / 0.3048
KT_PER_MS = 3600.0 / 1852.0
FPM_PER_MS = 60.0 / 0.3048
DAILY_CREDITS = {"anonymous": 400, "account": 4000}


def credit_cost(url: str) -> int:
    """Credits one ``/states/all`` request costs, from its bounding box."""
    q = dict(parse_qsl(urlsplit(url).query))
    try:
        area = (float(q["lamax"]) - float(q["lamin"])) * (float(q["lomax"]) - float(q["lomin"]))
    except (KeyError, ValueError):
        return 4
    area = abs(area)
    if area <= 25:
        return 1
    if area <= 100:
        return 2
    if area <= 400:
        return 3
    return 4


def min_interval_s(url: str, authenticated: bool) -> float:
    """Shortest poll period that stays within the daily credits and the data resolution."""
    daily = DAILY_CREDITS["account" if authenticated else "anonymous"]
    return max(86400.0 * credit_cost(url) / daily, 5.0 if authenticated else 10.0)


def _f(v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return math.nan
    return float(v)


def parse_states(body: bytes | str | dict[str, Any]) -> tuple[StateBatch, Rejects, float]:
    """``{time, states: [[…], …]}`` → (state rows, rejects, the answer's ``time``).

    Rejects (unit: state vectors): ``bad_state`` (not a list of ≥ 17 fields or bad icao24),
    ``no_time`` (neither ``time_position`` nor ``last_contact``). Vectors in = vectors kept +
    rejects; rows out = vectors kept + the extra rows of :func:`split_times`."""
    doc: Any = body
    if not isinstance(body, dict):
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            raise FormatError(f"not JSON: {e}") from e
    if not isinstance(doc, dict) or "states" not in doc:
        raise FormatError("OpenSky answer without 'states'")
    states = doc["states"] or []
    if not isinstance(states, list):
        raise FormatError("OpenSky answer: 'states' is not a list")
    t_now = _f(doc.get("time"))
    rejects = Rejects()
    rows = [s for s in states if isinstance(s, list) and len(s) >= 17]
    rejects["bad_state"] += len(states) - len(rows)
    icao = np.full(len(rows), -1, np.int64)
    for i, s in enumerate(rows):
        h = s[0]
        if isinstance(h, str) and len(h) == 6:
            with contextlib.suppress(ValueError):
                icao[i] = int(h, 16)
    ok = icao >= 0
    rejects["bad_state"] += int((~ok).sum())
    rows = [s for s, k in zip(rows, ok.tolist(), strict=True) if k]
    icao = icao[ok]
    n = len(rows)

    def col(i: int) -> np.ndarray:
        return np.array([_f(s[i]) for s in rows], dtype=np.float64) if n else np.zeros(0)

    t_position, t_contact = col(3), col(4)
    t_fields = np.where(np.isnan(t_contact), t_position, t_contact)
    timed = ~np.isnan(t_fields)
    rejects["no_time"] += int((~timed).sum())
    has_pos = ~np.isnan(t_position)
    on_ground = np.array([(1 if s[8] else 0) if isinstance(s[8], bool) else -1 for s in rows],
                         dtype=np.int8)
    callsign = np.array([str(s[1] or "").strip()[:8].encode("ascii", "replace") for s in rows],
                        dtype="S8") if n else np.zeros(0, "S8")
    cols = {
        "icao24": icao.astype(np.uint32),
        "lat": np.where(has_pos, col(6), np.nan),
        "lon": np.where(has_pos, col(5), np.nan),
        "altitude_ft": col(7) * FT_PER_M,
        "altitude_geom_ft": col(13) * FT_PER_M,
        "gs_kt": col(9) * KT_PER_MS,
        "track_deg": col(10),
        "vrate_fpm": col(11) * FPM_PER_MS,
        "on_ground": on_ground,
        "callsign": callsign,
        "squawk": squawk_codes([s[14] for s in rows]),
    }
    if not timed.all():
        cols = {k: v[timed] for k, v in cols.items()}
        t_position, t_fields = t_position[timed], t_fields[timed]
    cols = split_times(cols, t_position, t_fields)
    return make_states(cols, "opensky"), Rejects.of(rejects.items()), t_now


class OpenSkyAuth:
    """OAuth2 client-credentials token for OpenSky's REST API."""

    def __init__(self, client_id: str, client_secret: str, token_url: str = TOKEN_URL) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_url = token_url
        self._token = ""
        self._expires = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def form(self) -> bytes:
        return urlencode({"grant_type": "client_credentials", "client_id": self.client_id,
                          "client_secret": self.client_secret}).encode()

    def needs_token(self, now: float | None = None) -> bool:
        return self.enabled and (now or time.time()) >= self._expires - 60.0

    def accept(self, body: bytes, now: float | None = None) -> None:
        """Store the token of a token-endpoint answer."""
        try:
            doc = json.loads(body)
            token = str(doc["access_token"])
            expires_in = float(doc.get("expires_in", 1800))
        except (ValueError, KeyError, TypeError) as e:
            raise SourceError(f"OpenSky token answer without access_token: {e}") from e
        self._token = token
        self._expires = (now or time.time()) + expires_in

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}
