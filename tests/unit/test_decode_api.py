"""The decoder's public API: known answers, bad input, error correction, schema."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pyModeS as pms
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tailwatch import DecodeError, FrameBatch, decode, decode_one
from tailwatch.core.schema import MESSAGE_FIELD_NAMES, MESSAGE_FIELDS
from tailwatch.decode.crc import crc_remainder, with_parity

# Known answers from Junzi Sun, "The 1090 Megahertz Riddle" (2nd ed., mode-s.org/1090mhz),
# chapters on identification, airborne position, velocity and surveillance replies.
RIDDLE = [
    ("8D4840D6202CC371C32CE0576098", {"icao24": "4840d6", "typecode": 4,
                                      "callsign": "KLM1023", "category": "A0"}),
    ("8D40621D58C382D690C8AC2863A7", {"icao24": "40621d", "typecode": 11,
                                      "altitude_ft": 38000.0, "cpr_odd": 0,
                                      "cpr_lat": 93000, "cpr_lon": 51372}),
    ("8D40621D58C386435CC412692AD6", {"cpr_odd": 1, "cpr_lat": 74158, "cpr_lon": 50194}),
    ("8D485020994409940838175B284F", {"typecode": 19, "vrate_fpm": -832.0,
                                      "vrate_source": "gnss"}),
    ("8DA05F219B06B6AF189400CBC33F", {"heading_deg": 243.98438, "tas_kt": 375.0,
                                      "vrate_fpm": -2304.0, "vrate_source": "baro"}),
    ("A0001838201584F23468207CDFA5", {"df": 20, "icao24": "40655a", "altitude_ft": 38000.0}),
    ("5D484FDEA248F5", {"df": 11, "icao24": "484fde", "crc_ok": True}),
]


@pytest.mark.parametrize(("hexmsg", "expected"), RIDDLE)
def test_known_answers_from_the_1090mhz_riddle(hexmsg: str, expected: dict[str, object]) -> None:
    rec = decode_one(hexmsg)
    for k, v in expected.items():
        assert rec[k] == v, k


def test_velocity_known_answer_ground_speed_and_track() -> None:
    rec = decode_one("8D485020994409940838175B284F")
    # Riddle: 159.20 kt, 182.88 degrees
    assert rec["gs_kt"] == pytest.approx(159.20, abs=0.01)
    assert rec["track_deg"] == pytest.approx(182.88, abs=0.01)


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("8D4840D6202CC371C32CE05760", "7 or 14 bytes"),
        ("zz4840D6202CC371C32CE0576098", "not hexadecimal"),
        ("8D4840D6202CC371C32CE0576099", "parity check failed"),
        ("0A4840D6202CC371C32CE0576098", "unknown downlink format DF1"),
        ("8D4840D6202CC3", "DF17 needs 14 bytes"),
        ("*8D4840D6202CC371C32CE0576098;", "bare hex"),
    ],
)
def test_decode_one_raises_one_clear_decode_error(bad: str, words: str) -> None:
    with pytest.raises(DecodeError, match=words) as info:
        decode_one(bad)
    assert isinstance(info.value, ValueError)


def test_batch_never_raises_and_counts_every_reject() -> None:
    frames = [
        "8D4840D6202CC371C32CE0576098",  # good
        "8D4840D6202CC371C32CE05760",  # odd length in bytes
        "not hex at all",
        "8D4840D6202CC371C32CE0576099",  # one bit of parity off: corrected
        "8D4840D6202CC371C32CE0576A99",  # three bits off: bad parity
        "0A4840D6202CC371C32CE0576098",  # DF1
        "8D4840D6202CC3",  # DF17 in 7 bytes
        "7700",  # Mode A/C
        "",
    ]
    b = decode(frames)
    assert b.n_in == len(frames)
    assert len(b) + b.rejects.total_rejected() == len(frames)
    assert len(b) == 2 and b["corrected"].tolist() == [False, True]
    assert dict(b.rejects) == {
        "bad_length": 3, "bad_hex": 1, "bad_crc": 1, "unknown_df": 1, "mode_ac": 1,
    }


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=16), max_size=50))
def test_random_bytes_are_accounted_for(frames: list[bytes]) -> None:
    b = decode(frames)
    assert len(b) + b.rejects.total_rejected() == len(frames) == b.n_in


GOOD_DF17 = [
    "8D4840D6202CC371C32CE0576098",
    "8D40621D58C382D690C8AC2863A7",
    "8D485020994409940838175B284F",
    "8DA05F219B06B6AF189400CBC33F",
]


@pytest.mark.parametrize("hexmsg", GOOD_DF17)
def test_every_single_bit_error_after_the_df_is_corrected(hexmsg: str) -> None:
    good = bytes.fromhex(hexmsg)
    damaged = []
    for bit in range(5, 112):
        b = bytearray(good)
        b[bit // 8] ^= 0x80 >> (bit % 8)
        damaged.append(bytes(b))
    batch = decode(damaged)
    assert len(batch) == len(damaged)
    assert batch["corrected"].all()
    assert all(batch.frames.hex(i) == hexmsg.lower() for i in range(len(batch)))
    assert (batch["icao24"] == int(hexmsg[2:8], 16)).all()
    off = decode(damaged, fix_errors=False)
    assert len(off) == 0 and off.rejects["bad_crc"] == len(damaged)


def test_two_bit_errors_are_never_corrected() -> None:
    rng = random.Random(7)
    good = bytes.fromhex(GOOD_DF17[0])
    damaged = []
    for _ in range(2000):
        b = bytearray(good)
        for bit in rng.sample(range(5, 112), 2):
            b[bit // 8] ^= 0x80 >> (bit % 8)
        damaged.append(bytes(b))
    batch = decode(damaged)
    assert len(batch) == 0
    assert batch.rejects["bad_crc"] == len(damaged)


def test_gillham_altitudes_agree_with_pymodes_on_every_code() -> None:
    frames, codes = [], []
    for ac in range(1 << 13):
        if ac & 0x50:  # M or Q set: not a Gillham code
            continue
        frames.append(with_parity(bytes([0x20, 0x00, ac >> 8, ac & 0xFF]), 0x4840D6).hex())
        codes.append(ac)
    batch = decode(frames)
    assert len(batch) == len(frames)
    legal = 0
    for i, f in enumerate(frames):
        theirs = pms.decode(f).get("altitude")
        ours = float(batch["altitude_ft"][i])
        if theirs is None:
            assert np.isnan(ours), hex(codes[i])
        else:
            legal += 1
            assert ours == theirs, hex(codes[i])
    assert legal > 1000


def test_address_parity_replies_recover_the_address() -> None:
    frame = with_parity(bytes.fromhex("28001A1F"), 0xCFBC31)
    rec = decode_one(frame.hex())
    assert rec["icao24"] == "cfbc31" and rec["squawk"] == "3617" and rec["crc_ok"] is False
    assert crc_remainder(frame) == 0xCFBC31


def test_comm_d_is_recognised_and_counted() -> None:
    frame = with_parity(bytes([0xC0]) + bytes(10), 0x3C6586)
    b = decode([frame])
    assert len(b) == 1 and int(b["df"][0]) == 24 and int(b["icao24"][0]) == 0x3C6586


def test_short_replies_in_long_containers_use_the_df_length() -> None:
    # The AFR34ZG capture stores DF4 replies as 14 bytes; the address comes from the first 7.
    rec = decode_one("212800bf40f1ef7e5817e9cc428d"[:14])
    batch = decode(["212800bf40f1ef7e5817e9cc428d"])
    assert batch.to_arrow().to_pylist()[0]["icao24"] == rec["icao24"] == "393322"


def test_columns_follow_the_canonical_schema() -> None:
    b = decode([*GOOD_DF17, "5D484FDEA248F5"], times=[1.0, 2.0, 3.0, 4.0, 5.0])
    assert tuple(b.columns) == MESSAGE_FIELD_NAMES
    for f in MESSAGE_FIELDS:
        assert b[f.name].dtype == f.np_dtype, f.name
        assert b[f.name].shape == (5,)
    assert b["t"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    table = b.to_arrow()
    assert isinstance(table, pa.Table) and table.column_names == list(MESSAGE_FIELD_NAMES)
    assert table.column("icao24").to_pylist()[0] == "4840d6"
    assert table.column("callsign").to_pylist()[:2] == ["KLM1023", None]
    assert table.column("altitude_ft").null_count == 4
    with pytest.raises(KeyError, match="no column"):
        b["nope"]


def test_matrix_input_with_lengths() -> None:
    fb = FrameBatch.from_hex([*GOOD_DF17, "5D484FDEA248F5"])
    b = decode(fb.raw, lengths=fb.nbytes)
    assert len(b) == 5 and b.valid("callsign").sum() == 1
