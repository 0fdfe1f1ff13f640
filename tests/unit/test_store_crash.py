"""Crash safety of the DuckDB store: an ingest process is killed (SIGKILL) at random moments,
restarted from its resume token each time, and in the end every acknowledged (committed) row
is there exactly once, and the stored token always matches the rows stored."""

from __future__ import annotations

import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tailwatch.store import open_store

CHILD = Path(__file__).with_name("store_crash_child.py")
N_BATCHES = 240
BATCH = 100
KILLS = 20
SOURCE = "crash-test.beast"
T0 = 1_600_000_000.0


def _reader(proc: subprocess.Popen[str], out: queue.Queue[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        out.put(line.strip())


def _state(url: str) -> tuple[int, int, int, int]:
    """(token position, rows, distinct (icao24, t), rows of batches below the token)."""
    store = open_store(url)
    try:
        token = store.resume_position(SOURCE)
        pos = token.position if token else 0
        row = store.query(
            "SELECT count(*) AS n, count(DISTINCT (icao24, t)) AS d, "
            "count(*) FILTER (WHERE t < to_timestamp($end)) AS below FROM positions",
            {"end": T0 + pos * BATCH},
        ).to_pylist()[0]
        return pos, int(row["n"]), int(row["d"]), int(row["below"])
    finally:
        store.close()


@pytest.mark.slow
def test_sigkilled_ingest_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'crash.duckdb'}"
    rng = random.Random(20240611)
    acked = 0
    kills = 0
    mid_write_kills = 0
    started = time.monotonic()
    while kills < KILLS:
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), url, str(N_BATCHES), str(BATCH)],
            stdout=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=_reader, args=(proc, lines), daemon=True)
        reader.start()
        seen: list[str] = []
        if kills % 4 == 3:
            # anywhere: during start-up, opening (WAL replay) or writing
            time.sleep(rng.uniform(0.2, 2.0))
        else:
            # once it is writing (first batch acknowledged), at a random moment
            while not (seen and seen[-1].startswith(("ack", "done"))):
                seen.append(lines.get(timeout=30))
            time.sleep(rng.uniform(0.0, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        reader.join(timeout=30)
        kills += 1
        while not lines.empty():
            seen.append(lines.get())
        acks = [int(s.split()[1]) for s in seen if s.startswith("ack")]
        if acks:
            acked = max(acked, *acks)
            mid_write_kills += 1
        pos, n, distinct, below = _state(url)
        # the token and the rows are committed together: never one without the other
        assert n == distinct == below == pos * BATCH, (pos, n, distinct, below)
        # nothing acknowledged is lost
        assert pos >= acked
    assert mid_write_kills >= KILLS // 2  # most kills interrupted an ingest in progress
    # restart once more and let it finish
    done = subprocess.run(
        [sys.executable, str(CHILD), url, str(N_BATCHES), str(BATCH)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip().endswith("done")
    pos, n, distinct, below = _state(url)
    assert pos == N_BATCHES
    assert n == distinct == below == N_BATCHES * BATCH
    assert time.monotonic() - started < 120
