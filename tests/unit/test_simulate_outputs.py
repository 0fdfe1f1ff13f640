"""Simulator outputs: Beast/AVR/SBS round trips through tailwatch's readers (and Beast through
pyModeS's parser), pacing, the truth files, the command line and the Beast server."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import sys
import threading
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pyModeS as pms
import pytest
import typer
from pyModeS.cli import _source
from typer.testing import CliRunner

from tailwatch import decode
from tailwatch.core.errors import ConfigError
from tailwatch.core.frames import FrameBatch
from tailwatch.core.rejects import Rejects
from tailwatch.ingest.beast import BeastState, parse_beast
from tailwatch.ingest.files import detect_format, read_frames, read_sbs
from tailwatch.simulate import FeedWriter, Simulation, load_scenario, simulate, write
from tailwatch.simulate.scenario import Window


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(load_scenario("emergency"))


@pytest.fixture(scope="module")
def short() -> Simulation:
    """Three minutes around the first take-off, with all the noise."""
    sc = load_scenario("emergency")
    w = sc.windows[0]
    return simulate(sc, windows=[Window(w.start + 290, w.start + 470)])


def _read(path: Path, fmt: str) -> tuple[FrameBatch, Rejects]:
    batches = list(read_frames(path, fmt))  # type: ignore[arg-type]
    rejects = Rejects()
    for b in batches:
        rejects.merge(b.rejects)
    return FrameBatch.concat(batches), rejects


def test_beast_round_trip(sim: Simulation, tmp_path: Path) -> None:
    path = tmp_path / "feed.beast"
    path.write_bytes(FeedWriter(sim, "beast").encode())
    assert detect_format(path) == "beast"
    fb, rejects = _read(path, "auto")
    f = sim.frames
    assert not rejects
    assert np.array_equal(fb.raw, f.raw) and np.array_equal(fb.nbytes, f.nbytes)
    assert np.array_equal(fb.ts_12mhz, f.ts_12mhz)
    assert np.array_equal(fb.signal_dbfs, f.signal_dbfs, equal_nan=True)
    assert np.abs(fb.t_rx - f.t_rx).max() <= 0.001  # the replay clock is in milliseconds
    # the receiver ids (64-bit) come back: one uint16 per receiver, the same partition
    pairs = set(zip(fb.receiver.tolist(), f.receiver.tolist(), strict=True))
    assert len(pairs) == len(sim.receivers) == len({a for a, _ in pairs})
    st = BeastState(receiver_table={r.id64: r.uid for r in sim.receivers})
    again, _, st = parse_beast(path.read_bytes(), state=st)
    assert np.array_equal(again.receiver, f.receiver)
    assert st.counters["garbage_bytes"] == sim.counts["garbage_bytes"] > 0
    # decoding the file rejects exactly the injected noise
    b = decode(fb)
    assert dict(b.rejects) == sim.truth.summary["expected"]["decode_rejects"]
    assert int(b["corrected"].sum()) == sim.truth.summary["expected"]["corrected"]


def test_avr_round_trip(sim: Simulation, tmp_path: Path) -> None:
    path = tmp_path / "feed.avr"
    data = FeedWriter(sim, "avr").encode()
    path.write_bytes(data)
    assert detect_format(path) == "avr"
    fb, rejects = _read(path, "avr")
    assert dict(rejects) == {"avr_bad_line": sim.counts["garbage_bursts"]}
    assert np.array_equal(fb.raw, sim.frames.raw)
    assert np.array_equal(fb.ts_12mhz, sim.frames.ts_12mhz)
    # a receiver's own feed: only its frames
    one = FeedWriter(sim, "avr", receivers=["paphos"], garbage=False).encode()
    uid = next(r.uid for r in sim.receivers if r.name == "paphos")
    assert one.count(b"\n") == int((sim.frames.receiver == uid).sum())


def test_sbs_round_trip(sim: Simulation, tmp_path: Path) -> None:
    path = tmp_path / "feed.sbs"
    writer = FeedWriter(sim, "sbs")
    path.write_bytes(writer.encode())
    assert detect_format(path) == "sbs"
    parts = list(read_sbs(path))
    rejects = Rejects()
    for _, r in parts:
        rejects.merge(r)
    assert dict(rejects) == {"sbs_bad_line": sim.counts["garbage_bursts"]}
    cols = {k: np.concatenate([p[0][k] for p in parts]) for k in parts[0][0]}
    mine = writer._sbs
    assert np.array_equal(cols["icao24"], mine["icao24"])
    assert np.array_equal(cols["sbs_type"], mine["sbs_type"])
    assert np.abs(cols["t"] - mine["t"]).max() <= 0.0006  # written in ms
    assert np.allclose(cols["lat"], mine["lat"], atol=5e-7, equal_nan=True)
    assert np.allclose(cols["altitude_ft"], mine["altitude_ft"], equal_nan=True)
    # the positions are the truth's, at the first good reception
    truth = sim.truth.positions
    pos = np.isin(cols["sbs_type"], (2, 3))
    assert pos.sum() == truth["t"].size
    assert np.allclose(np.sort(cols["t"][pos]), np.sort(truth["t_rx"]), atol=0.0006)
    calls = {c.rstrip() for c in cols["callsign"][cols["sbs_type"] == 1].tolist()}
    assert calls == {b"CYP27T", b"CYP401", b"AEE929"}
    sq = cols["squawk"][(cols["icao24"] == 0x4C80A2) & (cols["sbs_type"] == 6)]
    assert {4621, 7700} <= set(sq.tolist())
    em = cols["emergency"][(cols["sbs_type"] == 6) & (cols["squawk"] == 7700)]
    assert (em == 1).all()


def test_beast_through_pymodes(short: Simulation) -> None:
    data = FeedWriter(short, "beast", clock=False).encode()
    theirs, rest = _source._parse_beast_buffer(data)
    assert rest == b""
    f = short.frames
    mode_s = np.flatnonzero(f.nbytes != 2)
    assert len(theirs) == mode_s.size > 1000
    assert [h for _, h in theirs] == [f.hex(int(i)).upper() for i in mode_s]
    assert [t for t, _ in theirs] == f.ts_12mhz[mode_s].tolist()
    # and pyModeS decodes the identifications as sent
    calls = set()
    for _, h in theirs:
        if h[:2] in ("8C", "8D"):
            d = dict(pms.decode(h))
            if d.get("crc_valid") and "callsign" in d:
                calls.add(d["callsign"])
    sent = short.schedule["callsign"][short.schedule["kind"] == 4]
    assert calls == {c.decode().strip() for c in sent.tolist()} == {"CYP27T", "CYP401"}


def test_paced_writing(short: Simulation) -> None:
    writer = FeedWriter(short, "avr")
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    out = io.BytesIO()
    n = write(writer, out, speed=30.0, sleep=sleep, clock=lambda: now[0])
    assert out.getvalue() == writer.encode() and n == len(out.getvalue())
    span = short.spans[0][1] - short.spans[0][0]
    assert span / 30.0 - 1.0 < now[0] <= span / 30.0 + 1.0
    assert max(slept) < 1.0  # small steps: a smooth stream


def test_truth_files(short: Simulation, tmp_path: Path) -> None:
    written = short.truth.write(tmp_path / "truth")
    names = {p.name for p in written}
    assert names == {"positions.parquet", "legs.parquet", "stopovers.parquet",
                     "coverage.parquet", "events.parquet", "aircraft.json", "receivers.json",
                     "summary.json"}  # fmt: skip
    pos = pq.read_table(tmp_path / "truth" / "positions.parquet")
    assert pos.num_rows == short.truth.positions["t"].size > 0
    assert set(pos.column("icao24").to_pylist()) <= {"4c80a2", "4c8117", "46b8a4"}
    legs = pq.read_table(tmp_path / "truth" / "legs.parquet").to_pylist()
    cyp = next(row for row in legs if row["icao24"] == "4c80a2")
    assert (cyp["origin"], cyp["takeoff_runway"], cyp["go_arounds"]) == ("LCLK", "22", 1)
    summary = json.loads((tmp_path / "truth" / "summary.json").read_text())
    assert summary["counts"]["frames"] == len(short.frames)
    receivers = json.loads((tmp_path / "truth" / "receivers.json").read_text())
    assert [r["name"] for r in receivers] == ["larnaca", "paphos", "troodos"]


def _cli() -> typer.Typer:
    from tailwatch.cli import simulate_cmd

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test app"""

    simulate_cmd.register(app)
    return app


def test_cli(tmp_path: Path) -> None:
    app = _cli()
    runner = CliRunner()
    out = tmp_path / "feed.avr"
    res = runner.invoke(app, ["simulate", "emergency", "--format", "avr", "--out", str(out),
                              "--truth", str(tmp_path / "t"), "--seed", "3"])  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "t" / "summary.json").read_text())
    assert summary["seed"] == 3
    fb, rejects = _read(out, "avr")
    assert len(fb) == summary["counts"]["frames"]
    assert rejects["avr_bad_line"] == summary["expected"]["avr_bad_line"]
    res = runner.invoke(app, ["simulate", "emergency", "--speed", "fast", "--out",
                              str(tmp_path / "x")])  # fmt: skip
    assert res.exit_code == 2
    res = runner.invoke(app, ["simulate", "emergency", "--serve-beast", "nowhere"])
    assert res.exit_code == 2


def test_serve_beast_without_a_feed_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tailwatch.ingest.outputs", None)  # not built yet
    res = CliRunner().invoke(_cli(), ["simulate", "emergency", "--no-traffic",
                                      "--serve-beast", "127.0.0.1:0"])  # fmt: skip
    assert isinstance(res.exception, ConfigError)
    assert "not available yet" in str(res.exception)


def test_serve_beast(short: Simulation) -> None:
    pytest.importorskip("tailwatch.ingest.outputs")
    from tailwatch.simulate import serve_beast

    ready = threading.Event()
    port: list[int] = []
    result: list[int] = []

    def listening(host: str, p: int) -> None:
        port.append(p)
        ready.set()

    def run() -> None:
        result.append(asyncio.run(serve_beast(short, "127.0.0.1", 0, speed=None,
                                              on_listening=listening)))  # fmt: skip

    th = threading.Thread(target=run, daemon=True)
    th.start()
    assert ready.wait(10)
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port[0]), timeout=10) as s:
        while chunk := s.recv(65536):
            received += chunk
    th.join(10)
    fb, _, _ = parse_beast(bytes(received))
    assert result == [len(short.frames)]
    assert np.array_equal(fb.raw, short.frames.raw)


_CLOCKED = """
[scenario]
name = "tiny"
windows = [{ start = 2023-05-10T10:00:00Z, end = 2023-05-10T10:01:00Z }]
[[receivers]]
name = "a"
lat = 52.37
lon = 4.90
clock = "gps"
[[receivers]]
name = "b"
lat = 51.92
lon = 4.48
clock = "free"
clock_offset_s = 10.0
[[interference]]
kind = "jamming"
lat = 52.0
lon = 4.6
radius_nm = 30
start = 2023-05-10T10:00:00Z
end = 2023-05-10T10:01:00Z
lose_positions = 0.0
[[aircraft]]
icao24 = "480c1f"
callsign = "NAF01"
type = "C130"
adsb = false
[[aircraft.legs]]
from = [52.3, 4.2]
to = [51.8, 5.0]
start = 2023-05-10T09:59:00Z
start_altitude_ft = 20000
[[aircraft]]
icao24 = "484b11"
callsign = "KLM12"
type = "A320"
[[aircraft.legs]]
from = [52.2, 4.3]
to = [51.9, 5.0]
start = 2023-05-10T09:59:30Z
start_altitude_ft = 10000
"""


def test_cli_list_side_file_and_summary(tmp_path: Path) -> None:
    app = _cli()
    runner = CliRunner()
    res = runner.invoke(app, ["simulate", "--list"])
    assert res.exit_code == 0
    names = [line.split()[0] for line in res.output.splitlines() if line.strip()]
    assert names == ["airlift2019", "baltic_gnss", "emergency", "mlat_benelux", "mlat:NxRxM"]
    res = runner.invoke(app, ["simulate"])
    assert res.exit_code == 2
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(_CLOCKED)
    out = tmp_path / "feed.beast"
    res = runner.invoke(app, ["simulate", str(scenario), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "receiver clocks: 1 free, 1 gps" in res.output
    assert "GNSS interference: 1 aircraft degraded" in res.output
    side = json.loads((tmp_path / "feed.beast.json").read_text())
    assert [r["name"] for r in side["receivers"]] == ["a", "b"]
    assert side["bytes"] == out.stat().st_size and side["frames"] > 0
    res = runner.invoke(app, ["simulate", str(scenario), "--out", str(tmp_path / "x.beast"),
                              "--no-sidecar", "-q"])  # fmt: skip
    assert res.exit_code == 0 and not (tmp_path / "x.beast.json").exists()
    res = runner.invoke(app, ["simulate", str(scenario), "--out", str(tmp_path / "b.beast"),
                              "--receiver", "b", "-q"])  # fmt: skip
    side = json.loads((tmp_path / "b.beast.json").read_text())
    assert res.exit_code == 0 and [r["name"] for r in side["receivers"]] == ["b"]
