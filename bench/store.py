"""History store: DuckDB (one file) and ClickHouse (chdb, in process), in one run.

A synthetic history (tailwatch.store.synthetic: irregular ~1 s reports, turns, climbs, flight
levels, microsecond times) spread over ``--days`` days is written chunk by chunk, in time
order, into both engines through ``Store.write`` in batches of ``--batch`` rows (a live
ingest writes 50,000-row batches; an import 500,000). With it: one ``aircraft`` row per
address (5 % military), one ``flights`` row and a take-off and a landing event per flight, at
airports drawn from 40 (a tenth of the landings at SVMI). Measured:

- positions written per second (wall time of the ``write`` calls only, not of generating);
- bytes per position on disk: DuckDB's file after CHECKPOINT (every table, so a little
  more than the positions alone); ClickHouse's ``positions`` parts after ``OPTIMIZE … FINAL``
  (``system.parts.bytes_on_disk``) and the whole data directory;
- latency of "one aircraft's day" (``store.positions(icao24, since=day, until=day+1)``, for
  ``--queries`` different aircraft) and of "military landings at one airport in a year" (the
  join of docs/schema.md, events × aircraft), median over ``--runs`` after a warm-up.

The engines are measured one after the other on the same history (generated again, chunk by
chunk, for each: the positions are never all in memory), so that one engine's background work
(ClickHouse merges) does not slow the other's writes. Progress, the write rate so far and an
estimate of the time left are printed after each chunk of 2 million positions.

Default size: 2 million positions over 365 days (under a minute); the full run is
``--positions 100_000_000`` (about 4 GB of temporary disk for both engines; see docs/history.md
for its duration on two cores). Writes bench/results/store.json.

    .venv/bin/python bench/store.py [--positions 2_000_000] [--batch 500_000] [--days 365]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rich.table import Table

from common import Result, console, machine, versions, write_results
from tailwatch.core.schema import AIRCRAFT_FIELDS, EVENT_FIELDS, FLIGHT_FIELDS, empty_columns
from tailwatch.store import open_store
from tailwatch.store.base import Store
from tailwatch.store.synthetic import synthetic_positions

ROWS_PER_FLIGHT = 2_400  # synthetic_positions: flights of 10-70 min at ~1 report/s
CHUNK_ROWS = 2_000_000
START = 1_546_300_800.0  # 2019-01-01 00:00:00 UTC
AIRPORTS = ["SVMI", "UUEE", "UUBW", "OSDI", "OSLK", "LFPG", "EGLL", "EDDF", "EHAM", "LEMD",
            "LIRF", "LSZH", "LOWW", "EPWA", "LKPR", "EKCH", "ESSA", "ENGM", "EFHK", "LTFM",
            "OMDB", "OTHH", "OERK", "HECA", "KJFK", "KLAX", "KORD", "KATL", "CYYZ", "MMMX",
            "SBGR", "SAEZ", "SKBO", "SPJC", "SCEL", "MPTO", "MUHA", "TNCC", "UMMS", "UKBB"]
MILITARY_SHARE = 0.05
#: a tenth of the landings are at SVMI (a busy airport in this history)
WEIGHTS = np.r_[0.1, np.full(len(AIRPORTS) - 1, 0.9 / (len(AIRPORTS) - 1))]

DUCKDB_LANDINGS = """
SELECT e.t, e.icao24, a.registration, a.typecode, a.operator, e.flight_id
FROM events AS e
JOIN aircraft AS a USING (icao24)
WHERE e.type = 'landing' AND e.airport = 'SVMI' AND a.military
  AND e.t >= TIMESTAMPTZ '2019-01-01 00:00:00+00' AND e.t < TIMESTAMPTZ '2020-01-01 00:00:00+00'
ORDER BY e.t
"""
CLICKHOUSE_LANDINGS = """
SELECT e.t, e.icao24, a.registration, a.typecode, a.operator, e.flight_id
FROM tailwatch.events AS e
INNER JOIN (SELECT * FROM tailwatch.aircraft FINAL) AS a USING (icao24)
WHERE e.type = 'landing' AND e.airport = 'SVMI' AND a.military
  AND e.t >= toDateTime64('2019-01-01 00:00:00', 6, 'UTC')
  AND e.t < toDateTime64('2020-01-01 00:00:00', 6, 'UTC')
ORDER BY e.t
"""


def _text(values: list[str]) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def derived(pos: dict[str, np.ndarray], rng: np.random.Generator, chunk: int
            ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One flight per address of the chunk (synthetic_positions gives each flight its own
    address): its flights row and a take-off and a landing event."""
    order = np.lexsort((pos["t"], pos["icao24"]))
    a = pos["icao24"][order]
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    ends = np.r_[starts[1:], a.size] - 1
    first, last = order[starts], order[ends]
    n = starts.size
    icao = a[starts]
    t0, t1 = pos["t"][first], pos["t"][last]
    origin = rng.choice(AIRPORTS, n)
    dest = rng.choice(AIRPORTS, n, p=WEIGHTS)
    ids = [f"{x:06x}-{chunk}" for x in icao.tolist()]
    f = empty_columns(FLIGHT_FIELDS, n)
    f.update(flight_id=_text(ids), icao24=icao, first_seen=t0, last_seen=t1,
             origin=_text(origin.tolist()), destination=_text(dest.tolist()), takeoff_t=t0,
             landing_t=t1, n_positions=(ends - starts + 1).astype(np.int32))
    for name in ("callsign", "takeoff_runway", "landing_runway", "callsigns", "itinerary_id"):
        f[name] = _text([""] * n)
    e = empty_columns(EVENT_FIELDS, 2 * n)
    e.update(t=np.r_[t0, t1], icao24=np.r_[icao, icao], flight_id=_text(ids + ids),
             type=_text(["takeoff"] * n + ["landing"] * n),
             airport=_text(origin.tolist() + dest.tolist()),
             lat=np.r_[pos["lat"][first], pos["lat"][last]],
             lon=np.r_[pos["lon"][first], pos["lon"][last]], details=_text(["{}"] * (2 * n)))
    return f, e


def aircraft_rows(icao: np.ndarray, first: np.ndarray, last: np.ndarray) -> dict[str, np.ndarray]:
    n = icao.size
    mil = (icao.astype(np.uint64) * np.uint64(2654435761) % np.uint64(1000)) < MILITARY_SHARE * 1000
    c = empty_columns(AIRCRAFT_FIELDS, n)
    c.update(icao24=icao, military=mil, first_seen=first, last_seen=last,
             registration=_text([f"R-{x:06X}" for x in icao.tolist()]),
             typecode=_text(np.where(mil, "IL76", "A320").tolist()))
    for name in ("description", "operator", "country"):
        c[name] = _text([""] * n)
    return c


def history(positions: int, n_chunks: int, days: int
            ) -> Iterator[tuple[int, dict[str, np.ndarray], dict[str, np.ndarray],
                                dict[str, np.ndarray]]]:
    """The synthetic history chunk by chunk, in time order: (chunk number, positions, flights,
    events). The same on every call (seeded per chunk), so each engine gets the same rows."""
    span_s = days * 86_400.0
    for k in range(n_chunks):
        flights = max(1, round(positions // n_chunks / ROWS_PER_FLIGHT))
        pos = synthetic_positions(flights, seed=1000 + k, start_t=START + k * span_s / n_chunks,
                                  span_s=span_s / n_chunks)
        f, e = derived(pos, np.random.default_rng(7 + k), k)
        yield k, pos, f, e


def note_aircraft(f: dict[str, np.ndarray], k: int, seen: dict[int, tuple[float, float]],
                  samples: list[tuple[int, float]]) -> None:
    """First and last time of each address, and three (address, time) to query per chunk."""
    for a, t0, t1 in zip(f["icao24"].tolist(), f["first_seen"].tolist(),
                         f["last_seen"].tolist(), strict=True):
        lo, hi = seen.get(a, (t0, t1))
        seen[a] = (min(lo, t0), max(hi, t1))
    rng = np.random.default_rng(100 + k)
    pick = rng.choice(f["icao24"].size, min(3, f["icao24"].size), replace=False)
    samples += [(int(f["icao24"][i]), float(f["first_seen"][i])) for i in pick.tolist()]


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _median_ms(fn: Any, runs: int) -> tuple[float, int]:
    fn()  # warm-up
    times, rows = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        rows = fn().num_rows
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--positions", type=lambda s: int(s.replace("_", "")), default=2_000_000)
    p.add_argument("--batch", type=lambda s: int(s.replace("_", "")), default=500_000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--queries", type=int, default=10, help="aircraft-days to query")
    p.add_argument("--engines", default="duckdb,chdb")
    p.add_argument("--dir", default=None, help="where the stores go (default: a temp dir)")
    args = p.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    tmp = Path(args.dir or tempfile.mkdtemp(prefix="tailwatch-bench-store-"))
    tmp.mkdir(parents=True, exist_ok=True)
    urls = {"duckdb": str(tmp / "bench.duckdb"), "chdb": f"clickhouse+chdb://{tmp / 'chdb'}"}
    write_s = dict.fromkeys(engines, 0.0)
    cpu_s = dict.fromkeys(engines, 0.0)
    n_chunks = max(1, round(args.positions / CHUNK_ROWS))
    seen: dict[int, tuple[float, float]] = {}
    samples: list[tuple[int, float]] = []
    console.print(f"[bold]store[/]: {args.positions:,} positions over {args.days} days, "
                  f"{n_chunks} chunk(s), batches of {args.batch:,}, engines {engines} "
                  f"(one after the other, each on the same generated history), in {tmp}")
    stores: dict[str, Store] = {}
    total = 0
    for eng in engines:
        store = stores[eng] = open_store(urls[eng])
        total = 0
        g0 = time.perf_counter()
        for k, pos, f, e in history(args.positions, n_chunks, args.days):
            n = pos["t"].size
            total += n
            if eng == engines[0]:
                note_aircraft(f, k, seen, samples)
            for s in range(0, n, args.batch):
                batch = {name: col[s : s + args.batch] for name, col in pos.items()}
                c0, w0 = time.process_time(), time.perf_counter()
                store.write("positions", batch)
                write_s[eng] += time.perf_counter() - w0
                cpu_s[eng] += time.process_time() - c0
            store.write("flights", f)
            store.write("events", e)
            spent = time.perf_counter() - g0
            console.print(f"  {eng} chunk {k + 1}/{n_chunks}: {total:,} positions, "
                          f"{total / write_s[eng]:,.0f} rows/s written; {spent:.0f} s, "
                          f"about {spent / (k + 1) * (n_chunks - k - 1):.0f} s to go")
    icao = np.array(sorted(seen), dtype=np.uint32)
    first = np.array([seen[a][0] for a in icao.tolist()])
    last = np.array([seen[a][1] for a in icao.tolist()])
    ac = aircraft_rows(icao, first, last)
    for store in stores.values():
        store.write("aircraft", ac)

    results: list[Result] = []
    engines_out: dict[str, Any] = {}
    qs = [samples[i] for i in np.linspace(0, len(samples) - 1, min(args.queries, len(samples)))
          .astype(int).tolist()]
    for eng, store in stores.items():
        out: dict[str, Any] = {"url": urls[eng].replace(str(tmp), "$TMP")}
        if eng == "duckdb":
            store.query("CHECKPOINT")
            size = os.path.getsize(urls["duckdb"])
            out["file_bytes"] = size
            out["bytes_per_position"] = size / total
        else:
            t0 = time.perf_counter()
            store.query("OPTIMIZE TABLE tailwatch.positions FINAL")
            out["optimize_s"] = time.perf_counter() - t0
            parts = store.query("SELECT sum(bytes_on_disk) AS b, sum(rows) AS r FROM system.parts"
                                " WHERE database = 'tailwatch' AND table = 'positions' AND active")
            b = int(parts.column("b")[0].as_py())
            out["positions_parts_bytes"] = b
            out["bytes_per_position"] = b / total
            out["dir_bytes"] = _dir_bytes(tmp / "chdb")
            out["dir_bytes_per_position"] = out["dir_bytes"] / total
        day_ms = []
        day_rows = []
        for a, t in qs:
            day0 = np.floor(t / 86_400.0) * 86_400.0
            ms, rows = _median_ms(lambda s=store, a=a, d=day0: s.positions(
                icao24=a, since=d, until=d + 86_400.0), args.runs)
            day_ms.append(ms)
            day_rows.append(rows)
        out["aircraft_day_ms_median"] = statistics.median(day_ms)
        out["aircraft_day_ms_max"] = max(day_ms)
        out["aircraft_day_rows_median"] = statistics.median(day_rows)
        sql = DUCKDB_LANDINGS if eng == "duckdb" else CLICKHOUSE_LANDINGS
        ms, rows = _median_ms(lambda s=store, q=sql: s.query(q), args.runs)
        out["military_landings_ms"] = ms
        out["military_landings_rows"] = rows
        out["write_s"] = write_s[eng]
        out["rows_per_s"] = total / write_s[eng]
        engines_out[eng] = out
        results.append(Result(f"{eng}: Store.write positions", "synthetic", total, 1,
                              write_s[eng], total / write_s[eng],
                              total / cpu_s[eng] if cpu_s[eng] else float("nan"),
                              f"batches of {args.batch:,}; {out['bytes_per_position']:.2f} B/pos"))
        store.close()

    table = Table(title=f"store: {total:,} positions over {args.days} days")
    for col in ("engine", "rows/s written", "bytes/position", "one aircraft's day (ms)",
                "military landings at SVMI, a year (ms)"):
        table.add_column(col)
    for eng, o in engines_out.items():
        table.add_row(eng, f"{o['rows_per_s']:,.0f}", f"{o['bytes_per_position']:.2f}",
                      f"{o['aircraft_day_ms_median']:.1f} (max {o['aircraft_day_ms_max']:.1f})",
                      f"{o['military_landings_ms']:.1f} ({o['military_landings_rows']} rows)")
    console.print(table)
    write_results("store", {
        "benchmark": "store",
        "description": __doc__,
        "history": {"positions": total, "days": args.days, "aircraft": int(icao.size),
                    "batch_rows": args.batch, "military_share": MILITARY_SHARE,
                    "airports": len(AIRPORTS)},
        "engines": engines_out,
        "machine": machine(),
        "versions": versions("tailwatch", "duckdb", "chdb", "numpy", "pyarrow"),
    }, results)
    if args.dir is None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
