"""Whole response bodies in the compatible formats (readsb, ADSBx v2, OpenSky) and the
native per-aircraft records, built from a :class:`~tailwatch.serve.view.SnapshotView`.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from tailwatch import __version__
from tailwatch.core.schema import EMERGENCY_LABELS, NAV_MODE_BITS, SOURCE_LABELS
from tailwatch.serve.render import Rows, RowWriter
from tailwatch.serve.view import CATEGORY_LABELS, SnapshotView

__all__ = [
    "aircraft_json",
    "aircraft_json_gzip",
    "aircraft_record",
    "jv2_body",
    "opensky_all",
    "opensky_all_gzip",
    "opensky_states_body",
    "prerender",
    "readsb_api_body",
    "receiver_json",
]

I64 = npt.NDArray[np.int64]


def _num(x: float) -> bytes:
    return b"%.3f" % x if math.isfinite(x) else b"0"


def aircraft_json(view: SnapshotView, allow_hidden: bool) -> bytes:
    """``/data/aircraft.json``: ``{"now", "messages", "aircraft": [...]}`` (memoised)."""

    def build() -> bytes:
        rows = view.readsb_rows()
        visible = view.visible(allow_hidden)
        body = rows.join() if bool(visible.all()) else rows.join(np.flatnonzero(visible))
        messages = int(np.asarray(view.cols["messages"]).sum()) if view.n else 0
        messages = int(view.snapshot.counters.get("messages", messages))
        return (b'{"now":' + _num(view.now) + b',"messages":%d,"aircraft":[' % messages
                + body + b"]}")

    return view.body(("aircraft.json", allow_hidden), build)


def aircraft_json_gzip(view: SnapshotView, allow_hidden: bool) -> bytes:
    return view.gzip_body(("aircraft.json", allow_hidden),
                          lambda: aircraft_json(view, allow_hidden))


def opensky_all(view: SnapshotView, allow_hidden: bool, extended: bool) -> bytes:
    """The unfiltered live ``/api/states/all`` (memoised per snapshot and variant)."""

    def build() -> bytes:
        listed = view.visible(allow_hidden) & view.opensky_listed()
        rows = None if bool(listed.all()) else np.flatnonzero(listed)
        return opensky_states_body(view, rows, extended)

    return view.body(("states/all", allow_hidden, extended), build)


def opensky_all_gzip(view: SnapshotView, allow_hidden: bool, extended: bool) -> bytes:
    return view.gzip_body(("states/all", allow_hidden, extended),
                          lambda: opensky_all(view, allow_hidden, extended))


def prerender(view: SnapshotView) -> None:
    """Build, at publish time, what most requests ask for: the public ``aircraft.json`` and
    ``/api/states/all``, plain and gzip-compressed (the rendering runs compiled and the
    compression in zlib, both without holding the GIL)."""
    aircraft_json_gzip(view, allow_hidden=False)
    opensky_all_gzip(view, allow_hidden=False, extended=False)


def receiver_json(view: SnapshotView, refresh_ms: int = 1000, *,
                  traces: bool = True, history: int = 0) -> dict[str, Any]:
    """readsb's ``receiver.json`` as tar1090 reads it: ``refresh`` (ms), ``history`` (how many
    ``history_N.json`` there are), ``readsb`` (readsb-style JSON: no client-side position filter),
    ``dbServer`` (``r``/``t``/``desc``/``dbFlags`` come with each aircraft),
    ``haveTraces`` (``data/traces/``), the receiver's ``lat``/``lon`` when known."""
    out: dict[str, Any] = {"version": f"tailwatch {__version__}", "refresh": refresh_ms,
                           "history": history, "readsb": True, "dbServer": True,
                           "haveTraces": traces, "binCraft": False, "zstd": False}
    rx = view.receiver
    if rx.has_position:
        out["lat"], out["lon"] = rx.lat, rx.lon
    return out


def _extra(dst: npt.NDArray[np.float64], direction: npt.NDArray[np.float64]) -> Rows:
    return RowWriter(dst.shape[0]).num("dst", dst, 3).num("dir", direction, 1).render()


def readsb_api_body(
    view: SnapshotView, rows: I64, dst: npt.NDArray[np.float64] | None,
    direction: npt.NDArray[np.float64] | None, *, jv2: bool, t_start: float,
) -> bytes:
    """A readsb API answer (``now``/``resultCount``/``ptime``/``aircraft``), or the ADSBx v2
    envelope (``ac``/``msg``/``now`` ms/``total``/``ctime``/``ptime``) with ``jv2``."""
    extra = _extra(dst, direction) if dst is not None and direction is not None else None
    objects = view.readsb_rows().join(rows, extra=extra)
    if jv2:
        return jv2_body(view, objects, int(rows.shape[0]), t_start)
    ptime = (time.perf_counter() - t_start) * 1000.0
    return (b'{"now":' + _num(view.now) + b',"resultCount":%d,"ptime":%.3f,"aircraft":['
            % (rows.shape[0], ptime) + objects + b"]}")


def jv2_body(view: SnapshotView, objects: bytes, total: int, t_start: float,
             msg: str = "No error") -> bytes:
    ptime = (time.perf_counter() - t_start) * 1000.0
    now_ms = round(view.now * 1000)
    return (b'{"ac":[' + objects + b'],"msg":' + orjson.dumps(msg)
            + b',"now":%d,"total":%d,"ctime":%d,"ptime":%d}'
            % (now_ms, total, now_ms, round(ptime)))


def opensky_states_body(view: SnapshotView, rows: I64 | None, extended: bool,
                        time_s: int | None = None) -> bytes:
    """``{"time": s, "states": [[...], ...] | null}``."""
    t = math.floor(view.now) if time_s is None else int(time_s)
    srows = view.opensky_rows(extended)
    count = srows.__len__() if rows is None else int(rows.shape[0])
    if count == 0:
        return b'{"time":%d,"states":null}' % t
    return b'{"time":%d,"states":[' % t + srows.join(rows) + b"]}"


# --- native records -------------------------------------------------------------------------

def _f(x: Any, nd: int | None = None) -> float | None:
    v = float(x)
    if not math.isfinite(v):
        return None
    return round(v, nd) if nd is not None else v


def _i(x: Any) -> int | None:
    v = int(x)
    return None if v < 0 else v


def _label(code: Any) -> str | None:
    """A SOURCE_LABELS code as its label; None for no source (-1: no value yet)."""
    k = int(code)
    return SOURCE_LABELS[k] if 0 <= k < len(SOURCE_LABELS) else None


def aircraft_record(view: SnapshotView, i: int) -> dict[str, Any]:
    """One live aircraft in the native format (units in the names, nulls where unknown)."""
    c = view.cols
    ident = view.ident
    sq = int(c["squawk"][i])
    cat = int(c["category"][i])
    em = int(c["emergency"][i])
    nav = int(c["nav_modes"][i])
    has_pos = bool(view.has_position[i])
    alt_ok = bool(view.alt_fresh[i])
    vel_ok = bool(view.vel_fresh[i])

    def text(name: str) -> str | None:
        v = ident.text[name][i].as_py()
        return str(v) if v is not None else None

    return {
        "icao24": str(view.hex[i]),
        "callsign": str(view.callsign[i]) or None,
        "registration": text("registration"),
        "typecode": text("typecode"),
        "description": text("description"),
        "operator": text("operator"),
        "country": text("country"),
        "country_iso2": text("country_iso2"),
        "military": bool(ident.military[i]),
        "military_rule": text("military_rule"),
        "interesting": bool(ident.interesting[i]),
        "pia": bool(ident.pia[i]),
        "ladd": bool(ident.ladd[i]),
        "year": None if math.isnan(ident.year[i]) else int(ident.year[i]),
        "lat": _f(c["lat"][i], 6) if has_pos else None,
        "lon": _f(c["lon"][i], 6) if has_pos else None,
        "position_age_s": _f(view.pos_age_s[i], 1),
        "last_position": (
            {"lat": _f(c["lat"][i], 6), "lon": _f(c["lon"][i], 6),
             "t": _f(c["t_position"][i], 3)} if bool(view.stale_position[i]) else None),
        "altitude_ft": (None if bool(view.on_ground[i]) or not alt_ok
                        else _f(c["altitude_ft"][i], 0)),
        "altitude_geom_ft": _f(c["altitude_geom_ft"][i], 0) if alt_ok else None,
        "on_ground": bool(view.on_ground[i]),
        "gs_kt": _f(c["gs_kt"][i], 1) if vel_ok else None,
        "track_deg": _f(c["track_deg"][i], 2) if vel_ok else None,
        "vrate_fpm": _f(c["vrate_fpm"][i], 0) if vel_ok else None,
        "heading_deg": _f(c["heading_deg"][i], 2),
        "ias_kt": _f(c["ias_kt"][i], 0),
        "tas_kt": _f(c["tas_kt"][i], 0),
        "mach": _f(c["mach"][i], 3),
        "roll_deg": _f(c["roll_deg"][i], 2),
        "selected_altitude_ft": _f(c["selected_altitude_ft"][i], 0),
        "baro_setting_hpa": _f(c["baro_setting_hpa"][i], 1),
        "squawk": f"{sq:04d}" if sq >= 0 else None,
        "emergency": EMERGENCY_LABELS[em] if 0 <= em < len(EMERGENCY_LABELS) else None,
        "category": CATEGORY_LABELS[cat] if 0 <= cat < len(CATEGORY_LABELS) else None,
        "nav_modes": ([k for k, b in NAV_MODE_BITS.items() if nav & b] if nav >= 0 else None),
        "nic": _i(c["nic"][i]),
        "nacp": _i(c["nacp"][i]),
        "nacv": _i(c["nacv"][i]),
        "sil": _i(c["sil"][i]),
        "version": _i(c["version"][i]),
        "source": _label(c["source"][i]),
        "position_source": _label(c["position_source"][i]),
        "messages": int(c["messages"][i]),
        "positions": int(c["positions"][i]) if "positions" in c else None,
        "first_seen": _f(c["first_seen"][i], 3) if "first_seen" in c else None,
        "last_seen": _f(c["last_seen"][i], 3),
        "seen_s": _f(view.seen_s[i], 1),
    }
