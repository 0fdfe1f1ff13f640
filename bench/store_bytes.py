"""Bytes per position of the history store, by ClickHouse column codec (and DuckDB for scale).

Writes one synthetic day of positions (tailwatch.store.synthetic) into ClickHouse (chdb)
tables that differ only in their column codecs, merges each into one part, and reads the
compressed size of every column from system.columns. Prints a Markdown table: bytes per
position per column and codec, the best codec per column, and the total of the codecs the
store uses (tailwatch.store.ddl) against plain LZ4. Also writes the same rows into a DuckDB
file through the store and reports its size.

    .venv/bin/python bench/store_bytes.py [n_flights]   # 800 flights ≈ 1.9 M positions
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import Any

import pyarrow as pa

from tailwatch.core.schema import POSITION_FIELDS
from tailwatch.store.base import open_store, to_arrow
from tailwatch.store.ddl import clickhouse_codec, clickhouse_type, is_time
from tailwatch.store.synthetic import synthetic_positions

VARIANTS = {
    "LZ4": "",
    "ZSTD(1)": "CODEC(ZSTD(1))",
    "ZSTD(3)": "CODEC(ZSTD(3))",
    "Delta,ZSTD": "CODEC(Delta, ZSTD(3))",
    "DoubleDelta,ZSTD": "CODEC(DoubleDelta, ZSTD(3))",
    "DoubleDelta": "CODEC(DoubleDelta)",
    "Gorilla,ZSTD": "CODEC(Gorilla, ZSTD(3))",
    "Gorilla": "CODEC(Gorilla)",
    "FPC,ZSTD": "CODEC(FPC, ZSTD(3))",
    "T64,ZSTD": "CODEC(T64, ZSTD(3))",
}


def _type(name: str, *, low_cardinality: bool, ms: bool = False) -> str:
    f = next(f for f in POSITION_FIELDS if f.name == name)
    typ = clickhouse_type("positions", f)
    if ms and is_time(f):
        typ = typ.replace("DateTime64(6", "DateTime64(3")
    if not low_cardinality and typ.startswith("LowCardinality("):
        typ = typ[len("LowCardinality(") : -1]
    return typ


def main() -> None:
    from chdb import session

    n_flights = int(sys.argv[1]) if len(sys.argv) > 1 else 800
    t0 = time.time()
    cols = synthetic_positions(n_flights, seed=7)
    data = to_arrow("positions", cols)
    n = len(data)
    print(f"{n} positions from {n_flights} flights, generated in {time.time() - t0:.1f} s\n")
    names = [f.name for f in POSITION_FIELDS]
    with tempfile.TemporaryDirectory() as tmp:
        sess: Any = session.Session(os.path.join(tmp, "ch"))  # type: ignore[no-untyped-call]
        sess.query("CREATE DATABASE bench")
        batch = data  # noqa: F841 (read by chdb's Python() table function)
        results: dict[tuple[str, str], float] = {}
        configs: list[tuple[str, str, bool, bool]] = [
            (label, codec, False, False) for label, codec in VARIANTS.items()
        ]
        configs += [
            ("LowCardinality", "", True, False),
            ("LowCardinality,ZSTD", "CODEC(ZSTD(3))", True, False),
            ("ms:DoubleDelta,ZSTD", "CODEC(DoubleDelta, ZSTD(3))", False, True),
            ("ms:Delta,ZSTD", "CODEC(Delta, ZSTD(3))", False, True),
            ("store", "store", True, False),
        ]
        for i, (label, codec, lc, ms) in enumerate(configs):
            defs = []
            measured: set[str] = set()
            for name in names:
                typ = _type(name, low_cardinality=lc, ms=ms)
                f = next(f for f in POSITION_FIELDS if f.name == name)
                c = clickhouse_codec("positions", f) if codec == "store" else codec
                if ms and not is_time(f):
                    continue
                if lc and codec != "store" and "String" not in typ:
                    continue
                try:  # skip codecs a type does not take
                    sess.query(
                        f"CREATE TABLE bench.probe ({name} {typ} {c}) "
                        "ENGINE = MergeTree ORDER BY tuple()"
                    )
                    sess.query("DROP TABLE bench.probe")
                except Exception:
                    continue
                defs.append((name, typ, c))
                measured.add(name)
            if not any(d[0] == "icao24" for d in defs):
                defs.insert(0, ("icao24", "String", ""))
            if not any(d[0] == "t" for d in defs):
                defs.insert(0, ("t", _type("t", low_cardinality=False, ms=ms), ""))
            table = f"bench.v{i}"
            sess.query(
                f"CREATE TABLE {table} ({', '.join(' '.join(d).strip() for d in defs)}) "
                "ENGINE = MergeTree PARTITION BY toYYYYMM(t) ORDER BY (icao24, t) "
                "SETTINGS min_bytes_for_wide_part = 0"
            )
            sel = ", ".join(d[0] for d in defs)
            sess.query(f"INSERT INTO {table} ({sel}) SELECT {sel} FROM Python(batch)")
            sess.query(f"OPTIMIZE TABLE {table} FINAL")
            out = sess.query(
                "SELECT name, data_compressed_bytes FROM system.columns "
                f"WHERE database = 'bench' AND table = 'v{i}'",
                "ArrowTable",
            )
            sizes = dict(zip(out.column(0).to_pylist(), out.column(1).to_pylist(), strict=True))
            for name in measured:
                results[(name, label)] = sizes[name] / n
        sess.close()
        duck_path = os.path.join(tmp, "bench.duckdb")
        store = open_store(duck_path)
        store.write("positions", data)
        store.query("CHECKPOINT")
        store.close()
        duck_bytes = os.path.getsize(duck_path)

    labels = [c[0] for c in configs]
    print("| column | " + " | ".join(labels) + " | best |")
    print("| --- " * (len(labels) + 2) + "|")
    for name in names:
        row = [results.get((name, label)) for label in labels]
        cands = {
            lab: v for lab, v in zip(labels, row, strict=True) if v is not None and lab != "store"
        }
        best = min(cands, key=lambda k: cands[k]) if cands else ""
        cells = ["" if v is None else f"{v:.3f}" for v in row]
        print(f"| {name} | " + " | ".join(cells) + f" | {best} |")
    total_store = sum(results.get((nm, "store"), 0.0) for nm in names)
    total_lz4 = sum(results.get((nm, "LZ4"), 0.0) for nm in names)
    total_best = 0.0
    for name in names:
        cands2 = [v for (nm, lab), v in results.items() if nm == name and lab != "store"]
        total_best += min(cands2) if cands2 else 0.0
    print(
        f"\nClickHouse bytes per position: store codecs {total_store:.2f}, "
        f"all LZ4 {total_lz4:.2f}, best per column {total_best:.2f}"
    )
    print(f"DuckDB file: {duck_bytes / n:.2f} bytes per position ({duck_bytes} bytes)")
    print(f"Arrow in memory: {data.nbytes / n:.2f} bytes per position")


if __name__ == "__main__":
    pa.set_cpu_count(1)
    main()
