"""Multi-receiver dedup on real frames: receptions of one transmission by several receivers
become one message with its receiver list; repeats from one receiver never merge."""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from tailwatch.core.frames import FrameBatch
from tailwatch.ingest.dedup import NO_RECEIVER, Dedup, DedupBatch

DATA = Path(__file__).resolve().parents[1] / "data"


def afr34zg(n: int) -> tuple[FrameBatch, np.ndarray]:
    frames, times = [], []
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        for _, line in zip(range(n), fh, strict=False):
            d = json.loads(line)
            h = d["frame"]
            frames.append(h[:14] if (int(h[:2], 16) >> 3) in (0, 4, 5, 11) else h)
            times.append(d["timestamp"])
    return FrameBatch.from_hex(frames), np.asarray(times)


@functools.cache
def simulate(n: int, n_rx: int, seed: int) -> tuple[FrameBatch, np.ndarray, np.ndarray]:
    """Real transmissions heard by ``n_rx`` receivers (each hears 70 %, over links 0-300 ms
    late); returns (receptions in arrival order, transmission index, receiver)."""
    tx, t = afr34zg(n)
    rng = np.random.default_rng(seed)
    heard = rng.random((len(tx), n_rx)) < 0.7
    heard[~heard.any(axis=1), 0] = True  # every transmission reaches someone
    ti, ri = np.nonzero(heard)
    arrival = t[ti] + rng.uniform(0.0, 0.3, ti.shape[0])
    order = np.argsort(arrival, kind="stable")
    ti, ri, arrival = ti[order], ri[order], arrival[order]
    fb = tx.take(ti)
    fb.t_rx[:] = arrival
    fb.receiver[:] = ri + 1
    fb.ts_12mhz[:] = (t[ti] * 12e6).astype(np.uint64) + (ri * 1000).astype(np.uint64)
    return fb, ti, ri + 1


def run_all(d: Dedup, fb: FrameBatch, step: int) -> DedupBatch:
    outs = [d.push(fb.take(np.arange(i, min(i + step, len(fb))))) for i in range(0, len(fb),
                                                                                    step)]
    outs.append(d.flush())
    return DedupBatch(
        frames=FrameBatch.concat([o.frames for o in outs]),
        n_receivers=np.concatenate([o.n_receivers for o in outs]),
        receivers=np.concatenate([o.receivers for o in outs]),
        ts_12mhz=np.concatenate([o.ts_12mhz for o in outs]),
        t_rx=np.concatenate([o.t_rx for o in outs]),
        signal_dbfs=np.concatenate([o.signal_dbfs for o in outs]),
    )


@pytest.mark.parametrize("step", [31, 5000, 100_000])
def test_each_transmission_becomes_one_message_with_its_receivers(step: int) -> None:
    fb, ti, rx = simulate(6000, 3, seed=1)
    d = Dedup(window_s=1.0)
    out = run_all(d, fb, step)
    assert d.receptions == len(fb) and d.messages == len(out.frames)
    assert d.messages + d.duplicates == len(fb) and d.pending == 0
    # the sample holds identical frames repeated by the aircraft < 1 s apart (DF11, DF5),
    # each heard by its own subset of receivers: count exactly what the rules give
    tx_bytes = [fb.hex(i) for i in range(len(fb))]
    expect = _reference_groups(tx_bytes, fb.t_rx, rx, 1.0)
    assert len(out.frames) == len(expect)
    got_counts = sorted(out.n_receivers.tolist())
    assert got_counts == sorted(len(g) for g in expect)
    # receivers per message: distinct, and padded
    for row, k in zip(out.receivers, out.n_receivers, strict=True):
        ids = row[row != NO_RECEIVER]
        assert len(ids) == k == len(set(ids.tolist()))
    # the 12 MHz counters of every reception are kept (they differ by receiver here)
    has2 = out.n_receivers >= 2
    assert (out.ts_12mhz[has2, 0] != out.ts_12mhz[has2, 1]).all()
    # against the truth of the simulation: one message per transmission, except where the
    # aircraft repeated the same bytes within the window (the documented cost), < 2 % here
    n_tx = int(np.unique(ti).shape[0])
    assert n_tx <= len(out.frames) <= 1.02 * n_tx


def _reference_groups(hexes: list[str], t: np.ndarray, rx: np.ndarray,
                      window: float) -> list[list[int]]:
    """The dedup rules written the slow, obvious way (a dict of open groups per frame)."""
    latest: dict[str, int] = {}
    groups: list[list[int]] = []
    t0: list[float] = []
    for i, h in enumerate(hexes):
        g = latest.get(h)
        if g is not None and t[i] - t0[g] <= window and int(rx[i]) not in groups[g]:
            groups[g].append(int(rx[i]))
            continue
        latest[h] = len(groups)
        groups.append([int(rx[i])])
        t0.append(float(t[i]))
    return groups


def test_same_receiver_repeats_and_late_copies_stay_apart() -> None:
    fb = FrameBatch.from_hex(["5d4ca2d4f1b8e6"] * 5)  # a DF11 all-call reply, repeated
    fb.t_rx[:] = [0.0, 0.1, 0.2, 1.5, 1.6]
    fb.receiver[:] = [1, 1, 2, 2, 3]
    out = Dedup(window_s=1.0).push(fb, now=10.0)
    # 0.0 r1 | 0.1 r1 (same receiver: new) | 0.2 r2 joins the newest (0.1) |
    # 1.5 r2 (out of the window of 0.1): new | 1.6 r3 joins it
    assert out.n_receivers.tolist() == [1, 2, 2]
    assert out.receivers[:, :2].tolist() == [[1, NO_RECEIVER], [1, 2], [2, 3]]


def test_short_replies_compare_on_seven_bytes_and_mode_ac_never_merges() -> None:
    raw = np.zeros((4, 14), np.uint8)
    raw[0, :7] = raw[1, :7] = np.frombuffer(bytes.fromhex("5d4ca2d4f1b8e6"), np.uint8)
    raw[1, 7:] = 0xAB  # a 14-byte container with garbage after the 7 bytes
    raw[2, :2] = raw[3, :2] = [0x12, 0x34]
    fb = FrameBatch.from_matrix(raw, [7, 14, 2, 2], t_rx=[0, 0.1, 0.2, 0.3],
                                receiver=[1, 2, 1, 2])
    out = Dedup().push(fb, now=5.0)
    assert out.n_receivers.tolist() == [2, 1, 1]


def test_messages_wait_for_the_window_and_keep_rejects_flowing() -> None:
    fb = FrameBatch.from_hex(["8d4840d6202cc371c32ce0576098", "8d4840d6202cc371c32ce0576098"])
    fb.t_rx[:] = [100.0, 100.4]
    fb.receiver[:] = [1, 2]
    fb.rejects["beast_heartbeat"] = 3
    d = Dedup(window_s=1.0)
    first = d.push(fb)
    assert len(first) == 0 and d.pending == 1 and first.frames.rejects["beast_heartbeat"] == 3
    assert len(d.push(FrameBatch.empty(), now=100.9)) == 0
    late = d.push(FrameBatch.empty(), now=101.0)
    assert late.n_receivers.tolist() == [2] and np.allclose(late.t_rx[0, :2], [100.0, 100.4])
    assert d.pending == 0


def test_no_time_passes_through_and_many_receivers_saturate_the_list() -> None:
    fb = FrameBatch.from_hex(["8d4840d6202cc371c32ce0576098"] * 12)
    fb.t_rx[:] = 1.0
    fb.t_rx[0] = np.nan
    fb.receiver[:] = np.arange(12)
    out = Dedup(max_receivers=4).push(fb, now=3.0)
    no_time = np.isnan(out.frames.t_rx)
    assert out.n_receivers[no_time].tolist() == [1] and out.n_receivers[~no_time].tolist() == [11]
    assert (out.receivers[~no_time][0] != NO_RECEIVER).sum() == 4
