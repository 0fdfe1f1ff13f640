"""What tar1090 (wiedehopf/tar1090) reads beyond ``aircraft.json``: per-aircraft traces in
readsb's trace format, ``db2``-style database look-ups, and the tar1090 ``html/`` folder
itself.

Traces (readsb README-json.md, "trace jsons"): ``data/traces/<last two hex
digits>/trace_full_<hex>.json`` (the aircraft's positions of the last 24 hours, from the
history store) and ``trace_recent_<hex>.json`` (its last ``RECENT_POINTS``)::

    {"icao": "393322", "r": ..., "t": ..., "desc": ..., "dbFlags": ..., "timestamp": t0,
     "trace": [[seconds after t0, lat, lon, altitude ft | "ground" | null, gs kt, track,
                flags, vertical rate fpm, details | null, type, geometric altitude,
                geometric rate, ias, roll], ...]}

``flags``: 1 = no position for 20 s before this one, 2 = start of a new leg (after 30 minutes
without a position, or leaving the ground), 8 = the altitude is geometric. ``details`` (a
readsb aircraft object: type, flight, squawk) comes with the first point and whenever the
callsign or squawk changes.

``db2/<KEY>.js`` (tar1090's ``dbloader.js``): ``KEY`` is the first hex digits of addresses,
upper case; the answer maps the remaining digits to ``[registration, type, flags,
description]`` (``flags``: four characters ``"0"``/``"1"``: military, interesting, PIA, LADD)
or, when more than ``DB2_MAX_ENTRIES`` addresses share the key, lists its longer keys under
``"children"``. Built from the aircraft database of the identity resolver (``tailwatch db
update|import``); PIA/LADD rows only for callers who may see them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from tailwatch.core.schema import SOURCE_LABELS

__all__ = ["DB2_MAX_ENTRIES", "RECENT_POINTS", "db2_answer", "html_folder", "trace_document"]

#: points of trace_recent_ (readsb keeps about this many in its recent traces)
RECENT_POINTS = 128
#: a trace_full_ covers this much history before now
FULL_WINDOW_S = 24 * 3600.0
STALE_GAP_S = 20.0
NEW_LEG_GAP_S = 30 * 60.0
DB2_MAX_ENTRIES = 2048
_DB2_KEY_RE = re.compile(r"^[0-9A-F]{1,6}$")
_TYPES = {"adsb": "adsb_icao", "adsb_nt": "adsb_icao_nt", "adsr": "adsr_icao",
          "tisb": "tisb_icao", "mlat": "mlat", "mode_s": "mode_s"}


def _nan_none(a: npt.ArrayLike, nd: int) -> list[Any]:
    r = np.round(np.asarray(a, np.float64), nd)
    return [None if v != v else v for v in r.tolist()]


def _nan_int(a: npt.ArrayLike) -> list[Any]:
    """Whole numbers as JSON integers (readsb writes altitudes and rates with %d)."""
    v = np.asarray(a, np.float64)
    ok = np.isfinite(v)
    ints = np.where(ok, np.round(v), 0).astype(np.int64).tolist()
    return [i if k else None for i, k in zip(ints, ok.tolist(), strict=True)]


def trace_document(cols: dict[str, np.ndarray], icao: str, ident: dict[str, Any],
                   recent: bool) -> bytes:
    """readsb's trace JSON for one aircraft's stored positions (sorted by time)."""
    t = np.asarray(cols["t"], np.float64)
    if recent and t.shape[0] > RECENT_POINTS:
        cols = {k: v[-RECENT_POINTS:] for k, v in cols.items()}
        t = t[-RECENT_POINTS:]
    n = int(t.shape[0])
    t0 = float(t[0]) if n else 0.0
    ground = np.asarray(cols["on_ground"]) == 1
    baro = np.asarray(cols["altitude_ft"], np.float64)
    geom = np.asarray(cols["altitude_geom_ft"], np.float64)
    use_geom = ~np.isfinite(baro) & np.isfinite(geom) & ~ground
    gap = np.diff(t, prepend=t0)
    flags = np.zeros(n, np.int64)
    flags |= np.where(gap > STALE_GAP_S, 1, 0)
    took_off = np.zeros(n, bool)
    took_off[1:] = ground[:-1] & ~ground[1:]
    flags |= np.where((gap > NEW_LEG_GAP_S) | took_off, 2, 0)
    flags |= np.where(use_geom, 8, 0)
    alt = _nan_int(np.where(use_geom, geom, baro))
    alt = ["ground" if g else a for g, a in zip(ground.tolist(), alt, strict=True)]
    src = np.asarray(cols["source"]).astype(np.int64)
    labels = [_TYPES.get(SOURCE_LABELS[s], "other") if 0 <= s < len(SOURCE_LABELS) else None
              for s in range(len(SOURCE_LABELS))]
    types = [labels[s] if 0 <= s < len(labels) else None for s in src.tolist()]
    cs = np.asarray(cols["callsign"], dtype="S8")
    sq = np.asarray(cols["squawk"]).astype(np.int64)
    changed = np.ones(n, bool)
    changed[1:] = (cs[1:] != cs[:-1]) | (sq[1:] != sq[:-1])
    details: list[dict[str, Any] | None] = [None] * n
    for i in np.flatnonzero(changed).tolist():  # a handful per flight
        d: dict[str, Any] = {"type": types[i] or "other"}
        flight = cs[i].decode("ascii", "replace").strip()
        if flight:
            d["flight"] = f"{flight:<8}"
        if sq[i] >= 0:
            d["squawk"] = f"{sq[i]:04d}"
        details[i] = d
    trace = list(zip(
        np.round(t - t0, 2).tolist(), _nan_none(cols["lat"], 6), _nan_none(cols["lon"], 6),
        alt, _nan_none(cols["gs_kt"], 1), _nan_none(cols["track_deg"], 1), flags.tolist(),
        _nan_int(cols["vrate_fpm"]), details, types, _nan_int(geom),
        [None] * n, [None] * n, [None] * n, strict=True))
    doc: dict[str, Any] = {"icao": icao}
    for key, field in (("r", "registration"), ("t", "typecode"), ("desc", "description"),
                       ("ownOp", "operator")):
        if ident.get(field):
            doc[key] = ident[field]
    if ident.get("year"):
        doc["year"] = str(ident["year"])
    doc["dbFlags"] = (int(bool(ident.get("military"))) | 2 * int(bool(ident.get("interesting")))
                      | 4 * int(bool(ident.get("pia"))) | 8 * int(bool(ident.get("ladd"))))
    doc["timestamp"] = round(t0, 3)
    doc["trace"] = trace
    return orjson.dumps(doc)


def db2_answer(db: Any, key: str, allow_hidden: bool) -> bytes | None:
    """The ``db2/<key>.js`` document, or None when ``key`` is not a key."""
    key = key.upper()
    if not _DB2_KEY_RE.match(key):
        return None
    level = len(key)
    if db is None or not len(db):
        return b"{}"
    keys = np.asarray(db.keys, np.int64)
    shift = 4 * (6 - level)
    lo = int(key, 16) << shift
    a = int(np.searchsorted(keys, lo))
    b = int(np.searchsorted(keys, lo + (1 << shift)))
    if b - a > DB2_MAX_ENTRIES and level < 6:
        sub = np.unique((keys[a:b] >> (shift - 4)) & 0xF)
        return orjson.dumps({"children": [f"{key}{d:X}" for d in sub.tolist()]})
    table = db.table.slice(a, b - a)
    flags = np.asarray(table.column("db_flags").to_numpy(zero_copy_only=False), np.int64)
    keep = np.ones(b - a, bool) if allow_hidden else (flags & 12) == 0
    idx = np.flatnonzero(keep)
    hexes = [f"{k:06X}"[level:] for k in keys[a:b][idx].tolist()]

    def col(name: str) -> list[Any]:
        return list(np.asarray(table.column(name).to_numpy(zero_copy_only=False),
                               object)[idx].tolist())

    reg, typ, desc = col("registration"), col("typecode"), col("description")
    bits = [f"{f & 1}{(f >> 1) & 1}{(f >> 2) & 1}{(f >> 3) & 1}" for f in flags[idx].tolist()]
    out = {h: [r, t, fl, d] for h, r, t, fl, d in zip(hexes, reg, typ, bits, desc, strict=True)}
    return orjson.dumps(out)


def html_folder(path: Path) -> Path:
    """An installed tar1090 ``html/`` folder (it has ``index.html`` and ``script.js``)."""
    from tailwatch.core.errors import ConfigError

    p = Path(path)
    if not (p / "index.html").is_file() or not (p / "script.js").is_file():
        raise ConfigError(f"{p}: not a tar1090 html folder (no index.html and script.js)")
    return p
