"""A text format forced on a binary file (or a file with absurdly long lines) reads in
bounded memory: lines longer than the cap are dropped and counted under
``<format>_line_too_long``, and frames in = accepted + rejects still holds."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from tailwatch.decode.api import decode_frames
from tailwatch.ingest.files import MAX_LINE_BYTES, read_frames, read_sbs

ZEROS_BYTES = 24 << 20
BOUND_BYTES = 4 << 20  # read blocks of <= 256 KiB below, and the 64 KiB line cap


@pytest.fixture(scope="module")
def zeros(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("cap") / "zeros.bin"
    with p.open("wb") as fh:
        fh.truncate(ZEROS_BYTES)  # 24 MiB of zero bytes, no line end anywhere
    return p


def _peak(fn: object) -> tuple[int, object]:
    tracemalloc.start()
    try:
        out = fn()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1], out
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ["avr", "hexcsv", "jsonl"])
def test_forced_text_format_on_zeros_is_bounded_and_counted(zeros: Path, fmt: str) -> None:
    peak, batches = _peak(lambda: list(read_frames(zeros, fmt, batch_size=4096)))  # type: ignore[arg-type]
    assert peak < BOUND_BYTES, f"{peak / 2**20:.1f} MiB held for a {fmt} line"
    total = sum((b.rejects for b in batches), start=batches[0].rejects.__class__())
    assert dict(total) == {f"{fmt}_line_too_long": 1}
    assert sum(len(b) for b in batches) == 0


def test_sbs_on_zeros_is_bounded_and_counted(zeros: Path) -> None:
    peak, blocks = _peak(lambda: list(read_sbs(zeros, batch_lines=1000)))
    assert peak < BOUND_BYTES, f"{peak / 2**20:.1f} MiB held for an SBS line"
    assert sum(r.get("sbs_line_too_long", 0) for _, r in blocks) == 1


def test_long_lines_among_good_ones_are_dropped_one_each(tmp_path: Path) -> None:
    good = "*8D4840D6202CC371C32CE0576098;\n"
    huge = "*" + "A" * (MAX_LINE_BYTES + 10) + ";\n"
    body = good * 3 + huge + good * 2 + huge + huge + good + "*" + "B" * (3 * MAX_LINE_BYTES)
    p = tmp_path / "mixed.avr"
    p.write_text(body)
    batches = list(read_frames(p, "avr", batch_size=4))
    frames = sum(len(b) for b in batches)
    rejects: dict[str, int] = {}
    n_in = accepted = 0
    for b in batches:
        for k, v in b.rejects.items():
            rejects[k] = rejects.get(k, 0) + v
        m = decode_frames(b)
        n_in += m.n_in
        accepted += len(m)
    assert frames == 6
    assert rejects == {"avr_line_too_long": 4}  # three long lines and the unended tail
    assert n_in == accepted + sum(rejects.values())  # decode counts the ingest rejects too


def test_the_cap_is_a_parameter(tmp_path: Path) -> None:
    p = tmp_path / "frames.csv"
    p.write_text("1700000000.0,8D4840D6202CC371C32CE0576098\n" * 3
                 + "1700000001.0," + "0" * 200 + "\n")
    batches = list(read_frames(p, "hexcsv", max_line_bytes=100))
    assert sum(len(b) for b in batches) == 3
    assert sum(b.rejects.get("hexcsv_line_too_long", 0) for b in batches) == 1
