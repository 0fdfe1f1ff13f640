"""Beast, AVR and SBS framing: real bytes, escaping, resynchronisation, incremental parsing."""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tailwatch.core.frames import FrameBatch
from tailwatch.decode.crc import remainders, with_parity
from tailwatch.ingest.avr import encode_avr, parse_avr
from tailwatch.ingest.beast import BeastState, encode_beast, fold16, parse_beast
from tailwatch.ingest.sbs import encode_sbs, parse_sbs

DATA = Path(__file__).resolve().parents[1] / "data"
BEAST_SAMPLE = DATA / "traffic_sample_dump1090.beast"

HYPO = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def sample_bytes() -> bytes:
    return BEAST_SAMPLE.read_bytes()


@pytest.fixture(scope="module")
def sample(sample_bytes: bytes) -> FrameBatch:
    frames, consumed, _ = parse_beast(sample_bytes)
    assert consumed == len(sample_bytes)
    return frames


def _df(frames: FrameBatch) -> np.ndarray:
    return frames.raw[:, 0] >> 3


def _same_frames(a: FrameBatch, b: FrameBatch) -> None:
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.raw, b.raw)
    np.testing.assert_array_equal(a.nbytes, b.nbytes)
    np.testing.assert_array_equal(a.ts_12mhz, b.ts_12mhz)
    np.testing.assert_array_equal(a.signal_dbfs, b.signal_dbfs)
    np.testing.assert_array_equal(a.receiver, b.receiver)


def _feed_beast(chunks: list[bytes], **kw: int) -> tuple[FrameBatch, BeastState, bytes]:
    state: BeastState | None = None
    rest = b""
    out = []
    for chunk in chunks:
        buf = rest + chunk
        frames, consumed, state = parse_beast(buf, state=state, **kw)
        rest = buf[consumed:]
        out.append(frames)
    assert state is not None
    return FrameBatch.concat(out), state, rest


def _split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


# ----------------------------------------------------------------------------- Beast, real


def test_beast_sample_frames_and_crc(sample: FrameBatch) -> None:
    assert len(sample) == 239
    assert not sample.rejects
    assert set(np.unique(sample.nbytes)) <= {7, 14}
    df = _df(sample)
    # frame length follows the DF (short formats in '2' records, long in '3')
    assert np.all((sample.nbytes == 7) == np.isin(df, [0, 4, 5, 11]))
    rem = remainders(sample.raw, sample.nbytes)
    assert np.all(rem[np.isin(df, [17, 18])] == 0)
    assert np.all(rem[df == 11] < 0x80)
    # address/parity replies: the remainder is the address of an aircraft that also sent
    # DF11/17 in this capture
    announced = sample.raw[np.isin(df, [11, 17])][:, 1:4].astype(np.uint32)
    addresses = set((announced @ np.array([1 << 16, 1 << 8, 1], np.uint32)).tolist())
    assert set(rem[np.isin(df, [0, 4, 5, 16, 20, 21])].tolist()) <= addresses


def test_beast_sample_counters_and_signal(sample: FrameBatch) -> None:
    ts = sample.ts_12mhz.astype(np.int64)
    assert np.all(np.diff(ts) >= 0)
    span_s = (ts[-1] - ts[0]) / 12e6
    assert 20 < span_s < 30  # the capture lasts about 24 s
    assert np.all(np.isfinite(sample.signal_dbfs))
    assert np.all((sample.signal_dbfs < 0) & (sample.signal_dbfs > -60))
    assert np.all(np.isnan(sample.t_rx))
    assert np.all(sample.receiver == 0)


def test_beast_sample_matches_pymodes(sample_bytes: bytes, sample: FrameBatch) -> None:
    source = pytest.importorskip("pyModeS.cli._source")
    theirs, rest = source._parse_beast_buffer(sample_bytes)
    assert rest == b""
    assert [h.lower() for _, h in theirs] == [sample.hex(i) for i in range(len(sample))]
    assert [t for t, _ in theirs] == sample.ts_12mhz.tolist()


def test_beast_encode_is_byte_exact_inverse(sample_bytes: bytes, sample: FrameBatch) -> None:
    # the capture holds escaped 0x1a bytes; re-encoding must reproduce it exactly
    assert b"\x1a\x1a" in sample_bytes
    assert encode_beast(sample) == sample_bytes


def test_beast_escapes_written_by_hand() -> None:
    # counter 0x00001a00001a, signal 0x1a, DF11 reply whose bytes hold 0x1a
    msg = bytes.fromhex("5d1a1a1a") + b"\x00\x00\x00"
    wire = (
        b"\x1a\x32"
        + b"\x00\x00\x1a\x1a\x00\x00\x1a\x1a"
        + b"\x1a\x1a"
        + msg.replace(b"\x1a", b"\x1a\x1a")
    )
    frames, consumed, st_ = parse_beast(wire)
    assert consumed == len(wire)
    assert len(frames) == 1
    assert frames.hex(0) == msg.hex()
    assert int(frames.ts_12mhz[0]) == 0x00001A00001A
    assert frames.signal_dbfs[0] == pytest.approx(20 * math.log10(0x1A / 255), abs=1e-5)
    assert encode_beast(frames) == wire
    assert st_.counters["mode_s_short"] == 1


def test_beast_escaped_pair_at_chunk_end_waits() -> None:
    frame = with_parity(bytes.fromhex("8d1a1a1a1a1a1a1a1a1a1a"))
    batch = FrameBatch.from_bytes([frame])
    batch.ts_12mhz[:] = 0x1A1A1A1A1A1A
    wire = encode_beast(batch)
    for cut in range(1, len(wire)):
        frames, consumed, _ = parse_beast(wire[:cut])
        assert len(frames) == 0
        assert consumed == 0
    frames, consumed, _ = parse_beast(wire)
    assert frames.hex(0) == frame.hex()
    assert consumed == len(wire)


def test_beast_signal_and_modeac_and_heartbeat() -> None:
    heartbeat = b"\x1a1" + bytes(9)
    modeac = b"\x1a1" + (123456).to_bytes(6, "big") + bytes([255]) + bytes.fromhex("0a12")
    no_signal = b"\x1a2" + (7).to_bytes(6, "big") + b"\x00" + bytes.fromhex("5d4840d6202cc3")
    half = b"\x1a2" + (8).to_bytes(6, "big") + bytes([128]) + bytes.fromhex("5d4840d6202cc3")
    frames, consumed, st_ = parse_beast(heartbeat + modeac + no_signal + half)
    assert consumed == len(heartbeat + modeac + no_signal + half)
    assert frames.rejects == {"beast_heartbeat": 1}
    assert frames.nbytes.tolist() == [2, 7, 7]
    assert frames.hex(0) == "0a12"
    assert frames.signal_dbfs[0] == 0.0
    assert np.isnan(frames.signal_dbfs[1])
    assert frames.signal_dbfs[2] == pytest.approx(20 * math.log10(128 / 255), abs=1e-5)
    assert st_.counters["modeac"] == 1
    assert st_.counters["heartbeat"] == 1
    assert encode_beast(frames) == modeac + no_signal + half


def test_beast_non_frame_records_are_counted_and_skipped(sample: FrameBatch) -> None:
    status = b"\x1a4" + bytes(range(1, 22))
    radarcape = b"\x1a5" + bytes(range(30, 51))
    ping = b"\x1aP\x01\x1a\x1a\x03"
    command = b"\x1aWO"
    uuid_short = b"\x1a\xe4" + b"0123-4567"  # < 16 digits: counted, no receiver id
    records = status + radarcape + ping + command + uuid_short
    head = encode_beast(sample.take(np.arange(10)))
    tail = encode_beast(sample.take(np.arange(10, 20)))
    wire = records + head + records + tail
    frames, consumed, st_ = parse_beast(wire)
    assert consumed == len(wire)
    _same_frames(frames, sample.take(np.arange(20)))
    assert not frames.rejects
    for name in ("status", "radarcape_position", "ping", "command", "uuid"):
        assert st_.counters[name] == 2
    assert st_.receiver_id == 0


def test_beast_replay_clock_stamps_t_rx(sample: FrameBatch) -> None:
    now_ms = 1_553_336_101_123
    clock = b"\x1a\xe8" + now_ms.to_bytes(8, "little")
    wire = (
        encode_beast(sample.take(np.arange(5)))
        + clock
        + encode_beast(sample.take(np.arange(5, 239)))
    )
    frames, _, st_ = parse_beast(wire)
    assert len(frames) == 239
    assert np.isnan(frames.t_rx[:5]).all()
    assert np.all(frames.t_rx[5:] == now_ms / 1000.0)
    assert st_.now_ms == now_ms
    assert st_.counters["synthetic_now"] == 1


def test_beast_receiver_ids(sample: FrameBatch) -> None:
    ids = [0x1A2B3C4D5E6F7A1A, 0x0000000000000001]
    a, b = sample.take(np.arange(0, 100)), sample.take(np.arange(100, 239))
    wire = (
        encode_beast(sample.take(np.arange(0, 10)))
        + b"\x1a\xe3"
        + ids[0].to_bytes(8, "big").replace(b"\x1a", b"\x1a\x1a")
        + encode_beast(a)
        + b"\x1a\xe3"
        + ids[1].to_bytes(8, "big")
        + encode_beast(b)
    )
    frames, consumed, st_ = parse_beast(wire, receiver=7)
    assert consumed == len(wire)
    rec = frames.receiver
    assert np.all(rec[:10] == 7)  # before any id: the connection's receiver
    assert np.all(rec[10:110] == fold16(ids[0]))
    assert np.all(rec[110:] == fold16(ids[1]))
    assert st_.receiver_id == ids[1]
    assert st_.receiver_ids[fold16(ids[0])] == ids[0]
    assert st_.counters["receiver_id"] == 2
    # incremental, one byte at a time across the id records
    inc, st2, rest = _feed_beast([wire[i : i + 1] for i in range(len(wire))], receiver=7)
    assert rest == b""
    _same_frames(inc, frames)
    assert st2.receiver_ids == st_.receiver_ids
    # a preloaded table wins over the hash
    pre = BeastState(receiver_table={ids[0]: 42})
    frames2, _, _ = parse_beast(wire, receiver=7, state=pre)
    assert np.all(frames2.receiver[10:110] == 42)
    assert pre.receiver_ids == {}  # the caller's state is not modified
    # encode_beast writes the ids back
    again, _, _ = parse_beast(encode_beast(frames, receiver_ids=st_.receiver_ids), receiver=7)
    _same_frames(again, frames)


def test_beast_receiver_hash_collision_gets_a_free_value() -> None:
    a, b = 0x0001_0000_0000_0000, 0x0000_0001_0000_0000  # same fold16
    assert fold16(a) == fold16(b)
    state = BeastState()
    ra, rb = state.receiver_for(a, 0), state.receiver_for(b, 0)
    assert ra != rb
    assert state.receiver_ids == {ra: a, rb: b}
    assert state.receiver_for(a, 0) == ra


def test_beast_truncated_record_restarts_at_the_next_marker(sample_bytes: bytes) -> None:
    whole, _, _ = parse_beast(sample_bytes)
    cut = sample_bytes[:10]  # the start of the first frame, interrupted
    frames, consumed, st_ = parse_beast(cut + sample_bytes)
    assert consumed == len(cut) + len(sample_bytes)
    _same_frames(frames, whole)
    assert frames.rejects == {"beast_truncated_frames": 1}
    assert st_.counters["truncated_frames"] == 1


# ----------------------------------------------------------------------------- Beast, properties

# garbage bytes that can neither start a record nor be mistaken for a type byte
_NOT_TYPES = sorted(set(range(256)) - set(b"12345PW") - {0xE3, 0xE4, 0xE8})
garbage = st.binary(min_size=0, max_size=40)
quiet_garbage = st.lists(st.sampled_from([b for b in _NOT_TYPES if b != 0x1A]), max_size=40).map(
    bytes
)
noisy_garbage = st.lists(st.sampled_from(_NOT_TYPES), max_size=40).map(bytes)


@HYPO
@given(
    idx=st.lists(st.integers(0, 238), min_size=1, max_size=60),
    prefix=garbage,
    cuts=st.lists(st.integers(0, 4000), max_size=8),
)
def test_beast_incremental_equals_whole(
    sample: FrameBatch, idx: list[int], prefix: bytes, cuts: list[int]
) -> None:
    wire = prefix + encode_beast(sample.take(np.array(idx)))
    whole, consumed, st_whole = parse_beast(wire)
    inc, st_inc, rest = _feed_beast(_split_at(wire, cuts))
    _same_frames(inc, whole)
    assert rest == wire[consumed:]
    assert st_inc.counters == st_whole.counters
    assert inc.rejects == whole.rejects


@HYPO
@given(
    idx=st.lists(st.integers(0, 238), min_size=1, max_size=40),
    prefix=quiet_garbage,
    cuts=st.lists(st.integers(0, 2000), max_size=6),
)
def test_beast_resync_after_garbage_without_markers(
    sample: FrameBatch, idx: list[int], prefix: bytes, cuts: list[int]
) -> None:
    original = sample.take(np.array(idx))
    wire = prefix + encode_beast(original)
    frames, st_, _ = _feed_beast(_split_at(wire, cuts))
    _same_frames(frames, original)
    assert "beast_garbage_bytes" not in frames.rejects  # bytes are not frames
    assert st_.counters.get("garbage_bytes", 0) == len(prefix)


@HYPO
@given(
    idx=st.lists(st.integers(0, 238), min_size=2, max_size=30),
    junk=st.lists(st.tuples(st.integers(0, 29), noisy_garbage), max_size=5),
)
def test_beast_resync_after_garbage_with_markers(
    sample: FrameBatch, idx: list[int], junk: list[tuple[int, bytes]]
) -> None:
    records = [encode_beast(sample.take(np.array([i]))) for i in idx]
    inserted = dict(junk)
    wire = b"".join(inserted.get(k, b"") + r for k, r in enumerate(records))
    frames, _, _ = parse_beast(wire)
    got = [frames.hex(i) for i in range(len(frames))]
    want = [sample.hex(i) for i in idx]
    # no ghost frame: what comes out is the sent frames in order, minus at most one frame per
    # garbage run (a run ending in 0x1a escapes the next record's marker)
    it = iter(want)
    assert all(h in it for h in got)
    assert len(got) >= len(want) - len(inserted)


# ----------------------------------------------------------------------------- AVR


def test_avr_forms_from_the_spec() -> None:
    text = (
        b"*8D406B902015A678D4D220AA4BDA;\r\n"
        b"@016CE3671AA88D00199A8BB80030A8000628F400;\n"
        b"%016CE3671AA95D4840D6202CC3;\n"
        b"<016CE3671AAA808D406B902015A678D4D220AA4BDA;\n"
        b":0A12;\n"
        b"  *8D406B902015A678D4D220AA4BDA;  (1234,56,7f)\r\n"
        b"\n"
        b"*0000;\n"  # readsb heartbeat
        b"*8D406B902015A678D4D220AA4BD;\n"  # odd number of digits
        b"*8D406B902015A678D4D220AA4BDA\n"  # no ';'
        b"#8D406B902015A678D4D220AA4BDA;\n"
        b"*8D406B902015A678D4D220AA4BDG;\n"
        b"*8D406B90"  # partial last line
    )
    frames, consumed = parse_avr(text)
    assert consumed == len(text) - len(b"*8D406B90")
    assert [frames.hex(i) for i in range(len(frames))] == [
        "8d406b902015a678d4d220aa4bda",
        "8d00199a8bb80030a8000628f400",
        "5d4840d6202cc3",
        "8d406b902015a678d4d220aa4bda",
        "0a12",
        "8d406b902015a678d4d220aa4bda",
    ]
    assert frames.ts_12mhz.tolist() == [0, 0x016CE3671AA8, 0x016CE3671AA9, 0x016CE3671AAA, 0, 0]
    assert frames.signal_dbfs[3] == pytest.approx(20 * math.log10(0x80 / 255), abs=1e-5)
    assert np.isnan(frames.signal_dbfs[[0, 1, 2, 4, 5]]).all()
    assert frames.rejects == {"avr_bad_line": 4, "avr_heartbeat": 1}
    assert remainders(frames.raw[:1], frames.nbytes[:1]).tolist() == [0]
    last, consumed_final = parse_avr(text, final=True)
    assert consumed_final == len(text)
    assert last.rejects["avr_bad_line"] == 5  # the partial "*8D406B90" has no ';'


def test_avr_roundtrip_on_real_frames(sample: FrameBatch) -> None:
    for stamps in (True, False):
        text = encode_avr(sample, timestamps=stamps)
        assert text.count(b"\n") == len(sample)
        frames, consumed = parse_avr(text)
        assert consumed == len(text)
        np.testing.assert_array_equal(frames.raw, sample.raw)
        np.testing.assert_array_equal(frames.nbytes, sample.nbytes)
        want_ts = sample.ts_12mhz if stamps else np.zeros(len(sample), np.uint64)
        np.testing.assert_array_equal(frames.ts_12mhz, want_ts)
    line = encode_avr(sample.take(np.array([0])), timestamps=True)
    assert line == b"@0000" + b"15A8877E" + b"20000CA8F70AA7;\n"


avr_junk = st.sampled_from(
    [b"", b"garbage\n", b"\r\n", b"*ZZ;\n", b"@0123;\n", b"\n\n", b"*8D406B90;\r\n", b"  \t\n"]
)


@HYPO
@given(
    idx=st.lists(st.integers(0, 238), min_size=1, max_size=60),
    stamps=st.booleans(),
    crlf=st.booleans(),
    junk=st.lists(avr_junk, max_size=6),
    cuts=st.lists(st.integers(0, 3000), max_size=8),
)
def test_avr_incremental_equals_whole(
    sample: FrameBatch,
    idx: list[int],
    stamps: bool,
    crlf: bool,
    junk: list[bytes],
    cuts: list[int],
) -> None:
    original = sample.take(np.array(idx))
    text = encode_avr(original, timestamps=stamps)
    if crlf:
        text = text.replace(b"\n", b"\r\n")
    text = b"".join(junk) + text
    whole, consumed = parse_avr(text)
    assert consumed == len(text)
    np.testing.assert_array_equal(whole.raw, original.raw)
    rest = b""
    parts = []
    for chunk in _split_at(text, cuts):
        buf = rest + chunk
        frames, used = parse_avr(buf)
        rest = buf[used:]
        parts.append(frames)
    inc = FrameBatch.concat(parts)
    assert rest == b""
    _same_frames(inc, whole)
    assert inc.rejects == whole.rejects


# ----------------------------------------------------------------------------- SBS

READSB_LINES = (
    b"MSG,3,1,1,4CA2D6,1,2019/03/23,10:15:01.123,2019/03/23,10:15:01.123,,37000,,,"
    b"51.478340,-0.456130,,,0,0,0,0\r\n"
    b"MSG,1,1,1,4CA2D6,1,2019/03/23,10:15:02.000,2019/03/23,10:15:02.000,RYR4XK,,,,,,,,,,,\r\n"
    b"MSG,4,1,1,4CA2D6,1,2019/03/23,10:15:03.500,2019/03/23,10:15:03.500,,,452,271,,,-64,,,,,\r\n"
    b"MSG,6,1,1,4CA2D6,1,2019/03/23,10:15:04.000,2019/03/23,10:15:04.000,,,,,,,,7500,0,-1,0,0"
    b"\r\n"
    b"MSG,5,1,1,06A0A8,1,2019/03/23,23:59:59.999,2019/03/23,23:59:59.999,,12000H,,,,,128H,"
    b",-1,,-1,-1\r\n"
    b"MSG,8,1,1,154073,1,2019/03/24,00:00:00.000,2019/03/24,00:00:00.000,,,,,,,,,,,,0\r\n"
)


def test_sbs_parses_readsb_lines() -> None:
    cols, consumed, rejects = parse_sbs(READSB_LINES)
    assert consumed == len(READSB_LINES)
    assert not rejects
    assert cols["sbs_type"].tolist() == [3, 1, 4, 6, 5, 8]
    assert cols["icao24"].tolist() == [0x4CA2D6] * 4 + [0x06A0A8, 0x154073]
    t0 = dt.datetime(2019, 3, 23, 10, 15, 1, 123000, tzinfo=dt.UTC).timestamp()
    assert cols["t"][0] == pytest.approx(t0, abs=1e-6)
    t4 = dt.datetime(2019, 3, 23, 23, 59, 59, 999000, tzinfo=dt.UTC).timestamp()
    assert cols["t"][4] == pytest.approx(t4, abs=1e-6)
    assert cols["callsign"].tolist() == [b"", b"RYR4XK", b"", b"", b"", b""]
    np.testing.assert_array_equal(
        cols["altitude_ft"], [37000, np.nan, np.nan, np.nan, 12000, np.nan]
    )
    assert cols["altitude_source"].tolist() == [0, -1, -1, -1, 1, -1]
    assert cols["lat"][0] == 51.47834 and cols["lon"][0] == -0.45613
    assert cols["gs_kt"][2] == 452 and cols["track_deg"][2] == 271
    assert cols["vrate_fpm"][2] == -64 and cols["vrate_fpm"][4] == 128
    assert cols["vrate_source"].tolist() == [-1, -1, 0, -1, 1, -1]
    assert cols["squawk"].tolist() == [-1, -1, -1, 7500, -1, -1]
    assert cols["alert"].tolist() == [0, -1, -1, 0, 1, -1]
    assert cols["emergency"].tolist() == [0, -1, -1, 5, -1, -1]  # 7500 → unlawful
    assert cols["spi"].tolist() == [0, -1, -1, 0, 1, -1]
    assert cols["on_ground"].tolist() == [0, -1, -1, 0, 1, 0]
    assert encode_sbs(cols) == READSB_LINES


def test_sbs_rejects_and_partial_line() -> None:
    text = (
        b"SEL,,496,2286,4CA4E5,27215,2010/02/19,18:06:07.710,2010/02/19,18:06:07.710,RYR1427\r\n"
        b"ID,,496,7162,405637,27928,2010/02/19,18:06:07.115,2010/02/19,18:06:07.115,EZY691A\r\n"
        b"AIR,,496,5906,400F01,1,2010/02/19,18:06:07.710,2010/02/19,18:06:07.710\r\n"
        b"STA,,5,179,400AE7,10103,2008/11/28,14:58:51.153,2008/11/28,14:58:51.153,RM\r\n"
        b"CLK,,496,-1,,-1,2010/02/19,18:18:19.036,2010/02/19,18:18:19.036\r\n"
        b"\r\n"
        b"MSG,9,1,1,4CA2D6,1,2019/03/23,10:15:01.123,2019/03/23,10:15:01.123,,,,,,,,,,,,\r\n"
        b"MSG,3,1,1,4CA2D6,1,2019/03/23,10:15:01.123,2019/03/23,10:15:01.123,,37000\r\n"
        b"MSG,3,1,1,4CA2DZ,1,2019/03/23,10:15:01.123,2019/03/23,10:15:01.123,,,,,,,,,,,,\r\n"
        b"MSG,3,1,1,4CA2D6,1,2019/13/23,10:15:01.123,2019/03/23,10:15:01.123,,,,,,,,,,,,\r\n"
        b"MSG,6,1,1,4CA2D6,1,2019/03/23,10:15:01.123,2019/03/23,10:15:01.123,,,,,,,,7800,,,,\r\n"
        b"MSG,3,1,1,4CA2D6,1,2019/03/23,10:15:01.123,2019/03/23,10:15:01.123,,3x7,,,,,,,,,,\r\n"
        b"hello\r\n" + READSB_LINES + b"MSG,3,1,1,4CA2D6,1,2019/03/23"
    )
    cols, consumed, rejects = parse_sbs(text)
    assert consumed == len(text) - len(b"MSG,3,1,1,4CA2D6,1,2019/03/23")
    assert len(cols["t"]) == 6
    assert rejects == {
        "sbs_sel": 1,
        "sbs_id": 1,
        "sbs_air": 1,
        "sbs_sta": 1,
        "sbs_clk": 1,
        "sbs_bad_line": 7,
    }
    _, _, final_rejects = parse_sbs(text, final=True)
    assert final_rejects["sbs_bad_line"] == 8


def test_sbs_roundtrip_real_trajectory() -> None:
    with gzip.open(DATA / "traffic_zurich_airport.json.gz") as f:
        records = json.loads(f.read())[:3000]

    def col(key: str) -> np.ndarray:
        return np.array([math.nan if r.get(key) is None else r[key] for r in records], float)

    cols = {
        "t": col("timestamp") / 1000.0,
        "icao24": np.array([int(r["icao24"], 16) for r in records], np.uint32),
        "callsign": np.array([(r.get("callsign") or "").encode() for r in records], "S8"),
        "altitude_ft": np.round(col("altitude")),
        "gs_kt": np.round(col("groundspeed")),
        "track_deg": np.round(col("track")),
        "lat": np.round(col("latitude"), 6),
        "lon": np.round(col("longitude"), 6),
        "vrate_fpm": np.round(col("vertical_rate")),
        "on_ground": np.array(
            [-1 if r.get("onground") is None else int(r["onground"]) for r in records], np.int8
        ),
    }
    text = encode_sbs(cols)
    assert text.count(b"\r\n") == len(records)
    back, consumed, rejects = parse_sbs(text)
    assert consumed == len(text) and not rejects
    np.testing.assert_allclose(back["t"], cols["t"], atol=5e-4)
    np.testing.assert_array_equal(back["icao24"], cols["icao24"])
    np.testing.assert_array_equal(back["callsign"], cols["callsign"])
    for name in ("altitude_ft", "gs_kt", "track_deg", "vrate_fpm"):
        np.testing.assert_array_equal(back[name], cols[name].astype(np.float32))
    np.testing.assert_allclose(back["lat"], cols["lat"], atol=1e-9)
    np.testing.assert_allclose(back["lon"], cols["lon"], atol=1e-9)
    np.testing.assert_array_equal(back["on_ground"], cols["on_ground"])
    has_pos = ~np.isnan(cols["lat"])
    ground = cols["on_ground"] == 1
    assert np.all(back["sbs_type"][has_pos & ~ground] == 3)
    assert np.all(back["sbs_type"][has_pos & ground] == 2)


@HYPO
@given(cuts=st.lists(st.integers(0, len(READSB_LINES) * 3), max_size=10))
def test_sbs_incremental_equals_whole(cuts: list[int]) -> None:
    text = b"garbage\r\nSTA,,,\r\n" + READSB_LINES * 3
    whole, consumed, rejects = parse_sbs(text)
    assert consumed == len(text)
    rest = b""
    parts = []
    total = type(rejects)()
    for chunk in _split_at(text, cuts):
        buf = rest + chunk
        cols, used, rej = parse_sbs(buf)
        rest = buf[used:]
        parts.append(cols)
        total.merge(rej)
    assert rest == b""
    assert total == rejects
    for name, col in whole.items():
        joined = np.concatenate([p[name] for p in parts])
        np.testing.assert_array_equal(joined, col)
