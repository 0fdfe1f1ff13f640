"""readsb / dump1090 ``aircraft.json`` and ADSBx-v2-style aggregator answers → state vectors.

Accepted envelopes (formats.md §3.1-3.3):

* readsb and dump1090-fa/-mutability ``aircraft.json``: ``{"now": s, "aircraft": [...]}``;
* readsb's API: ``{"now": s, "aircraft": [...], "resultCount": N, "ptime": ms}``;
* ADSBx v2 (adsb.lol, airplanes.live, ``&jv2``): ``{"ac": [...], "now": ms, "total": N}``
  (``now`` in milliseconds; told apart from seconds by magnitude).

One state row per aircraft (:class:`~tailwatch.track.states.StateBatch`); ``lat``/``lon``
NaN for an aircraft without a current position (Mode S only: altitude, squawk, maybe a
callsign) — it still enters the live table. ``lastPosition`` (a stale one) is not used.
Columns (track.states.STATE_FIELDS):

==================  ===========================================================
``t``               position rows ``now - seen_pos``; rows without a position
                    ``now - seen`` (``seen_pos`` absent → ``seen`` and the reverse; neither
                    → ``now``)
``icao24``          ``hex``; a ``~`` address (non-ICAO) is dropped (``non_icao``)
``lat``, ``lon``    ``lat``, ``lon`` (both absent → NaN; out of range → ``bad_position``)
``altitude_ft``     ``alt_baro``; ``"ground"`` → NaN and ``on_ground = 1``
``altitude_geom_ft`` ``alt_geom``
``gs_kt``           ``gs``
``track_deg``       ``track``, else ``calc_track``
``vrate_fpm``       ``baro_rate``, else ``geom_rate``
``on_ground``       1 for ``alt_baro == "ground"``, 0 for a numeric ``alt_baro``, else -1
``callsign``        ``flight``, trailing spaces stripped
``squawk``          ``squawk`` (4 octal digits, read as a decimal number)
``emergency``       ``emergency`` (core.schema EMERGENCY_LABELS), else -1
``nic``, ``nacp``   ``nic``, ``nac_p``
``source``          from ``type`` (:data:`TYPE_LABELS`), else the source's label: ``json``
                    (readsb) or ``aggregator``
==================  ===========================================================

When the position is older than the last message (``seen_pos > seen``), a second row at
``now - seen`` without the position carries the other fields with their own time
(:func:`~tailwatch.ingest.positions.split_times`).

Rejects (unit: aircraft objects): ``bad_object``, ``non_icao``, ``bad_hex``,
``bad_position``; aircraft objects in = aircraft kept + rejects, and rows out = aircraft kept
+ the extra rows above. A body that is not one of the envelopes raises
:class:`~tailwatch.core.errors.FormatError`.
"""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from tailwatch.core.errors import FormatError
from tailwatch.core.rejects import Rejects
from tailwatch.core.schema import EMERGENCY_LABELS, SOURCE_LABELS
from tailwatch.ingest.positions import split_times, squawk_codes
from tailwatch.track.states import StateBatch, make_states

__all__ = ["TYPE_LABELS", "parse_aircraft_json"]

# readsb's ``type`` (the aircraft's best current source) → SOURCE_LABELS, so that the tracker
# ranks a row as what it is (docs/tracking.md): ADS-B family 0-3, MLAT 4, Mode S 6. Types
# not listed (``adsc``, ``other`` — SBS input —, ``unknown``, none) keep the feed's label
# (``json``/``aggregator``, rank 5); the non-ICAO ones (``adsb_other``, ``adsr_other``,
# ``tisb_other``, ``tisb_trackfile``) have a ``~`` address and are dropped as ``non_icao``.
TYPE_LABELS: dict[str, str] = {
    "adsb_icao": "adsb",
    "adsb_icao_nt": "adsb_nt",
    "adsr_icao": "adsr",
    "tisb_icao": "tisb",
    "mlat": "mlat",
    "mode_s": "mode_s",
}


def _num(v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return math.nan
    return float(v)


def _envelope(body: bytes | str | dict[str, Any]) -> tuple[list[Any], float]:
    if isinstance(body, dict):
        doc: Any = body
    else:
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            raise FormatError(f"not JSON: {e}") from e
    if not isinstance(doc, dict):
        raise FormatError("aircraft JSON must be an object")
    rows = doc.get("aircraft", doc.get("ac"))
    if rows is None:
        rows = []
        if "now" not in doc:
            raise FormatError("no 'aircraft' or 'ac' list in the JSON object")
    if not isinstance(rows, list):
        raise FormatError("'aircraft'/'ac' is not a list")
    now = _num(doc.get("now"))
    if math.isnan(now):
        now = _num(doc.get("ctime"))
    if now > 1e11:  # milliseconds (ADSBx v2)
        now /= 1000.0
    return rows, now


def _labels(good: list[dict[str, Any]], source: str) -> npt.NDArray[np.int8]:
    """Source label index per aircraft: readsb's ``type`` through :data:`TYPE_LABELS`,
    else ``source``."""
    feed = SOURCE_LABELS.index(source)
    idx = {k: SOURCE_LABELS.index(v) for k, v in TYPE_LABELS.items()}
    return np.array([idx.get(str(a.get("type", "")), feed) for a in good], dtype=np.int8)


def _emergencies(good: list[dict[str, Any]]) -> npt.NDArray[np.int8]:
    idx = {v: i for i, v in enumerate(EMERGENCY_LABELS)}
    return np.array([idx.get(str(a.get("emergency", "")), -1) for a in good], dtype=np.int8)


def parse_aircraft_json(
    body: bytes | str | dict[str, Any], *, source: str = "json", now: float | None = None,
) -> tuple[StateBatch, Rejects, float]:
    """Parse one answer; returns (state rows, rejects, the answer's ``now`` in seconds).
    ``now`` is used when the answer has none."""
    rows, t_now = _envelope(body)
    if math.isnan(t_now):
        t_now = math.nan if now is None else float(now)
    rejects = Rejects()
    ac = [a for a in rows if isinstance(a, dict)]
    rejects["bad_object"] += len(rows) - len(ac)
    hexes = [str(a.get("hex", "")) for a in ac]
    good = [a for a, h in zip(ac, hexes, strict=True) if not h.startswith("~")]
    rejects["non_icao"] += len(ac) - len(good)
    icao = np.full(len(good), -1, dtype=np.int64)
    for i, a in enumerate(good):
        h = str(a.get("hex", ""))
        if len(h) == 6:
            with contextlib.suppress(ValueError):
                icao[i] = int(h, 16)
    ok = icao >= 0
    rejects["bad_hex"] += int((~ok).sum())
    if not ok.all():
        good = [a for a, k in zip(good, ok.tolist(), strict=True) if k]
        icao = icao[ok]
    n = len(good)

    def col(key: str, alt: str | None = None) -> np.ndarray:
        vals = [_num(a.get(key)) for a in good]
        out = np.array(vals, dtype=np.float64) if n else np.zeros(0)
        if alt is not None and n:
            alts = np.array([_num(a.get(alt)) for a in good], dtype=np.float64)
            out = np.where(np.isnan(out), alts, out)
        return out

    seen_pos_s = col("seen_pos", "seen")
    t_position = t_now - np.where(np.isnan(seen_pos_s), 0.0, seen_pos_s)
    seen_s = col("seen")
    t_fields = np.where(np.isnan(seen_s), t_position, t_now - seen_s)
    alt_raw = [a.get("alt_baro", a.get("altitude")) for a in good]
    ground = np.array([v == "ground" for v in alt_raw], dtype=bool)
    alt = np.array([_num(v) for v in alt_raw], dtype=np.float64) if n else np.zeros(0)
    on_ground = np.where(ground, 1, np.where(np.isnan(alt), -1, 0)).astype(np.int8)
    callsign = np.array([str(a.get("flight", "")).strip()[:8].encode("ascii", "replace")
                         for a in good], dtype="S8") if n else np.zeros(0, "S8")
    cols = {
        "icao24": icao.astype(np.uint32),
        "lat": col("lat"),
        "lon": col("lon"),
        "altitude_ft": alt,
        "altitude_geom_ft": col("alt_geom"),
        "gs_kt": col("gs", "speed"),
        "track_deg": col("track", "calc_track"),
        "vrate_fpm": col("baro_rate", "geom_rate"),
        "on_ground": on_ground,
        "callsign": callsign,
        "squawk": squawk_codes([a.get("squawk") for a in good]),
        "emergency": _emergencies(good),
        "nic": np.nan_to_num(col("nic"), nan=-1).astype(np.int8),
        "nacp": np.nan_to_num(col("nac_p"), nan=-1).astype(np.int8),
        "source": _labels(good, source),
    }
    given = ~np.isnan(cols["lat"]) | ~np.isnan(cols["lon"])
    bad = given & ~((np.abs(cols["lat"]) <= 90) & (np.abs(cols["lon"]) <= 180))
    if bad.any():
        rejects["bad_position"] += int(bad.sum())
        cols = {k: v[~bad] for k, v in cols.items()}
        t_position, t_fields = t_position[~bad], t_fields[~bad]
    cols = split_times(cols, t_position, t_fields)
    return make_states(cols), Rejects.of(rejects.items()), t_now
