"""Recording (lossless Beast with receiver time), replay (time merge, pacing), the modulator's
pulse layout, and the run / record / replay commands end to end over loopback sockets."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import numpy as np
import typer
from typer.testing import CliRunner

from tailwatch.cli import record_cmd, replay_cmd, run_cmd
from tailwatch.core.frames import FrameBatch
from tailwatch.ingest.beast import encode_beast, parse_beast
from tailwatch.ingest.files import read_frames
from tailwatch.ingest.modulator import SAMPLE_RATE_HZ, modulate, pulse_envelope
from tailwatch.ingest.net import Receivers
from tailwatch.ingest.record import Recorder, load_sidecar
from tailwatch.ingest.replay import Pacer, file_batches, merge_by_time
from tailwatch.ingest.urls import receiver_id64
from tailwatch.pipeline import Pipeline

DATA = Path(__file__).resolve().parents[1] / "data"
BEAST = DATA / "traffic_sample_dump1090.beast"


def sample() -> FrameBatch:
    return FrameBatch.concat(list(read_frames(BEAST, "beast")))


def app() -> typer.Typer:
    a = typer.Typer()
    for m in (run_cmd, record_cmd, replay_cmd):
        m.register(a)
    return a


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ----------------------------------------------------------------------------- recordings


def test_recording_is_lossless(tmp_path: Path) -> None:
    fb = sample()
    rx = Receivers()
    a = rx.add("roof", 0x1A1A_0000_0000_001A, (48.1, 11.5))  # ids that need escaping
    b = rx.add("garage", 0x0000_0000_0000_1A33, None)
    fb.receiver[:] = np.where(np.arange(len(fb)) % 3 == 0, a, b)
    fb.t_rx[:] = 1_720_000_000.0 + np.arange(len(fb)) * 0.0137  # ms values hit 0x1a too
    path = tmp_path / "rec.beast"
    rec = Recorder(path, rx, sources=["beast+tcp://x:30005"])
    rec.write(fb.take(np.arange(100)))
    rec.write(fb.take(np.arange(100, len(fb))))
    rec.close()
    side = load_sidecar(path)
    assert side is not None and side["frames"] == len(fb)
    assert {r["name"] for r in side["receivers"]} == {"roof", "garage"}
    # read back into a fresh run: receivers come back by id, with names and positions
    rx2 = Receivers()
    rx2.add("something-else")
    back = FrameBatch.concat(list(file_batches(path, receivers=rx2, receiver=1)))
    assert np.array_equal(back.raw, fb.raw) and np.array_equal(back.nbytes, fb.nbytes)
    assert np.array_equal(back.ts_12mhz, fb.ts_12mhz)
    assert np.array_equal(back.signal_dbfs, fb.signal_dbfs, equal_nan=True)
    assert np.abs(back.t_rx - fb.t_rx).max() <= 0.0005 + 1e-6  # kept to the millisecond
    names = np.array([rx2.names[int(u)] for u in back.receiver])
    assert (names == np.where(fb.receiver == a, "roof", "garage")).all()
    assert rx2.positions[rx2.uid_of64[0x1A1A_0000_0000_001A]] == (48.1, 11.5)
    # the generic Beast reader (and readsb) read the same stream
    _, _, st = parse_beast(path.read_bytes())
    assert st.counters["receiver_id"] >= 2 and st.counters["synthetic_now"] >= 200


def test_merge_by_time_interleaves_receivers(tmp_path: Path) -> None:
    fb = sample()
    t = 1_720_000_000.0 + np.sort(np.random.default_rng(3).uniform(0, 30, len(fb)))
    parts = []
    for k, name in enumerate(("a", "b")):
        rx = Receivers()
        rx.add(name, receiver_id64(name))
        sel = np.arange(k, len(fb), 2)
        part = fb.take(sel)
        part.t_rx[:] = t[sel]
        part.receiver[:] = 1
        rec = Recorder(tmp_path / f"{name}.beast", rx)
        rec.write(part)
        rec.close()
        parts.append(part)
    rx = Receivers()
    streams = [file_batches(tmp_path / f"{n}.beast", receivers=rx, batch_size=17)
               for n in ("a", "b")]
    merged = FrameBatch.concat(list(merge_by_time(streams)))
    assert len(merged) == len(fb)
    assert np.all(np.diff(merged.t_rx) >= 0)
    assert np.array_equal(merged.raw, fb.raw)  # the original order is the time order
    assert {rx.names[int(u)] for u in np.unique(merged.receiver)} == {"a", "b"}


def test_pacer_keeps_data_time_and_wall_time_in_step() -> None:
    p = Pacer(10.0)
    t0 = time.monotonic()
    for t in (100.0, 101.0, 102.0, 103.0):
        p.wait(t)
    assert 0.28 <= time.monotonic() - t0 <= 0.6  # 3 s of data at 10x
    assert Pacer(0).delay(1e9) == 0.0


# ----------------------------------------------------------------------------- modulator


def _reference_envelope(hexes: list[str], starts_us: list[float], n: int) -> np.ndarray:
    """The pulse train drawn from the standard's definition at 24 MHz (10 sub-samples per
    2.4 MHz sample, 12 per 0.5 µs pulse), then averaged per sample."""
    fine = np.zeros(n * 10 + 10, dtype=float)

    def pulse(t_us: float) -> None:
        a = round(t_us * 24)
        fine[a:a + 12] = 1.0

    for h, t0 in zip(hexes, starts_us, strict=True):
        for p in (0.0, 1.0, 3.5, 4.5):  # preamble
            pulse(t0 + p)
        for i, bit in enumerate(bin(int(h, 16))[2:].zfill(len(h) * 4)):
            pulse(t0 + 8 + i + (0.0 if bit == "1" else 0.5))  # 1: first half, 0: second
    return fine[: n * 10].reshape(n, 10).mean(axis=1)


def test_modulator_pulse_positions_follow_mode_s_ppm() -> None:
    hexes = ["8d4840d6202cc371c32ce0576098", "5d4ca2d4f1b8e6"]
    fb = FrameBatch.from_hex(hexes)
    iq, starts = modulate(fb, gap_us=50.0, lead_us=100.0, tail_us=100.0, noise=0.0)
    assert starts.tolist() == [240, int((100 + 120 + 50) * 2.4)]
    n = int(np.ceil((100 + 120 + 50 + 64 + 100) * 2.4))
    assert iq.shape[0] == 2 * n
    env = pulse_envelope(fb, np.array([100.0, 270.0]), n)
    assert np.allclose(env, _reference_envelope(hexes, [100.0, 270.0], n))
    mag = np.hypot(iq[0::2].astype(float) - 127.5, iq[1::2].astype(float) - 127.5)
    assert np.allclose(mag, 90.0 * env, atol=1.0)  # I/Q carry the envelope
    assert SAMPLE_RATE_HZ == 2_400_000


# ----------------------------------------------------------------------------- commands


def test_record_then_replay_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "rec.beast"
    res = runner.invoke(app(), ["record", "--source", f"file://{BEAST}?speed=max&rx=traffic",
                                "--out", str(out)])
    assert res.exit_code == 0, res.output
    side = load_sidecar(out)
    assert side is not None and side["frames"] == 239 and side["receivers"][0]["name"] == \
        "traffic"
    stats = tmp_path / "replay.json"
    res = runner.invoke(app(), ["replay", str(out), "--quiet", "--stats-json", str(stats)])
    assert res.exit_code == 0, res.output
    got = json.loads(stats.read_text())
    direct = Pipeline()
    for fb in read_frames(BEAST, "beast"):
        direct.process(fb, wall_time=1_720_000_000.0)
    assert got["frames_in"] == 239 and "dedup" not in got
    assert got["pipeline"]["messages"] == direct.stats.messages
    assert got["pipeline"]["positions"] == direct.stats.positions
    # the same file twice is the same receiver twice: never merged
    stats2 = tmp_path / "replay2.json"
    res = runner.invoke(app(), ["replay", str(out), str(out), "-q", "--stats-json",
                                str(stats2)])
    assert res.exit_code == 0, res.output
    got2 = json.loads(stats2.read_text())
    assert got2["frames_in"] == 2 * 239 and got2["dedup"]["duplicates"] == 0
    # two receivers recording the same transmissions: dedup merges them on replay
    two = tmp_path / "two.beast"
    res = runner.invoke(app(), ["record", "--source", f"file://{BEAST}?speed=max&rx=a",
                                "--source", f"file://{BEAST}?speed=max&rx=b", "--out",
                                str(two)])
    assert res.exit_code == 0, res.output
    stats3 = tmp_path / "replay3.json"
    res = runner.invoke(app(), ["replay", str(two), "-q", "--dedup", "--stats-json",
                                str(stats3)])
    assert res.exit_code == 0, res.output
    got3 = json.loads(stats3.read_text())
    assert got3["frames_in"] == 2 * 239
    assert got3["dedup"]["duplicates"] == 239 and got3["pipeline"]["messages"] == 239


def test_record_refuses_sources_without_frames(tmp_path: Path) -> None:
    res = CliRunner().invoke(app(), ["record", "--source", "sbs+tcp://127.0.0.1:30003",
                                     "--out", str(tmp_path / "x")])
    assert res.exit_code != 0 and "raw frames" in str(res.exception)


def test_run_command_ingests_reserves_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    raw = BEAST.read_bytes()
    in_port, out_port, sbs_port = free_port(), free_port(), free_port()
    received = bytearray()
    stats = tmp_path / "run.json"

    def client() -> None:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:  # wait for tailwatch to listen
            try:
                reader = socket.create_connection(("127.0.0.1", out_port), timeout=0.2)
                sender = socket.create_connection(("127.0.0.1", in_port), timeout=0.2)
                break
            except OSError:
                time.sleep(0.05)
        else:
            return
        time.sleep(0.2)
        sender.sendall(raw)
        sender.close()
        reader.settimeout(0.2)
        with reader:
            while time.monotonic() < deadline:
                try:
                    chunk = reader.recv(65536)
                except OSError:
                    chunk = b""
                received.extend(chunk)
                if len(parse_beast(bytes(received))[0]) >= 239:
                    break
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: tailwatch handles it and stops

    th = threading.Thread(target=client, daemon=True)
    t0 = time.monotonic()
    th.start()
    res = CliRunner().invoke(app(), [
        "run", "--source", f"beast+listen://127.0.0.1:{in_port}?rx=pushed",
        "--serve-beast", f"127.0.0.1:{out_port}", "--serve-sbs", f"127.0.0.1:{sbs_port}",
        "--duration", "20", "--stats-json", str(stats), "--db", str(tmp_path / "h.duckdb"),
    ])
    th.join(5)
    assert res.exit_code == 0, res.output
    assert time.monotonic() - t0 < 15  # stopped by the signal, not by --duration
    got = json.loads(stats.read_text())
    src = got["sources"][0]
    assert src["name"] == "pushed" and src["frames"] == 239 and src["connects"] == 1
    assert got["pipeline"]["frames"] == 239
    served, _, st = parse_beast(bytes(received))
    assert np.array_equal(served.raw, sample().raw)
    # the receiver-id extension names the source
    assert set(st.receiver_ids.values()) == {run_source_id("pushed")}
    # the store got every position before the exit
    assert got["store_rows"] == got["pipeline"]["positions"] > 0
    from tailwatch.store import open_store

    store = open_store(str(tmp_path / "h.duckdb"))
    try:
        n = store.query("select count(*) as n from positions").column("n")[0].as_py()
    finally:
        store.close()
    assert n == got["pipeline"]["positions"]


def run_source_id(name: str) -> int:
    from tailwatch.ingest.urls import receiver_id64

    return receiver_id64(name)


def test_encode_helpers_agree_with_the_recording_format() -> None:
    # a recording without time or ids is plain Beast, byte for byte
    fb = sample()
    from tailwatch.ingest.record import encode_recording

    data, _, _ = encode_recording(fb, {})
    assert data == encode_beast(fb)
    asyncio.run(asyncio.sleep(0))
