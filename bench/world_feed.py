"""The world benchmark's feed (bench/world.py): a simulated world-wide recording, made once
and cached outside the repository.

Background traffic between the hubs of six regions (Europe, North America, East and South
Asia with the Gulf, South America, Africa, Oceania), one receiver at every hub (200 NM, line
of sight), the simulator's default message rates, 5 % loss, 1 % single-bit errors; simulated
chunk by chunk (vectorised inside the simulator) and written as one time-ordered tailwatch
recording (Beast with arrival times and receiver ids, ``ingest/record.py``) with a
``.meta.json`` beside it: frames, aircraft heard, aircraft heard at once
(:func:`concurrent_aircraft`), generation time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from common import console

GEN_VERSION = 1
UTC = dt.UTC
T0 = dt.datetime(2024, 6, 14, 12, 0, tzinfo=UTC)  # a Friday, noon UTC

#: Regions: hubs (a receiver at each) and the share of the traffic.
REGIONS: dict[str, tuple[float, str]] = {
    "europe": (0.32, "EGLL EGKK LFPG LFPO EHAM EDDF EDDM LEMD LEBL LIRF LIMC LSZH LOWW EKCH "
                     "ESSA ENGM EFHK EPWA LKPR LHBP EBBR EIDW LPPT LGAV LTFM EDDB EDDH LEPA "
                     "LFMN"),
    "north_america": (0.32, "KJFK KEWR KBOS KORD KATL KDFW KDEN KLAX KSFO KSEA KMIA KIAH "
                            "KPHX KLAS KMSP KDTW CYYZ CYUL CYVR KCLT KPHL KIAD KMCO KSLC "
                            "KSAN"),
    "asia": (0.24, "RJTT RJAA RKSI ZBAA ZSPD ZGGG VHHH RCTP WSSS VTBS WMKK RPLL VIDP VABB "
                   "OMDB OTHH OERK WIII ZUUU RJBB"),
    "south_america": (0.06, "SBGR SBGL SAEZ SCEL SKBO MMMX"),
    "africa": (0.03, "FAOR FACT HECA DNMM HKJK GMMN"),
    "oceania": (0.03, "YSSY YMML YBBN NZAA YPPH"),
}
TYPES = ["A320", "A321", "B738", "A20N", "B38M", "A333", "B77W", "B789", "E190", "AT76"]
CHUNK_FLIGHTS = 800  # flights simulated per simulate() call
BLOCK = 0x4000  # addresses per chunk (disjoint blocks: unique addresses)


class Variant:
    def __init__(self, name: str, aircraft: int, minutes: float, flights_per_aircraft: float,
                 span_before_h: float, span_after_h: float) -> None:
        self.name = name
        self.aircraft = aircraft
        self.minutes = minutes
        self.flights_per_aircraft = flights_per_aircraft
        self.span_before_h = span_before_h
        self.span_after_h = span_after_h

    def key(self, seed: int) -> str:
        text = json.dumps([GEN_VERSION, self.name, self.aircraft, self.minutes,
                           self.flights_per_aircraft, self.span_before_h, self.span_after_h,
                           seed, REGIONS, TYPES, CHUNK_FLIGHTS])
        return hashlib.sha256(text.encode()).hexdigest()[:12]


VARIANTS = {
    # flights per concurrent aircraft, calibrated on the generated feeds (concurrent_aircraft):
    # world at 2.45 had 12,005 aircraft heard per whole 10 s on average (29,400 flights)
    "world": Variant("world", 12_000, 3.0, 2.6, 1.0, 1.0),
    "hour": Variant("hour", 2_000, 60.0, 3.85, 1.5, 2.0),
    "smoke": Variant("smoke", 300, 1.0, 2.6, 1.0, 1.0),  # a quick check of the script
}


# --- generation ---------------------------------------------------------------------------


def _address_blocks(n: int) -> list[tuple[int, int]]:
    """``n`` disjoint civil address blocks (no address of a military sub-block)."""
    from tailwatch.reference.military import in_military_range

    out: list[tuple[int, int]] = []
    lo = 0x100000
    while len(out) < n and lo + BLOCK < 0xF00000:
        block = np.arange(lo, lo + BLOCK, dtype=np.int64)
        if not bool(in_military_range(block).any()):
            out.append((lo, lo + BLOCK - 1))
        lo += BLOCK
    if len(out) < n:
        raise SystemExit("not enough civil address blocks")
    return out


def _receivers(hubs: list[str]) -> list[dict[str, Any]]:
    from tailwatch.reference.airports import airport

    out = []
    for h in hubs:
        a = airport(h)
        out.append({"name": f"rx-{h.lower()}", "lat": float(a.lat_deg), "lon": float(a.lon_deg),
                    "height_ft": 100.0, "range_nm": 200.0})
    return out


def _chunk_scenario(region: str, hubs: list[str], flights: int, block: tuple[int, int],
                    seed: int, v: Variant, k: int) -> Any:
    from tailwatch.simulate import parse_scenario

    start = T0 - dt.timedelta(hours=v.span_before_h)
    end = T0 + dt.timedelta(hours=v.span_after_h)
    prefix = "".join(chr(65 + (k // 26 ** i) % 26) for i in (2, 1, 0))
    data = {
        "scenario": {"name": f"world-{region}-{k}", "seed": seed,
                     "windows": [{"start": T0, "end": T0 + dt.timedelta(minutes=v.minutes)}]},
        "noise": {"single_bit": 0.01, "loss": 0.05, "edge_loss": 0.2},
        "receivers": _receivers(hubs),
        "traffic": [{
            "name": region, "start": start, "end": end, "flights": flights,
            "airports": hubs, "overflights": 0.25,
            "airlines": [{"prefix": prefix, "blocks": [[f"{block[0]:06x}", f"{block[1]:06x}"]],
                          "types": TYPES, "numbers": [1, 9999]}],
        }],
    }
    return parse_scenario(data, source=f"world-{region}-{k}")


def generate(v: Variant, path: Path, seed: int) -> dict[str, Any]:
    """Simulate the variant chunk by chunk and write it as one time-ordered recording."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tailwatch.core.frames import FrameBatch
    from tailwatch.ingest.net import Receivers
    from tailwatch.ingest.record import Recorder
    from tailwatch.simulate import simulate

    total = round(v.aircraft * v.flights_per_aircraft)
    plan = []
    for region, (share, hub_text) in REGIONS.items():
        hubs = hub_text.split()
        n = round(total * share)
        while n > 0:
            plan.append((region, hubs, min(n, CHUNK_FLIGHTS)))
            n -= CHUNK_FLIGHTS
    blocks = _address_blocks(len(plan))
    reg = Receivers()
    uid_of: dict[str, int] = {}
    raws, nbs, ts, rxs, sigs = [], [], [], [], []
    heard: list[np.ndarray] = []
    heard_t: list[np.ndarray] = []
    w0 = time.perf_counter()
    cols = [TextColumn("[bold]simulate"), BarColumn(), TextColumn("{task.completed}/"
            "{task.total} chunks, {task.fields[frames]:,} frames"), TimeElapsedColumn()]
    frames = 0
    with Progress(*cols, console=console) as bar:
        task = bar.add_task("sim", total=len(plan), frames=0)
        for k, (region, hubs, n) in enumerate(plan):
            scn = _chunk_scenario(region, hubs, n, blocks[k], seed * 1000 + k, v, k)
            sim = simulate(scn)
            for r in sim.receivers:
                if r.name not in uid_of:
                    uid_of[r.name] = reg.add(r.name, id64=r.id64,
                                             position=(r.spec.lat, r.spec.lon))
            lut = np.zeros(max(r.uid for r in sim.receivers) + 1, np.uint16)
            for r in sim.receivers:
                lut[r.uid] = uid_of[r.name]
            fb = sim.frames
            raws.append(fb.raw)
            nbs.append(fb.nbytes)
            ts.append(fb.t_rx)
            rxs.append(lut[fb.receiver])
            sigs.append(fb.signal_dbfs)
            heard.append(sim.schedule["icao24"].astype(np.uint32))
            heard_t.append(sim.schedule["t"])
            frames += len(fb)
            bar.update(task, advance=1, frames=frames)
    sim_s = time.perf_counter() - w0
    t = np.concatenate(ts)
    order = np.argsort(t, kind="stable")
    raw = np.concatenate(raws)
    nb = np.concatenate(nbs)
    rx = np.concatenate(rxs)
    sig = np.concatenate(sigs)
    del raws, nbs, rxs, sigs, ts
    day0 = float(np.floor(t[order[0]] / 86400.0) * 86400.0)
    rec = Recorder(path, reg, sources=[f"bench/world.py variant {v.name} seed {seed}"])
    step = 1_000_000
    for a in range(0, order.size, step):
        idx = order[a:a + step]
        tt = t[idx]
        ticks = np.rint((tt - day0) * 12e6).astype(np.uint64) & np.uint64(2**48 - 1)
        rec.write(FrameBatch.from_matrix(raw[idx], nb[idx], t_rx=tt, ts_12mhz=ticks,
                                         signal_dbfs=sig[idx], receiver=rx[idx]))
    rec.close()
    a_all = np.concatenate(heard)
    per_bucket = concurrent_aircraft(np.concatenate(heard_t), a_all, v.minutes * 60.0)
    meta = {
        "variant": v.name, "seed": seed, "frames": int(order.size),
        "aircraft_heard": int(np.unique(a_all).size),
        "concurrent_aircraft_mean": float(per_bucket.mean()),
        "concurrent_aircraft_min": int(per_bucket.min()),
        "concurrent_aircraft_max": int(per_bucket.max()),
        "concurrent_aircraft_buckets": int(per_bucket.size),
        "transmissions": int(a_all.size), "receivers": len(reg.names),
        "flights_simulated": total, "duration_s": v.minutes * 60.0,
        "generation_s": round(time.perf_counter() - w0, 1), "simulate_s": round(sim_s, 1),
        "recording_bytes": path.stat().st_size,
    }
    (path.parent / (path.name + ".meta.json")).write_text(json.dumps(meta, indent=1))
    return meta


def concurrent_aircraft(t: np.ndarray, icao24: np.ndarray, duration_s: float,
                        bucket_s: float = 10.0) -> np.ndarray:
    """Aircraft heard (at least one transmission heard by a receiver) in each whole
    ``bucket_s`` of the window [T0, T0 + ``duration_s``): "in the air at once". Transmissions
    outside the window (a few at its edges) are left out: a partial bucket at the end would
    count only the aircraft heard in its few milliseconds and pull the mean down."""
    n = int(duration_s // bucket_s)
    rel = t - T0.timestamp()
    inside = (rel >= 0.0) & (rel < n * bucket_s)
    bucket = (rel[inside] // bucket_s).astype(np.int64)
    keys = np.unique(bucket << 32 | icao24[inside].astype(np.int64))
    return np.bincount(keys >> 32, minlength=n)


def feed(v: Variant, cache: Path, seed: int) -> tuple[Path, dict[str, Any]]:
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"world-{v.name}-{v.key(seed)}.beast"
    meta_path = path.parent / (path.name + ".meta.json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        console.print(f"feed from cache: {path} ({meta['frames']:,} frames)")
        return path, meta
    console.print(f"generating the {v.name} feed into {path} (once; cached)")
    meta = generate(v, path, seed)
    console.print(meta)
    return path, meta
