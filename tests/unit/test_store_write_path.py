"""The store's fast write path: compiled numpy → Arrow conversions, the hashed duplicate-key
check, key order, one row per key inside a batch, and the threaded WriterSink."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from tailwatch.core.errors import StoreError
from tailwatch.core.rejects import Rejects
from tailwatch.core.schema import FLIGHT_FIELDS, SOURCE_LABELS, TABLES, empty_columns
from tailwatch.store import ResumeToken, Store, WriterSink, open_store, to_arrow, to_columns
from tailwatch.store import kernels as kn
from tailwatch.store.base import has_duplicate_keys, one_row_per_key, storage_batch
from tailwatch.store.ddl import LAYOUTS
from tailwatch.store.synthetic import synthetic_positions

ENGINES = ["duckdb", "chdb"]


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (str(tmp_path / "s.duckdb") if request.param == "duckdb"
           else f"clickhouse+chdb://{tmp_path / 'ch'}")
    s = open_store(url)
    yield s
    s.close()


def _field(table: str, name: str) -> Any:
    return next(f for f in TABLES[table] if f.name == name)


# --- conversions -----------------------------------------------------------------------------


def test_conversions_match_their_plain_python_meaning() -> None:
    n = 7
    cols = empty_columns(TABLES["positions"], n)
    cols["t"] = np.array([1.5e9, 1.5e9 + 0.0000005, 1.5e9 + 0.0000015, np.nan, np.inf,
                          1.5e9 + 1e-7, 1.6e9])
    cols["icao24"] = np.array([0, 0xABCDEF, 0x1ABCDEF, 0xFFFFFF, 0x00000A, 0x123456, 0x4CA000],
                              np.uint32)
    cols["callsign"] = np.array([b"AFR34ZG ", b"", b"  ", b"A\xe9B", b"A B", b"12345678",
                                 b"X\x00\x00"], "S8")
    cols["squawk"] = np.array([7700, -1, 0, 1200, 7, 7777, 777]).astype(
        _field("positions", "squawk").dtype)
    cols["source"] = np.array([0, 1, -1, len(SOURCE_LABELS), 2, 0, 3], np.int8)
    cols["lat"] = np.array([1.0, np.nan, -2.5, 0.0, np.nan, 3.0, 4.0])
    arrow = to_arrow("positions", cols)
    us = arrow.column("t").cast(pa.int64()).to_pylist()
    assert us[:3] == [1_500_000_000_000_000, 1_500_000_000_000_000, 1_500_000_000_000_002]
    assert us[3] is None and us[4] is None and us[5] == 1_500_000_000_000_000
    assert arrow.column("icao24").to_pylist() == [
        "000000", "abcdef", "abcdef", "ffffff", "00000a", "123456", "4ca000"]
    assert arrow.column("callsign").to_pylist() == [
        "AFR34ZG", None, None, "A?B", "A B", "12345678", "X"]
    assert arrow.column("squawk").to_pylist()[:6] == ["7700", None, "0000", "1200", "0007",
                                                       "7777"]
    labels = arrow.column("source").to_pylist()
    assert labels == [SOURCE_LABELS[0], SOURCE_LABELS[1], None, None, SOURCE_LABELS[2],
                      SOURCE_LABELS[0], SOURCE_LABELS[3]]
    assert arrow.column("lat").to_pylist() == [1.0, None, -2.5, 0.0, None, 3.0, 4.0]


def test_synthetic_day_survives_the_round_trip() -> None:
    pos = synthetic_positions(5, seed=3)
    back = to_columns("positions", to_arrow("positions", pos))
    for name, col in pos.items():
        if col.dtype.kind == "f":
            assert np.array_equal(col, back[name], equal_nan=True), name
        elif name == "t":
            continue
        else:
            assert np.array_equal(col, back[name]), name
    assert np.allclose(pos["t"], back["t"], rtol=0, atol=1e-6)


# --- duplicate keys and key order -------------------------------------------------------------


def test_duplicate_key_check_is_exact_on_slices_and_chunks() -> None:
    pos = synthetic_positions(3, seed=1)
    data = to_arrow("positions", pos)
    assert not has_duplicate_keys(data, ("icao24", "t"))
    twice = pa.concat_tables([data.slice(10, 50), data.slice(40, 5)])  # chunked, offsets
    assert has_duplicate_keys(twice, ("icao24", "t"))
    near = dict(pos)
    near["t"] = pos["t"].copy()
    near["t"][1] = near["t"][0] + 1e-6  # one microsecond apart: different keys
    near["icao24"] = np.full_like(pos["icao24"], pos["icao24"][0])
    assert not has_duplicate_keys(to_arrow("positions", near), ("icao24", "t"))
    near["t"][1] = near["t"][0] + 1e-7  # the same microsecond in storage: the same key
    assert has_duplicate_keys(to_arrow("positions", near), ("icao24", "t"))


def test_one_row_per_key_keeps_the_first_or_the_last_in_batch_order() -> None:
    t = pa.table({"k": ["a", "b", "a", "c", "b"], "v": [1, 2, 3, 4, 5]})
    assert one_row_per_key(t, ("k",)).column("v").to_pylist() == [1, 2, 4]
    assert one_row_per_key(t, ("k",), last=True).column("v").to_pylist() == [3, 4, 5]


def test_storage_batch_is_sorted_with_one_row_per_stored_key() -> None:
    pos = synthetic_positions(4, seed=2)
    n = len(pos["t"])
    key = LAYOUTS["positions"].key
    # row 0 again: with bit 24 set (a non-ICAO address, stored as the same 6 hex digits)
    # and a time 0.1 µs later (the same stored microsecond): the same key as row 0
    extra = {k: v[:1].copy() for k, v in pos.items()}
    extra["icao24"] = extra["icao24"] | np.uint32(1 << 24)
    extra["t"] = extra["t"] + 1e-7
    extra["altitude_ft"][:] = 12_345.0
    given = {k: np.concatenate([v, extra[k]]) for k, v in pos.items()}
    for batch in (given, to_arrow("positions", given)):
        out = storage_batch("positions", batch, Rejects())
        pairs = list(zip(*(out.column(k).to_pylist() for k in key), strict=True))
        assert pairs == sorted(pairs) and len(pairs) == n
        assert 12_345.0 not in out.column("altitude_ft").to_pylist()  # the first row won


def test_fixed_width_strings_of_any_width() -> None:
    mat = np.frombuffer(b"AB \x00\x00" b"     " b"\xffxyz " b"12345", np.uint8).reshape(4, 5)
    offsets, data, valid = kn.fixed_strings(mat.copy())
    strings = [bytes(data[offsets[i]:offsets[i + 1]]) for i in range(4)]
    assert strings == [b"AB", b"", b"?xyz", b"12345"]
    assert valid.tolist() == [True, False, True, True]


# --- writes ----------------------------------------------------------------------------------


def test_duplicates_inside_one_batch_first_position_and_last_flight_win(store: Store) -> None:
    pos = synthetic_positions(2, seed=4)
    n = len(pos["t"])
    dup = {k: np.concatenate([v, v[:10]]) for k, v in pos.items()}
    dup["altitude_ft"] = dup["altitude_ft"].copy()
    dup["altitude_ft"][n:] = 99_999.0  # the repeated rows differ: the first ones must win
    assert store.write("positions", dup) == n
    back = to_columns("positions", store.positions())
    assert len(back["t"]) == n and not (back["altitude_ft"] == 99_999.0).any()
    f = empty_columns(FLIGHT_FIELDS, 3)
    ids = np.empty(3, dtype=object)
    ids[:] = ["abc123-1", "abc123-1", "abc123-2"]
    f.update(flight_id=ids, icao24=np.full(3, 0xABC123, np.uint32),
             first_seen=np.array([1.6e9, 1.6e9, 1.6e9 + 9000]),
             last_seen=np.array([1.6e9 + 100, 1.6e9 + 200, 1.6e9 + 9100]))
    for name in ("callsign", "origin", "destination", "takeoff_runway", "landing_runway",
                 "callsigns", "itinerary_id"):
        f[name] = np.array([""] * 3, dtype=object)
    store.write("flights", f)
    flights = to_columns("flights", store.flights())
    assert sorted(zip(flights["flight_id"].tolist(), flights["last_seen"].tolist(),
                      strict=True)) == [("abc123-1", 1.6e9 + 200), ("abc123-2", 1.6e9 + 9100)]


def test_duckdb_keeps_each_batch_in_key_order(tmp_path: Path) -> None:
    s = open_store(str(tmp_path / "o.duckdb"))
    pos = synthetic_positions(30, seed=5)
    half = len(pos["t"]) // 2
    s.write("positions", {k: v[:half] for k, v in pos.items()})
    s.write("positions", pos)  # the second half is new, the first is stored already
    rows = s.query("SELECT icao24, t FROM positions ORDER BY rowid").to_pylist()
    s.close()
    first = [(r["icao24"], r["t"]) for r in rows[:half]]
    second = [(r["icao24"], r["t"]) for r in rows[half:]]
    assert len(rows) == len(pos["t"])
    assert first == sorted(first) and second == sorted(second)


# --- WriterSink ------------------------------------------------------------------------------


def _batches(pos: Mapping[str, np.ndarray], size: int) -> Iterator[dict[str, np.ndarray]]:
    for s in range(0, len(pos["t"]), size):
        yield {k: v[s : s + size] for k, v in pos.items()}


def test_writer_sink_stores_everything_with_resume_tokens(store: Store) -> None:
    pos = synthetic_positions(6, seed=6)
    sink = WriterSink(store, flush_rows=1_000, max_pending=1,
                      resume=lambda rows: ResumeToken("feed", rows))
    for b in _batches(pos, 333):
        sink(b)
    sink.flush()
    assert sink.rows_given == sink.rows_written == len(pos["t"])
    assert store.positions().num_rows == len(pos["t"])
    assert store.resume_position("feed") == ResumeToken("feed", len(pos["t"]))
    sink.close()


class _FailingStore:
    """Writes its first batch, fails at the second, counts what it was asked."""

    def __init__(self) -> None:
        self.calls = 0
        self.closed = False
        self.threads: set[str] = set()

    def write(self, table: str, columns: Any, *, resume: Any = None) -> int:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        if self.calls == 2:
            raise StoreError("disk full")
        return len(columns["t"])

    def close(self) -> None:
        self.closed = True


def test_writer_sink_raises_a_writer_error_in_the_caller_for_good() -> None:
    fake = _FailingStore()
    sink = WriterSink(fake, flush_rows=10)  # type: ignore[arg-type]
    pos = synthetic_positions(1, seed=7)
    for b in _batches(pos, 10):
        try:
            sink(b)
        except StoreError:
            break
    with pytest.raises(StoreError, match="disk full"):
        sink.flush()
    with pytest.raises(StoreError, match="disk full"):
        sink({k: v[:5] for k, v in pos.items()})
    assert fake.calls == 2  # nothing after the failed batch
    assert fake.threads == {"tailwatch-store-writer"}
    with pytest.raises(StoreError):
        sink.close()
    assert fake.closed
