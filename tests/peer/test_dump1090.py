"""tailwatch against the real Debian dump1090-mutability (1.15~20180310), run as a process
on loopback ports (never as a service):

(a) tailwatch pushes a recording to dump1090's input ports (Beast 30004-style, raw 30001-style)
    and dump1090's own statistics account for every frame: none bad, and exactly the ones
    its documented address rules cannot attribute are "unrecognized ICAO";
(b) tailwatch reads dump1090's outputs (Beast, AVR, SBS) and gets back the frames, time
    stamps and aircraft it fed it;
(c) tailwatch's modulator turns frames into 2.4 MS/s I/Q, ``dump1090 --ifile`` demodulates
    them, and tailwatch reads the result back off dump1090's Beast output and tracks it: the
    radio-to-map chain without a radio.

If dump1090-mutability is missing, the tests FAIL and say so. Every process is bounded in
time and killed at the end.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tailwatch.core.frames import FrameBatch
from tailwatch.core.schema import SOURCE_LABELS
from tailwatch.decode.crc import remainders
from tailwatch.encode import airborne_position, identification, velocity_ground
from tailwatch.ingest.aggregator import Aggregator, run_feed
from tailwatch.ingest.beast import encode_beast
from tailwatch.ingest.files import read_frames
from tailwatch.ingest.modulator import frame_duration_us, modulate
from tailwatch.ingest.net import AvrFramer, BeastFramer, Chunk, SbsFramer, SourceCounters
from tailwatch.ingest.outputs import FeedPusher, Outputs
from tailwatch.ingest.sources import Feed, FeedOptions
from tailwatch.ingest.urls import parse_source_url
from tailwatch.pipeline import Pipeline
from tailwatch.track.tracker import STATE_POSITION_REJECTS

pytestmark = pytest.mark.peer

DATA = Path(__file__).resolve().parents[1] / "data"
BEAST = DATA / "traffic_sample_dump1090.beast"
AFR = DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz"
EXE = "dump1090-mutability"
# dump1090-mutability reads files in blocks of 131072 samples and, when it carries the
# overlap from one block to the next, copies the samples that precede the overlap instead of
# the overlap itself (dump1090.c readDataFromFile: lastbuf->data + length - trailing, where
# the data already starts with the trailing samples). Frames that start within ~2 overlaps
# before a block boundary are lost or doubled. The radio tests keep frames out of that zone.
BLOCK_SAMPLES = 131072
TRAILING = int((8 + 112 + 16) * 2.4)


def dump1090() -> str:
    exe = shutil.which(EXE) or ("/usr/bin/" + EXE if Path("/usr/bin/" + EXE).exists()
                                else None)
    if exe is None:
        pytest.fail(f"{EXE} is not installed: the peer tests need Debian's {EXE} "
                    "(scripts/install-test-peers.sh, or apt-get install dump1090-mutability)")
    return exe


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def nominal(h: str) -> str:
    return h[:14] if (int(h[:2], 16) >> 3) in (0, 4, 5, 11) else h


def afr34zg_hex() -> list[str]:
    with gzip.open(AFR, "rt") as fh:
        return [nominal(json.loads(line)["frame"]) for line in fh]


class Dump1090:
    """One dump1090-mutability process on free loopback ports."""

    def __init__(self, workdir: Path, *, ifile: str | None = None, throttle: bool = False,
                 timeout_s: float = 60.0):
        self.ri, self.ro, self.sbs, self.bi, self.bo = free_ports(5)
        self.json_dir = workdir / "json"
        self.json_dir.mkdir(exist_ok=True)
        args = [dump1090(), "--net-bind-address", "127.0.0.1",
                "--net-ri-port", str(self.ri), "--net-ro-port", str(self.ro),
                "--net-sbs-port", str(self.sbs), "--net-bi-port", str(self.bi),
                "--net-bo-port", str(self.bo), "--net-verbatim", "--quiet", "--stats",
                "--write-json", str(self.json_dir), "--write-json-every", "1"]
        args += ["--net", "--ifile", ifile] if ifile else ["--net-only"]
        if throttle:  # play the samples back in real time, as a radio would deliver them
            args.append("--throttle")
        self.deadline = time.monotonic() + timeout_s
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE if ifile == "-" else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=False,
            env={**os.environ, "TZ": "UTC"}, start_new_session=True)
        self.stdout = ""
        self.stderr = ""

    def wait_listening(self, timeout_s: float = 10.0) -> None:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                pytest.fail(f"{EXE} exited early: {self.proc.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
            try:
                socket.create_connection(("127.0.0.1", self.bi), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"{EXE} did not listen within {timeout_s} s")

    def stop(self) -> dict[str, dict[str, int]]:
        """SIGINT (it prints its statistics at a clean exit); kill if it hangs."""
        if self.proc.stdin is not None and self.proc.stdin.closed:
            self.proc.stdin = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            out, err = self.proc.communicate(timeout=max(1.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"{EXE} did not stop")
        self.stdout, self.stderr = out.decode(errors="replace"), err.decode(errors="replace")
        return parse_stats(self.stdout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=5)

    def aircraft(self, messages: int, timeout_s: float = 20.0) -> set[int]:
        """Its aircraft.json once it reports ``messages`` usable messages (it rewrites the
        file every second and reads its clients every 100 ms)."""
        end = time.monotonic() + timeout_s
        doc: dict[str, Any] = {}
        while time.monotonic() < end:
            try:
                doc = json.loads((self.json_dir / "aircraft.json").read_text())
            except (OSError, ValueError):  # not written yet, or being replaced
                doc = {}
            if doc.get("messages", -1) >= messages:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"{EXE} reported {doc.get('messages')} of {messages} messages")
        return {int(a["hex"], 16) for a in doc["aircraft"] if not a["hex"].startswith("~")}


def parse_stats(text: str) -> dict[str, dict[str, int]]:
    """dump1090's exit statistics: the 'Local receiver' and 'network clients' blocks."""
    def block(header: str) -> dict[str, int]:
        i = text.find(header)
        if i < 0:
            return {}
        body = text[i:]
        pats = {
            "preambles": r"(\d+) Mode-S message preambles received",
            "received": r"(\d+) Mode S messages received",
            "bad": r"(\d+) with bad message format or invalid CRC",
            "unknown_icao": r"(\d+) with unrecognized ICAO address",
            "accepted": r"(\d+) accepted with correct CRC",
            "repaired": r"(\d+) accepted with 1-bit error repaired",
        }
        out = {}
        for k, p in pats.items():
            m = re.search(p, body)
            if m is not None:
                out[k] = int(m.group(1))
        return out

    total = re.search(r"(\d+) total usable messages", text)
    return {"local": block("Local receiver:"), "remote": block("Messages from network clients:"),
            "total": {"usable": int(total.group(1)) if total else -1}}


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Any]:
    made: list[Dump1090] = []

    def make(**kw: Any) -> Dump1090:
        d = Dump1090(tmp_path, **kw)
        made.append(d)
        return d

    yield make
    for d in made:
        d.kill()


def dump1090_rules(fb: FrameBatch) -> tuple[Counter[str], list[int], Counter[int]]:
    """dump1090's documented rules (mode_s.c decodeModesMessage), applied with tailwatch's
    CRC: addresses are learnt only from DF17/18 with a zero remainder and DF11 with a zero
    remainder (II = 0); DF0/4/5/16/20/21 are accepted when their remainder (the address) has
    been learnt, else 'unrecognized ICAO'; DF11 with only II bits in the remainder is
    accepted. Returns (categories, indices of accepted frames, accepted frames per address).
    """
    rem = remainders(np.ascontiguousarray(fb.raw), fb.nbytes).astype(np.int64)
    df = (fb.raw[:, 0] >> 3).astype(np.int64)
    addr = (fb.raw[:, 1].astype(np.int64) << 16) | (fb.raw[:, 2].astype(np.int64) << 8) | \
        fb.raw[:, 3]
    known: set[int] = set()
    out: Counter[str] = Counter()
    accepted: list[int] = []
    per_address: Counter[int] = Counter()
    for i, (d, r, a) in enumerate(zip(df.tolist(), rem.tolist(), addr.tolist(), strict=True)):
        if d in (17, 18):
            if r == 0:
                known.add(a)
                out["accepted"] += 1
                accepted.append(i)
                per_address[a] += 1
            else:
                out["crc_error"] += 1
        elif d == 11:
            if r == 0:
                known.add(a)
            if r & 0xFFFF80 == 0:
                out["accepted"] += 1
                accepted.append(i)
                per_address[a] += 1
            else:
                out["crc_error"] += 1
        elif d in (0, 4, 5, 16, 20, 21):
            if r in known:
                out["accepted"] += 1
                accepted.append(i)
                per_address[r] += 1
            else:
                out["unknown_icao"] += 1
        else:
            out["bad"] += 1
    return out, accepted, per_address


def expected_acceptance(fb: FrameBatch) -> Counter[str]:
    return dump1090_rules(fb)[0]


async def _push(url: str, kind: str, port: int) -> Aggregator:
    feed = Feed([parse_source_url(url)])
    pusher = FeedPusher(kind, "127.0.0.1", port, receiver_ids=None,  # type: ignore[arg-type]
                        timestamps=True)
    outputs = Outputs([pusher])
    agg = Aggregator(Pipeline(), outputs=outputs, live=True)
    await run_feed(feed, agg, outputs=outputs)
    assert pusher.counters.dropped_frames == 0 and pusher.counters.connects == 1
    return agg


# ----------------------------------------------------------------------------- (a)


def test_a_dump1090_accounts_for_every_beast_frame_of_a_recording(peer: Any) -> None:
    d = peer()
    d.wait_listening()
    agg = asyncio.run(asyncio.wait_for(
        _push(f"file://{BEAST}?speed=max", "beast", d.bi), 30))
    sent = FrameBatch.concat(list(read_frames(BEAST, "beast")))
    exp = expected_acceptance(sent)
    aircraft = d.aircraft(exp["accepted"])
    st = d.stop()["remote"]
    assert agg.stats.frames_in == len(sent) == 239
    assert st["received"] == 239 and st["bad"] == 0
    assert st["accepted"] == exp["accepted"] and st["unknown_icao"] == exp["unknown_icao"]
    # the aircraft it lists are those with two accepted messages or more (aircraft.json
    # leaves out one-message tracks)
    _, _, per_address = dump1090_rules(sent)
    assert aircraft == {a for a, k in per_address.items() if k >= 2}
    assert len(aircraft) >= 2


def test_a_dump1090_accounts_for_every_avr_frame_of_the_afr34zg_flight(
        peer: Any, tmp_path: Path) -> None:
    d = peer()
    d.wait_listening()
    agg = asyncio.run(asyncio.wait_for(
        _push(f"file://{AFR}?speed=max&format=jsonl", "avr", d.ri), 60))
    sent = FrameBatch.from_hex(afr34zg_hex())
    exp = expected_acceptance(sent)
    aircraft = d.aircraft(exp["accepted"])
    st = d.stop()["remote"]
    assert agg.stats.frames_in == len(sent) == 57_793
    assert st["received"] == len(sent)
    # no bad messages (the recording has no CRC errors; any would show as "repaired")
    assert st["bad"] == 0 and st.get("repaired", 0) == exp["crc_error"], st
    assert st["accepted"] == exp["accepted"] and st["unknown_icao"] == exp["unknown_icao"]
    assert aircraft == {0x393322}


# ----------------------------------------------------------------------------- (b)


class Collector:
    """A handler that keeps what each source delivered."""

    def __init__(self) -> None:
        self.frames: dict[str, list[FrameBatch]] = {}
        self.positions: list[Any] = []

    def chunk(self, ch: Chunk) -> None:
        if ch.frames is not None:
            self.frames.setdefault(ch.source, []).append(ch.frames)
        if ch.states is not None:  # SBS records: state vectors
            self.positions.append(ch.states)


def warm_up() -> None:
    """Load the parsers' compiled code before the stream starts: dump1090 drops output
    clients that fall behind, and the first call of each kernel loads it from the cache."""
    line = b"MSG,3,1,1,4840D6,1,2024/01/01,00:00:00.000,2024/01/01,00:00:00.000,,1,,,1.0,1.0" \
        b",,,0,0,0,0\r\n"
    fb = FrameBatch.from_hex(["8d4840d6202cc371c32ce0576098"])
    for framer in (BeastFramer("w", 1, SourceCounters("w")), AvrFramer("w", 1,
                   SourceCounters("w")), SbsFramer("w", SourceCounters("w"))):
        data = {BeastFramer: encode_beast(fb), AvrFramer: b"*8D4840D6202CC371C32CE0576098;\n",
                SbsFramer: line}[type(framer)]
        framer.feed(data, 0.0)


async def _read_outputs(d: Dump1090, push: FrameBatch, expect_frames: int,
                        timeout_s: float = 30.0) -> tuple[Collector, Feed]:
    """Connect to dump1090's three outputs, then push frames into its Beast input while
    reading (dump1090 drops an output client that does not keep up)."""
    warm_up()
    feed = Feed([parse_source_url(f"beast+tcp://127.0.0.1:{d.bo}?rx=beast"),
                 parse_source_url(f"avr+tcp://127.0.0.1:{d.ro}?rx=avr"),
                 parse_source_url(f"sbs+tcp://127.0.0.1:{d.sbs}?rx=sbs")],
                options=FeedOptions(batch_interval_s=0.05))
    got = Collector()
    done = asyncio.Event()

    async def consume() -> None:
        quiet_since = None
        while True:
            c = await feed.collect(0.05)
            if c.frames is not None:
                for name in ("beast", "avr"):
                    sel = c.frames.receiver == feed.uids[name]
                    if sel.any():
                        got.chunk(Chunk(name, frames=c.frames.take(sel)))
            for sb, _ in c.states:
                got.chunk(Chunk("sbs", states=sb))
            complete = (feed.counters["beast"].frames >= expect_frames
                        and feed.counters["avr"].frames >= expect_frames)
            if complete and c.chunks == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 0.5:  # the last SBS lines are in
                    done.set()
                    return
            else:
                quiet_since = None

    await feed.start()
    try:
        async with asyncio.timeout(timeout_s):
            while any(c.connects == 0 for c in feed.counters.values()):
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)  # dump1090 registers clients on its 100 ms loop
            consumer = asyncio.create_task(consume())
            pusher = FeedPusher("beast", "127.0.0.1", d.bi, timestamps=True)
            await pusher.start()
            await pusher.connected.wait()
            for i in range(0, len(push), 100):  # a busy receiver's pace (5,000 msg/s)
                pusher.send_frames(push.take(np.arange(i, min(i + 100, len(push)))))
                await pusher.drain()
                await asyncio.sleep(0.02)
            await consumer
            await pusher.close()
    finally:
        await feed.stop()
    return got, feed


def test_b_tailwatch_reads_back_what_dump1090_forwards(peer: Any) -> None:
    frames = afr34zg_hex()[20_000:26_000]  # climb-out: positions, callsign, Comm-B
    sent = FrameBatch.from_hex(frames)
    sent.ts_12mhz[:] = 1_000_000 + np.arange(len(sent), dtype=np.uint64) * 120_000
    sent.signal_dbfs[:] = -20.0
    exp = expected_acceptance(sent)
    d = peer()
    d.wait_listening()
    got, feed = asyncio.run(asyncio.wait_for(_read_outputs(d, sent, exp["accepted"]), 60))
    st = d.stop()["remote"]
    # nobody was dropped: tailwatch kept up with dump1090's outputs
    assert all(c.reconnects == 0 for c in feed.counters.values())
    assert st["received"] == len(sent) and st["bad"] == 0
    assert st["accepted"] == exp["accepted"]
    accepted = st["accepted"] + st.get("repaired", 0)
    beast = FrameBatch.concat(got.frames["beast"])
    avr = FrameBatch.concat(got.frames["avr"])
    assert len(beast) == len(avr) == accepted
    # Beast: the same bytes with the same 12 MHz time stamps (--net-verbatim), in order
    sent_keys = Counter(zip(sent.ts_12mhz.tolist(), [sent.hex(i) for i in range(len(sent))],
                            strict=True))
    got_keys = Counter(zip(beast.ts_12mhz.tolist(), [beast.hex(i) for i in range(len(beast))],
                           strict=True))
    assert not (got_keys - sent_keys)
    assert np.all(np.diff(beast.ts_12mhz.astype(np.int64)) > 0)
    # the signal level survives as the Beast signal byte: round(255 · 10^(-20/20)) = 26
    assert np.allclose(beast.signal_dbfs, 20 * np.log10(26 / 255), atol=1e-4)
    # AVR: the same bytes
    assert [avr.hex(i) for i in range(len(avr))] == [beast.hex(i) for i in range(len(beast))]
    # SBS: every record (MSG 1-8) through the tracker's state-vector path: the live row has
    # the aircraft's callsign, squawk and altitude; positions where tailwatch puts them too
    sbs = got.positions
    assert sbs, "no SBS records"
    icao = np.concatenate([p["icao24"] for p in sbs])
    assert set(icao.tolist()) == {0x393322}
    kinds = {int(k) for p in sbs for k in p["source"].tolist()}
    assert kinds == {SOURCE_LABELS.index("sbs")}
    # dump1090 writes one line per message, in order, stamped with its wall clock; the frames
    # were pushed faster than they were received, so the lines get the times tailwatch's own
    # pipeline gives the frames below (100 per second), or the speed check would refuse them
    n_rows = sum(len(p) for p in sbs)
    assert n_rows == len(frames)
    t_own = 1.72e9 + np.arange(n_rows) * 0.01
    via_sbs = Pipeline()
    tracked = []
    i = 0
    for p in sbs:
        cols = dict(p.columns, t=t_own[i:i + len(p)])
        i += len(p)
        tracked.append(via_sbs.process_states(cols))
    st_sbs = via_sbs.tracker.stats()
    assert st_sbs["states"] == n_rows and st_sbs["state_no_time"] == 0
    assert st_sbs["states"] == st_sbs["state_no_position"] + st_sbs["state_positions"] + sum(
        st_sbs[k] for k in STATE_POSITION_REJECTS)
    snap = via_sbs.snapshot()
    assert snap.columns["icao24"].tolist() == [0x393322]
    assert snap.columns["callsign"][0].rstrip() == b"AFR34ZG"
    assert snap.columns["squawk"][0] >= 0 and snap.columns["altitude_ft"][0] > 0
    assert SOURCE_LABELS[int(snap.columns["source"][0])] == "sbs"
    pos = [p for p in tracked if len(p)]
    assert sum(len(p) for p in pos) == st_sbs["state_positions"] > 100
    assert {c for p in pos for c in p["callsign"].tolist()} == {b"AFR34ZG"}
    lat = np.concatenate([p["lat"] for p in pos])
    lon = np.concatenate([p["lon"] for p in pos])
    own = Pipeline()
    tw = own.process(FrameBatch.from_hex(frames, t_rx=1.72e9 + np.arange(len(frames)) * 0.01))
    # every dump1090 position (5 decimals) is one tailwatch decodes from the same frames
    near = np.abs(lat[:, None] - tw["lat"][None, :]) + np.abs(lon[:, None] - tw["lon"][None, :])
    assert near.min(axis=1).max() < 2e-5


# ----------------------------------------------------------------------------- (c)


def radio_layout(nbytes: np.ndarray, gap_us: float = 60.0, lead_us: float = 500.0) -> np.ndarray:
    """Frame start times (µs) one after the other, moved past dump1090's block-boundary
    zone (see BLOCK_SAMPLES above)."""
    dur = frame_duration_us(nbytes)
    starts = np.empty(len(nbytes))
    t = lead_us
    for i, d in enumerate(dur.tolist()):
        s0, s1 = t * 2.4, (t + d) * 2.4
        k = np.ceil(s1 / BLOCK_SAMPLES)
        zone_lo, zone_hi = k * BLOCK_SAMPLES - 3 * TRAILING - 300, k * BLOCK_SAMPLES + 300
        if s1 > zone_lo and s0 < zone_hi:
            t = zone_hi / 2.4
        starts[i] = t
        t += d + gap_us
    return starts


async def _radio(d: Dump1090, iq: np.ndarray, expect: int, timeout_s: float) -> FrameBatch:
    """Connect to dump1090's Beast output, then feed it the samples on stdin."""
    feed = Feed([parse_source_url(f"beast+tcp://127.0.0.1:{d.bo}?rx=radio")],
                options=FeedOptions(batch_interval_s=0.05))
    out: list[FrameBatch] = []
    await feed.start()
    try:
        async with asyncio.timeout(timeout_s):
            while feed.counters["radio"].connects == 0:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            assert d.proc.stdin is not None
            # dump1090 demodulates whole blocks: pad with one block of noise-free silence so
            # that the last frames are processed before the end of the input
            pad = np.full(2 * (BLOCK_SAMPLES - (iq.size // 2) % BLOCK_SAMPLES + BLOCK_SAMPLES),
                          128, dtype=np.uint8)
            data = iq.tobytes() + pad.tobytes()
            loop = asyncio.get_running_loop()
            stdin = d.proc.stdin

            def write_all() -> None:
                stdin.write(data)
                stdin.close()

            writer = loop.run_in_executor(None, write_all)
            n = 0
            while n < expect:
                c = await feed.collect(0.05)
                if c.frames is not None:
                    out.append(c.frames)
                    n += len(c.frames)
            await writer
            await asyncio.sleep(0.3)
            c = await feed.collect(0.1)
            if c.frames is not None:
                out.append(c.frames)
    finally:
        await feed.stop()
    return FrameBatch.concat(out)


def test_c_modulated_afr34zg_frames_survive_dump1090s_demodulator(peer: Any) -> None:
    frames = afr34zg_hex()[20_000:28_000]
    sent = FrameBatch.from_hex(frames)
    starts = radio_layout(sent.nbytes)
    iq, start_samples = modulate(sent, starts_us=starts, seed=7)
    exp = expected_acceptance(sent)
    d = peer(ifile="-", throttle=True)
    d.wait_listening()
    got = asyncio.run(asyncio.wait_for(_radio(d, iq, exp["accepted"], 60), 90))
    st = d.stop()["local"]
    assert st["accepted"] == exp["accepted"] == len(got) and st.get("repaired", 0) == 0
    # the frames come back in order, byte for byte
    hexes = [got.hex(i) for i in range(len(got))]
    accepted_idx = dump1090_rules(sent)[1]
    assert hexes == [frames[i] for i in accepted_idx]
    # and at the sample where the modulator put them: 12 MHz = 5 ticks per 2.4 MHz sample
    ticks = got.ts_12mhz.astype(np.int64)
    put = start_samples[accepted_idx] * 5
    offset = ticks - put
    assert offset.max() - offset.min() <= 10  # within two samples (the demodulator's phase)
    # and tailwatch tracks the flight from the radio exactly as from the original frames
    t = 1.72e9 + np.arange(len(got)) * 0.002
    from_radio = Pipeline().process(FrameBatch.from_matrix(got.raw, got.nbytes, t_rx=t))
    direct = Pipeline().process(FrameBatch.from_hex(hexes, t_rx=t))
    assert len(from_radio) == len(direct) > 100
    assert np.array_equal(from_radio["lat"], direct["lat"])
    assert set(from_radio["callsign"].tolist()) - {b""} == {b"AFR34ZG"}


def test_c_encoded_flight_goes_from_radio_samples_to_the_map(peer: Any) -> None:
    """A synthetic aircraft encoded by tailwatch (identification, positions, velocity), put
    on the air by the modulator, demodulated by dump1090 and tracked by tailwatch."""
    icao = 0x4CA7B1
    n = 40
    lat = 53.30 + np.arange(n) * 0.004
    lon = -6.25 + np.arange(n) * 0.006
    parts = []
    for i in range(n):
        parts.append(airborne_position(icao, lat[i], lon[i], 12_000 + 25 * i, i % 2))
        if i % 4 == 0:
            parts.append(identification(icao, "EIN42K", 11))  # category A3
            parts.append(velocity_ground(icao, 300.0, 40.0, 1500.0))
    raw = np.concatenate([p.raw for p in parts])
    nbytes = np.concatenate([p.nbytes for p in parts])
    sent = FrameBatch.from_matrix(raw, nbytes)
    iq, _ = modulate(sent, gap_us=400.0, seed=11, noise=4.0, amplitude=60.0)
    d = peer(ifile="-", throttle=True)
    d.wait_listening()
    got = asyncio.run(asyncio.wait_for(_radio(d, iq, len(sent), 30), 60))
    assert [got.hex(i) for i in range(len(got))] == [sent.hex(i) for i in range(len(sent))]
    st = d.stop()
    assert st["local"]["accepted"] == len(sent)
    t = 1.72e9 + np.arange(len(got)) * 0.25
    pos = Pipeline().process(FrameBatch.from_matrix(got.raw, got.nbytes, t_rx=t))
    assert len(pos) >= n - 2
    assert set(pos["callsign"].tolist()) - {b""} == {b"EIN42K"}
    # the track lands where the encoder put it (CPR resolution: ~5 m)
    k = np.searchsorted(lat, pos["lat"])
    k = np.clip(k, 0, n - 1)
    err_lat = np.min(np.abs(pos["lat"][:, None] - lat[None, :]), axis=1)
    err_lon = np.min(np.abs(pos["lon"][:, None] - lon[None, :]), axis=1)
    assert err_lat.max() < 1e-4 and err_lon.max() < 1e-4
    assert np.allclose(pos["gs_kt"][~np.isnan(pos["gs_kt"])], 300.0, atol=1.0)
    del k


def test_a_missing_peer_is_a_failure_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(sys.modules[__name__], "EXE", "dump1090-that-is-not-there")
    with pytest.raises(pytest.fail.Exception, match="is not installed"):
        dump1090()
