"""The column-wise JSON writer: numbers as printf writes them, valid JSON, subsets, extras."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tailwatch.serve.render import (
    Fragments,
    RowWriter,
    callsign_fragments,
    hex_fragments,
    hex_strings,
    json_strings,
    labels,
)

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=100, deadline=None)
@given(st.lists(finite, min_size=1, max_size=40), st.integers(0, 6))
def test_numbers_match_printf(values: list[float], decimals: int) -> None:
    rows = RowWriter(len(values)).num("v", values, decimals).render()
    for i, v in enumerate(values):
        text = rows.row(i).decode()
        assert json.loads(text)["v"] is not None
        got = Decimal(text.split(":")[1].rstrip("}"))
        want = Decimal(f"{v:.{decimals}f}")
        # printf rounds the exact binary value; we scale then round half up: the two may
        # differ by one unit in the last place, and only near a tie
        assert abs(got - want) <= Decimal(10) ** -decimals, (v, decimals, got, want)
        if decimals:
            assert len(text.split(":")[1].rstrip("}").split(".")[1]) == decimals
        else:
            assert "." not in text


def test_absent_values_are_omitted_in_objects_and_null_in_arrays() -> None:
    vals = [1.5, np.nan, -2.25]
    codes = [0, -1, 5]
    obj = RowWriter(3).num("a", vals, 2).enum("e", codes, labels(["x", "y"])).render()
    assert [json.loads(obj.row(i)) for i in range(3)] == [{"a": 1.5, "e": "x"}, {}, {"a": -2.25}]
    arr = RowWriter(3, array=True).num("a", vals, 2).enum("e", codes, labels(["x", "y"])).render()
    assert json.loads(b"[" + arr.join() + b"]") == [[1.5, "x"], [None, None], [-2.25, None]]


def test_join_subset_order_and_extra_members() -> None:
    rows = RowWriter(4).num("i", [0, 1, 2, 3]).render()
    assert json.loads(b"[" + rows.join([3, 0, 2]) + b"]") == [{"i": 3}, {"i": 0}, {"i": 2}]
    assert rows.join([]) == b""
    extra = RowWriter(2).num("dst", [1.25, np.nan], 2).render()
    got = json.loads(b"[" + rows.join([1, 2], extra=extra) + b"]")
    assert got == [{"i": 1, "dst": 1.25}, {"i": 2}]
    with pytest.raises(IndexError):
        rows.join([4])
    with pytest.raises(ValueError):
        rows.join([0], extra=extra)
    empty = RowWriter(2).num("x", [np.nan, np.nan]).render()
    assert json.loads(b"[" + empty.join([0, 1], extra=extra) + b"]") == [{"dst": 1.25}, {}]


def test_strings_are_escaped_into_valid_json() -> None:
    nasty = ['F-GMZC', 'quote " and \\ back', "tab\tnew\nline", "Société Générale", None, ""]
    frags = Fragments.from_arrow(json_strings(pa.array(nasty)))
    rows = RowWriter(len(nasty)).frag("s", frags).render()
    got = [json.loads(rows.row(i)).get("s") for i in range(len(nasty))]
    assert got[:2] == nasty[:2]
    assert got[2] == "tab new line"  # control characters become spaces
    assert got[3] == "Société Générale"
    assert got[4] is None  # null: omitted
    assert got[5] == ""


def test_addresses_and_callsigns() -> None:
    addr = np.array([0x393322, 0xABCDEF | (1 << 24), 0], dtype=np.uint32)
    assert hex_strings(addr).tolist() == ["393322", "~abcdef", "000000"]
    rows = RowWriter(3).frag("hex", hex_fragments(addr)).render()
    assert [json.loads(rows.row(i))["hex"] for i in range(3)] == ["393322", "~abcdef", "000000"]
    cs = np.array([b"AFR34ZG", b"", b'A"B\\C'], dtype="S8")
    padded = RowWriter(3).frag("f", callsign_fragments(cs)).render()
    assert json.loads(padded.row(0)) == {"f": "AFR34ZG "}
    assert json.loads(padded.row(1)) == {}
    assert json.loads(padded.row(2)) == {"f": "A?B?C   "}
    trimmed = RowWriter(3).frag("f", callsign_fragments(cs, pad=False)).render()
    assert json.loads(trimmed.row(0)) == {"f": "AFR34ZG"}


def test_many_rows_parse_back() -> None:
    rng = np.random.default_rng(7)
    n = 5000
    a = np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n) * 1e4)
    rows = (RowWriter(n).frag("hex", hex_fragments(rng.integers(0, 1 << 24, n)))
            .num("a", a, 1).num("b", rng.integers(-5, 5, n)).render())
    parsed = json.loads(b"[" + rows.join() + b"]")
    assert len(parsed) == n
    for p, v in zip(parsed, a.tolist(), strict=True):
        if np.isnan(v):
            assert "a" not in p
        else:
            assert abs(p["a"] - v) <= 0.05 + 1e-9
