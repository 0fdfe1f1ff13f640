"""Child process of test_store_crash: ingest numbered batches with resume tokens, printing
``ack N`` once batch N is committed, until done or killed. Restarted, it resumes from the
store's token.

    python store_crash_child.py STORE_URL N_BATCHES BATCH_SIZE
"""

from __future__ import annotations

import sys

import numpy as np

from tailwatch.core.schema import POSITION_FIELDS, empty_columns
from tailwatch.store import ResumeToken, open_store

SOURCE = "crash-test.beast"
T0 = 1_600_000_000.0


def batch(i: int, size: int) -> dict[str, np.ndarray]:
    """Batch i: rows i*size ... (i+1)*size-1, one second apart, 50 aircraft in turn."""
    k = i * size + np.arange(size)
    cols = empty_columns(POSITION_FIELDS, size)
    cols["t"] = T0 + k.astype(np.float64)
    cols["icao24"][:] = 0x100000 + k % 50
    cols["lat"] = 45.0 + (k % 1000) * 1e-3
    cols["lon"] = 5.0 + (k % 777) * 1e-3
    cols["altitude_ft"][:] = 30000.0
    return cols


def main() -> None:
    url, total, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = open_store(url)
    token = store.resume_position(SOURCE)
    start = token.position if token else 0
    print(f"start {start}", flush=True)
    for i in range(start, total):
        store.write("positions", batch(i, size), resume=ResumeToken(SOURCE, i + 1))
        print(f"ack {i + 1}", flush=True)
    store.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
