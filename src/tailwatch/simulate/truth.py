"""The truth beside a simulated feed: what really happened, to check every stage against.

Tables (numpy columns in memory; Parquet files from :meth:`Truth.write`, with ``icao24`` as
six lowercase hex digits and times as float64 seconds since the UNIX epoch, UTC):

``positions``
    one row per position message (airborne or surface) that reached at least one receiver
    intact or correctable: ``t`` (transmission time; each copy arrives ``d/c`` later, under
    2 ms), ``t_rx`` (first good reception), ``icao24``, ``lat``, ``lon``, ``altitude_ft``
    (barometric; the field elevation on the ground), ``gs_kt``, ``track_deg``, ``vrate_fpm``,
    ``on_ground``, ``callsign``, ``squawk``, ``cpr_odd``, ``receivers`` (good copies).
``legs``
    ``icao24``, ``leg``, ``callsign``, ``origin``, ``destination`` (ICAO, "" for a point),
    ``start_t``/``end_t`` (leaving / reaching the stand, or the first / last waypoint),
    ``takeoff_t``, ``landing_t`` (NaN when not flown), ``takeoff_runway``,
    ``landing_runway``, ``go_arounds``, ``distance_nm``.
``stopovers``
    ``icao24``, ``airport``, ``arrival_t`` (landing), ``departure_t`` (next take-off),
    ``duration_s``.
``coverage``
    per aircraft, the emitted time (transponder on, inside the windows) cut into intervals
    ``start_t``-``end_t`` that are ``seen`` (inside at least one receiver's coverage, see
    :mod:`tailwatch.simulate.receive`) or not, on a 1 s grid, with the ``receivers`` covering
    it (comma-separated names).
``events``
    ``t``, ``icao24``, ``type`` (``takeoff``, ``landing``, ``go_around``, ``stopover``,
    ``emergency``, ``squawk_change``, ``transponder_off``, ``transponder_on``,
    ``enter_coverage``, ``leave_coverage``), ``airport``, ``runway``, ``lat``, ``lon``,
    ``in_window`` (inside an emitted span), ``details`` (JSON).

``transmissions`` and ``receptions`` (only when some receiver has a ``gps`` or ``free``
clock: the truth for multilateration)
    ``transmissions``: every transmission heard at least once, ``msg`` (row number),
    ``t`` (transmission time), ``icao24``, ``kind`` (message kind name), ``lat``, ``lon``,
    ``altitude_ft`` (the height the path delays use: × 0.3048 = metres above the
    ellipsoid), ``on_ground``, ``receptions`` (copies received, noisy ones included).
    ``receptions``: every frame copying one, ``msg``, ``receiver`` (uint16 id), ``t_rx``,
    ``delay_s`` (exact slant range / c), ``arrival_s`` (true arrival time in seconds since
    day0, exact), ``ts_12mhz`` (the counter the receiver stamped),
    ``noise`` (``clean``, ``single_bit``, ``multi_bit``).

JSON files: ``aircraft.json`` (identity of every aircraft), ``receivers.json`` (uint16 and
64-bit ids, positions with ``alt_m``, coverage, clock parameters) and ``summary.json``
(scenario, seed, spans, counts, and the rejects a reader of each output format must find:
exactly the injected noise).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from tailwatch.core.schema import format_category, format_icao24
from tailwatch.simulate import transmit as tx
from tailwatch.simulate.clocks import receiver_alt_m
from tailwatch.simulate.feed import CLEAN, NOISE_NAMES, SINGLE_BIT, Simulation, iso
from tailwatch.simulate.receive import Receiver, coverage
from tailwatch.simulate.routes import AircraftTrack, intersect
from tailwatch.simulate.scenario import Window

Columns = dict[str, np.ndarray]


@dataclass(slots=True)
class Truth:
    positions: Columns
    legs: Columns
    stopovers: Columns
    coverage: Columns
    events: Columns
    aircraft: list[dict[str, Any]]
    receivers: list[dict[str, Any]]
    summary: dict[str, Any]
    # MLAT scenarios only (some receiver has a gps or free clock), else None:
    transmissions: Columns | None = None
    receptions: Columns | None = None
    # scenarios with [[interference]] only, else None:
    interference: Columns | None = None

    def tables(self) -> dict[str, pa.Table]:
        names = ["positions", "legs", "stopovers", "coverage", "events"]
        names += [n for n in ("transmissions", "receptions", "interference")
                  if getattr(self, n) is not None]  # fmt: skip
        return {name: _table(getattr(self, name)) for name in names}

    def write(self, directory: str | Path) -> list[Path]:
        """Write the tables as Parquet and the rest as JSON; returns the files written."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        written = []
        for name, table in self.tables().items():
            path = d / f"{name}.parquet"
            pq.write_table(table, path, compression="zstd")
            written.append(path)
        for name in ("aircraft", "receivers", "summary"):
            path = d / f"{name}.json"
            path.write_text(json.dumps(getattr(self, name), indent=1) + "\n")
            written.append(path)
        return written


def _table(cols: Columns) -> pa.Table:
    arrays = {}
    for k, v in cols.items():
        if k == "icao24":
            arrays[k] = pa.array([format_icao24(int(x)) for x in v], pa.string())
        elif v.dtype.kind == "S":
            arrays[k] = pa.array([x.decode("ascii").rstrip() for x in v.tolist()], pa.string())
        elif v.dtype.kind == "O":
            arrays[k] = pa.array(v.tolist(), pa.string())
        else:
            arrays[k] = pa.array(v)
    return pa.table(arrays)


def _objects(values: list[str]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def build_truth(sim: Simulation) -> Truth:
    return Truth(
        positions=_positions(sim),
        legs=_legs(sim),
        stopovers=_stopovers(sim),
        coverage=_coverage(sim),
        events=_events(sim),
        aircraft=[_aircraft_record(tr) for tr in sim.tracks],
        receivers=[receiver_record(r, sim.day0) for r in sim.receivers],
        summary=_summary(sim),
        transmissions=_transmissions(sim) if _clocked(sim) else None,
        receptions=_receptions(sim) if _clocked(sim) else None,
        interference=_interference(sim) if sim.scenario.interference else None,
    )


def _interference(sim: Simulation) -> Columns:
    """One row per episode: an aircraft affected by a zone, from ``start_t`` to ``end_t``."""
    eps = sorted(sim.episodes, key=lambda e: (e.start_t, e.icao24))
    return {
        "icao24": np.array([e.icao24 for e in eps], np.uint32),
        "zone": _objects([e.zone for e in eps]),
        "kind": _objects([e.kind for e in eps]),
        "effect": _objects([e.effect for e in eps]),
        "start_t": np.array([e.start_t for e in eps], np.float64),
        "end_t": np.array([e.end_t for e in eps], np.float64),
        "nic": np.array([e.nic for e in eps], np.int8),
        "nacp": np.array([e.nacp for e in eps], np.int8),
        "lat": np.array([e.lat for e in eps], np.float64),
        "lon": np.array([e.lon for e in eps], np.float64),
        "reported_lat": np.array([e.reported_lat for e in eps], np.float64),
        "reported_lon": np.array([e.reported_lon for e in eps], np.float64),
        "messages": np.array([e.messages for e in eps], np.int32),
    }


def _clocked(sim: Simulation) -> bool:
    return any(r.spec.clock != "utc" for r in sim.receivers)


def _transmissions(sim: Simulation) -> Columns:
    """Every transmission heard at least once (the schedule), with the true state."""
    s = sim.schedule
    heard = np.bincount(sim.frame_msg[sim.frame_msg >= 0], minlength=s["t"].size)
    kinds = np.array([tx.KIND_NAMES.get(k, "") for k in range(max(tx.KIND_NAMES) + 1)],
                     dtype=object)  # fmt: skip
    return {
        "msg": np.arange(s["t"].size, dtype=np.int64),
        "t": s["t"],
        "icao24": s["icao24"],
        "kind": kinds[s["kind"].astype(np.intp)],
        "lat": s["lat"],
        "lon": s["lon"],
        "altitude_ft": s["alt_ft"],
        "on_ground": s["on_ground"],
        "receptions": heard.astype(np.uint16),
    }


def _receptions(sim: Simulation) -> Columns:
    """Every frame that copies a transmission: who got it, the exact path delay, the counter."""
    f = sim.frame_msg >= 0
    return {
        "msg": sim.frame_msg[f],
        "receiver": sim.frames.receiver[f],
        "t_rx": sim.frames.t_rx[f],
        "delay_s": sim.frame_delay_s[f],
        # exact arrival time since day0: (t − day0) + delay, no float64 UNIX rounding
        "arrival_s": (sim.schedule["t"][sim.frame_msg[f]] - sim.day0) + sim.frame_delay_s[f],
        "ts_12mhz": sim.frames.ts_12mhz[f],
        "noise": np.array(NOISE_NAMES, dtype=object)[sim.frame_noise[f].astype(np.intp)],
    }


def _positions(sim: Simulation) -> Columns:
    s = sim.schedule
    good = (sim.frame_msg >= 0) & np.isin(sim.frame_noise, (CLEAN, SINGLE_BIT))
    n_msg = s["t"].size
    nrx = np.bincount(sim.frame_msg[good], minlength=n_msg)
    first = np.full(n_msg, np.inf)
    np.minimum.at(first, sim.frame_msg[good], sim.frames.t_rx[good])
    rows = np.flatnonzero(np.isin(s["kind"], (tx.AIR_POS, tx.SURF_POS)) & (nrx > 0)
                          & ~np.isnan(s["rep_lat"]))  # fmt: skip
    rows = rows[np.argsort(s["t"][rows], kind="stable")]
    extra: Columns = {}
    if sim.scenario.interference:
        extra = {"reported_lat": s["rep_lat"][rows], "reported_lon": s["rep_lon"][rows],
                 "nic": s["nic"][rows], "nacp": s["nacp"][rows]}  # fmt: skip
    return {
        "t": s["t"][rows],
        "t_rx": first[rows],
        "icao24": s["icao24"][rows],
        "lat": s["lat"][rows],
        "lon": s["lon"][rows],
        "altitude_ft": s["alt_ft"][rows],
        "gs_kt": s["gs_kt"][rows],
        "track_deg": s["track_deg"][rows],
        "vrate_fpm": s["vrate_fpm"][rows],
        "on_ground": s["on_ground"][rows],
        "callsign": s["callsign"][rows],
        "squawk": _objects([f"{int(x):04d}" for x in s["squawk"][rows]]),
        "cpr_odd": s["odd"][rows],
        "receivers": nrx[rows].astype(np.uint8),
    } | extra


def _legs(sim: Simulation) -> Columns:
    rows = [(tr.spec.icao24, i, lr) for tr in sim.tracks for i, lr in enumerate(tr.legs)]
    return {
        "icao24": np.array([r[0] for r in rows], np.uint32),
        "leg": np.array([r[1] for r in rows], np.int16),
        "callsign": _objects([r[2].callsign for r in rows]),
        "origin": _objects([r[2].origin for r in rows]),
        "destination": _objects([r[2].destination for r in rows]),
        "start_t": np.array([r[2].start_t for r in rows], np.float64),
        "end_t": np.array([r[2].end_t for r in rows], np.float64),
        "takeoff_t": np.array([r[2].takeoff_t for r in rows], np.float64),
        "landing_t": np.array([r[2].landing_t for r in rows], np.float64),
        "takeoff_runway": _objects([r[2].takeoff_runway for r in rows]),
        "landing_runway": _objects([r[2].landing_runway for r in rows]),
        "go_arounds": np.array([len(r[2].go_around_t) for r in rows], np.int16),
        "distance_nm": np.array([r[2].distance_nm for r in rows], np.float64),
    }


def _stopovers(sim: Simulation) -> Columns:
    rows = []
    for tr in sim.tracks:
        for a, b in zip(tr.legs, tr.legs[1:], strict=False):
            if a.destination and a.destination == b.origin:
                rows.append((tr.spec.icao24, a.destination, a.landing_t, b.takeoff_t))
    return {
        "icao24": np.array([r[0] for r in rows], np.uint32),
        "airport": _objects([r[1] for r in rows]),
        "arrival_t": np.array([r[2] for r in rows], np.float64),
        "departure_t": np.array([r[3] for r in rows], np.float64),
        "duration_s": np.array([r[3] - r[2] for r in rows], np.float64),
    }


def _grid(tr: AircraftTrack, sim: Simulation) -> list[npt.NDArray[np.float64]]:
    """1 s grids over the aircraft's emitted time (transponder on, inside the spans)."""
    wins = [Window(a, b) for a, b in sim.spans]
    return [np.append(np.arange(a, b, 1.0), b) for a, b in intersect(tr.active, wins)]


def _covered(sim: Simulation, tr: AircraftTrack, t: npt.NDArray[np.float64]
             ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:  # fmt: skip
    """(any receiver, per receiver (R, n)) coverage of an aircraft at times ``t``."""
    st = tx.State(tr).at(t)
    per = np.array([coverage(r, st["lat"], st["lon"], st["alt_ft"], st["on_ground"])[0]
                    for r in sim.receivers]).reshape(len(sim.receivers), t.size)  # fmt: skip
    anyc = np.asarray(per.any(axis=0), dtype=bool)
    return anyc, per


def _coverage(sim: Simulation) -> Columns:
    icao, start, end, seen, names = [], [], [], [], []
    rx_names = np.array([r.name for r in sim.receivers], dtype=object)
    for tr in sim.tracks:
        for t in _grid(tr, sim):
            anyc, per = _covered(sim, tr, t)
            change = np.flatnonzero(anyc[1:] != anyc[:-1]) + 1
            bounds = np.concatenate([[0], change, [t.size]])
            for a, b in itertools.pairwise(bounds.tolist()):
                if b <= a:
                    continue
                icao.append(tr.spec.icao24)
                start.append(float(t[a]))
                end.append(float(t[b - 1]) if b == t.size else float(t[b]))
                seen.append(bool(anyc[a]))
                who = per[:, a:b].any(axis=1)
                names.append(",".join(rx_names[who].tolist()))
    return {
        "icao24": np.array(icao, np.uint32),
        "start_t": np.array(start, np.float64),
        "end_t": np.array(end, np.float64),
        "seen": np.array(seen, bool),
        "receivers": _objects(names),
    }


def _where(tr: AircraftTrack, t: float) -> tuple[float, float]:
    st = tx.State(tr).at(np.array([t]))
    return float(st["lat"][0]), float(st["lon"][0])


def _events(sim: Simulation) -> Columns:
    ev: list[tuple[float, int, str, str, str, dict[str, Any]]] = []
    for tr in sim.tracks:
        a = tr.spec.icao24
        for i, lr in enumerate(tr.legs):
            if not math.isnan(lr.takeoff_t):
                ev.append((lr.takeoff_t, a, "takeoff", lr.origin, lr.takeoff_runway,
                           {"leg": i, "callsign": lr.callsign}))  # fmt: skip
            for g in lr.go_around_t:
                ev.append((g, a, "go_around", lr.destination, lr.landing_runway, {"leg": i}))
            if not math.isnan(lr.landing_t):
                ev.append((lr.landing_t, a, "landing", lr.destination, lr.landing_runway,
                           {"leg": i, "callsign": lr.callsign}))  # fmt: skip
            if i + 1 < len(tr.legs) and lr.destination == tr.legs[i + 1].origin:
                nxt = tr.legs[i + 1]
                ev.append((lr.landing_t, a, "stopover", lr.destination, "",
                           {"departure": iso(nxt.takeoff_t),
                            "duration_s": round(nxt.takeoff_t - lr.landing_t)}))  # fmt: skip
        for ch in tr.spec.squawks:
            kind = "emergency" if ch.code in tx.EMERGENCY_CODES else "squawk_change"
            ev.append((ch.t, a, kind, "", "", {"squawk": f"{ch.code:04d}"}))
        for w in tr.spec.transponder_off:
            ev.append((w.start, a, "transponder_off", "", "", {}))
            ev.append((w.end, a, "transponder_on", "", "", {}))
        for t in _grid(tr, sim):
            anyc, _ = _covered(sim, tr, t)
            for j in (np.flatnonzero(anyc[1:] != anyc[:-1]) + 1).tolist():
                kind = "enter_coverage" if anyc[j] else "leave_coverage"
                ev.append((float(t[j]), a, kind, "", "", {}))
    for e in sim.episodes:
        ev.append((e.start_t, e.icao24, f"gnss_{e.kind}", "", "",
                   {"zone": e.zone, "effect": e.effect, "until": iso(e.end_t),
                    "until_t": e.end_t, "nic": e.nic, "nacp": e.nacp}))  # fmt: skip
    ev.sort(key=lambda e: (e[0], e[1]))
    track_of = {tr.spec.icao24: tr for tr in sim.tracks}
    pos = [_where(track_of[e[1]], e[0]) for e in ev]
    in_win = [any(lo <= e[0] <= hi for lo, hi in sim.spans) for e in ev]
    return {
        "t": np.array([e[0] for e in ev], np.float64),
        "icao24": np.array([e[1] for e in ev], np.uint32),
        "type": _objects([e[2] for e in ev]),
        "airport": _objects([e[3] for e in ev]),
        "runway": _objects([e[4] for e in ev]),
        "lat": np.array([p[0] for p in pos], np.float64),
        "lon": np.array([p[1] for p in pos], np.float64),
        "in_window": np.array(in_win, bool),
        "details": _objects([json.dumps(e[5], sort_keys=True) for e in ev]),
    }


def receiver_record(r: Receiver, day0: float) -> dict[str, Any]:
    """One entry of ``receivers.json``: ids, position (``alt_m`` above the ellipsoid, as the
    path delays use it), coverage and clock (``day0``: the counters' origin, UNIX seconds)."""
    sp = r.spec
    return {
        "uid": r.uid,
        "id64": f"{r.id64:016x}",
        "name": r.name,
        "lat": sp.lat,
        "lon": sp.lon,
        "alt_m": receiver_alt_m(sp),
        "height_ft": sp.height_ft,
        "range_nm": sp.range_nm,
        "polygon": [list(p) for p in sp.polygon],
        "line_of_sight": sp.line_of_sight,
        "clock": sp.clock,
        "clock_offset_s": sp.clock_offset_s,
        "clock_drift_ppm": sp.clock_drift_ppm,
        "clock_jitter_ns": sp.clock_jitter_ns,
        "clock_wander_ppm_per_h": sp.clock_wander_ppm_per_h,
        "clock_resets": [{"at": iso(c.t), "t": c.t, "to_s": c.to_s} for c in sp.clock_resets],
        "counter_hz": 12_000_000,
        "counter_origin_t": day0,
    }


def _aircraft_record(tr: AircraftTrack) -> dict[str, Any]:
    s = tr.spec
    return {
        "icao24": format_icao24(s.icao24),
        "registration": s.registration,
        "callsign": s.callsign,
        "type": s.typecode,
        "category": format_category(s.category),
        "operator": s.operator,
        "adsb": s.adsb,
        "background": s.note.startswith("background traffic"),
        "note": s.note,
        "legs": len(tr.legs),
    }


def _by_kind(kind: npt.NDArray[np.int8]) -> dict[str, int]:
    values, counts = np.unique(kind, return_counts=True)
    return {tx.KIND_NAMES[int(k)]: int(v) for k, v in zip(values, counts, strict=True)}


def _summary(sim: Simulation) -> dict[str, Any]:
    out = _summary_base(sim)
    if sim.scenario.interference:
        zones: dict[str, Any] = {}
        for z in sim.scenario.interference:
            eps = [e for e in sim.episodes if e.zone == z.name]
            zones[z.name] = {"kind": z.kind, "aircraft": len({e.icao24 for e in eps}),
                             "by_effect": {k: len({e.icao24 for e in eps if e.effect == k})
                                           for k in sorted({e.effect for e in eps})}}  # fmt: skip
        out["interference"] = zones
    return out


def _summary_base(sim: Simulation) -> dict[str, Any]:
    c = sim.counts
    sc = sim.scenario
    return {
        "scenario": sc.name,
        "title": sc.title,
        "source": sc.source,
        "seed": sim.seed,
        "start": iso(sim.start) if c.get("frames") else None,
        "end": iso(sim.end) if c.get("frames") else None,
        "spans": [[iso(a), iso(b)] for a, b in sim.spans],
        "day0": iso(sim.day0),
        "counts": dict(c),
        "by_kind": _by_kind(sim.frame_kind),
        "expected": {
            "decode_rejects": {
                k: v for k, v in (("bad_crc", c["multi_bit"]), ("mode_ac", c["mode_ac"])) if v
            },
            "corrected": c["single_bit"],
            "tracker_ghosts_at_least": c["ghost"],
            "beast_garbage_bytes": c["garbage_bytes"],
            "avr_bad_line": c["garbage_bursts"],
            "sbs_bad_line": c["garbage_bursts"],
        },
    }
