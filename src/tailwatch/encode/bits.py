"""Building blocks of the encoder: argument columns, field codes, frame packing and parity.

Every encoder takes columns (numpy arrays, or scalars broadcast against them) and returns
:class:`Frames`: an (N, 14) uint8 matrix of left-aligned frames and their lengths, the
layout of :class:`~tailwatch.core.frames.FrameBatch`. Fields are assembled as uint64 words
with numpy; the parity is written by a compiled loop over the rows.

Field codes shared by several formats (quantisation as the standard does it):

* Altitude code, 13 bits (AC of DF0/4/16/20: C1 A1 C2 A2 C4 A4 M B1 Q B2 D2 B4 D4), and
  the 12-bit ADS-B altitude (the same without the M bit). Altitudes from -1000 to 50175 ft
  are sent with Q = 1 in 25 ft steps (N = (alt + 1000) / 25, rounded to nearest); higher
  ones (up to 126700 ft), or any altitude when ``gillham`` is set, in the Gillham (Mode C)
  code of 100 ft steps, rounded to nearest. NaN or out of range: 0 (not available).
* Identity code, 13 bits (ID of DF5/21, TC 28): C1 A1 C2 A2 C4 A4 X B1 D1 B2 D2 B4 D4, the
  squawk's octal digits ABCD, each digit's bits 4-2-1.
* Callsign: 8 characters of 6 bits (A-Z = 1-26, space = 32, 0-9 = 48-57), space-padded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.core.frames import FRAME_WIDTH, FrameBatch
from tailwatch.decode.crc import remainder_row

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]

# Downlink formats whose parity is overlaid with the aircraft address (AP field).
AP_FORMATS = frozenset({0, 4, 5, 16, 20, 21, 24, 25, 26, 27, 28, 29, 30, 31})


class Frames(NamedTuple):
    """Encoded frames: ``raw`` (N, 14) uint8 left-aligned, ``nbytes`` (N,) uint8."""

    raw: npt.NDArray[np.uint8]
    nbytes: npt.NDArray[np.uint8]

    def hex(self) -> list[str]:
        """One lowercase hex string per frame."""
        return [bytes(self.raw[i, : int(self.nbytes[i])]).hex() for i in range(self.raw.shape[0])]

    def to_frame_batch(self, t_rx: npt.ArrayLike | None = None) -> FrameBatch:
        return FrameBatch.from_matrix(self.raw, self.nbytes, t_rx=t_rx)

    @staticmethod
    def concat(parts: Sequence[Frames]) -> Frames:
        return Frames(
            np.concatenate([p.raw for p in parts]), np.concatenate([p.nbytes for p in parts])
        )


# ----------------------------------------------------------------------------------------
# Argument columns


def broadcast(*values: npt.ArrayLike) -> list[npt.NDArray[np.generic]]:
    """Broadcast the arguments against each other into 1-D arrays of one length N
    (a call with scalars only gives N = 1)."""
    arrays = np.broadcast_arrays(*[np.asarray(v) for v in values])
    return [np.ascontiguousarray(a).reshape(-1) for a in arrays]


def uint_field(values: npt.NDArray[np.generic], nbits: int, name: str) -> U64:
    """Integers that must fit in ``nbits`` unsigned bits, as uint64 (ValueError otherwise)."""
    v = np.asarray(values)
    if v.dtype.kind == "b":
        v = v.astype(np.int64)
    if v.dtype.kind == "f":
        if not np.all(np.isfinite(v)) or not np.all(v == np.floor(v)):
            raise ValueError(f"{name} must be integers")
        v = v.astype(np.int64)
    if v.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers, got dtype {v.dtype}")
    if v.size and (int(v.min()) < 0 or int(v.max()) >= (1 << nbits)):
        raise ValueError(f"{name} must be in 0..{(1 << nbits) - 1}")
    return v.astype(np.uint64)


def icao_field(values: npt.NDArray[np.generic]) -> U64:
    """Addresses given as integers or as hex strings ('40621d'), as uint64."""
    v = np.asarray(values)
    if v.dtype.kind in "US":
        strs = v.astype(str)
        try:
            ints = np.array([int(s, 16) for s in strs.ravel()], dtype=np.int64)
        except ValueError as e:
            raise ValueError(f"icao24 must be hex strings: {e}") from None
        v = ints.reshape(strs.shape)
    return uint_field(v, 24, "icao24")


def floats(values: npt.ArrayLike) -> F64:
    return np.asarray(values, dtype=np.float64)


def as_u64(value: object) -> U64:
    """The result of uint64 bit arithmetic, typed."""
    return np.asarray(value, dtype=np.uint64)


def round_half_up(x: F64) -> F64:
    """floor(x + 1/2): the rounding to nearest of the standard's encoding formulas."""
    return np.floor(x + 0.5)


def magnitude_code(value: F64, lsb: float, max_code: int) -> tuple[U64, U64]:
    """(sign bit, code) of a sign-and-magnitude field whose code is ``|v|/lsb + 1`` (rounded;
    0 = not available, saturating at ``max_code``): ADS-B velocities, rates, differences.
    A value that rounds to 0 is sent as +0, except an explicit -0.0 (some transponders send
    a negative zero; it is kept so that real frames can be rebuilt bit for bit)."""
    ok = np.isfinite(value)
    v = np.where(ok, value, 0.0)
    mag = round_half_up(np.abs(v) / lsb)
    code = np.where(ok, np.minimum(mag + 1, max_code), 0).astype(np.uint64)
    sign = (((v < 0) & (mag > 0)) | ((v == 0) & np.signbit(v))).astype(np.uint64)
    return sign, code


def twos_complement(value: F64, lsb: float, nbits: int) -> tuple[U64, U64]:
    """(status, code) of an ``nbits`` two's complement field (sign bit included) with the
    given LSB, rounded to nearest and clipped to its range; status 0 where NaN."""
    ok = np.isfinite(value)
    lim = 1 << (nbits - 1)
    raw = np.clip(round_half_up(np.where(ok, value, 0.0) / lsb), -lim, lim - 1).astype(np.int64)
    code = (raw & ((1 << nbits) - 1)).astype(np.uint64)
    return ok.astype(np.uint64), np.where(ok, code, 0).astype(np.uint64)


def angle_code(value_deg: F64, nbits: int) -> tuple[U64, U64]:
    """(status, code) of an angle sent in ``nbits`` as a fraction of 360° (rounded,
    modulo 360°; as two's complement when the field is signed ±180°, it is the same bits)."""
    ok = np.isfinite(value_deg)
    steps = 1 << nbits
    raw = round_half_up(np.where(ok, value_deg, 0.0) * (steps / 360.0)).astype(np.int64)
    code = np.where(ok, raw & (steps - 1), 0).astype(np.uint64)
    return ok.astype(np.uint64), code


def unsigned_code(value: F64, lsb: float, nbits: int, offset: float = 0.0) -> tuple[U64, U64]:
    """(status, code) of an unsigned field ``(v - offset) / lsb``, rounded and clipped."""
    ok = np.isfinite(value)
    raw = round_half_up((np.where(ok, value, offset) - offset) / lsb)
    code = np.clip(raw, 0, (1 << nbits) - 1).astype(np.uint64)
    return ok.astype(np.uint64), np.where(ok, code, 0).astype(np.uint64)


# ----------------------------------------------------------------------------------------
# Altitude, identity and callsign codes

# Bit position (from the MSB, 0..12) of each pulse in the 13-bit AC / ID fields.
_POS = {"C1": 0, "A1": 1, "C2": 2, "A2": 3, "C4": 4, "A4": 5, "B1": 7, "D1": 8,
        "B2": 9, "D2": 10, "B4": 11, "D4": 12}  # fmt: skip


def _pulse(bits: U64, name: str) -> U64:
    return bits << np.uint64(12 - _POS[name])


def _digits_to_13(a: U64, b: U64, c: U64, d: U64) -> U64:
    """Four octal digits (bits 4-2-1 each) → 13-bit AC/ID layout (bit 6, X or M, left 0)."""
    out = np.zeros(a.shape, dtype=np.uint64)
    one = np.uint64(1)
    for digit, letter in ((a, "A"), (b, "B"), (c, "C"), (d, "D")):
        out |= _pulse((digit >> np.uint64(2)) & one, letter + "4")
        out |= _pulse((digit >> one) & one, letter + "2")
        out |= _pulse(digit & one, letter + "1")
    return out


def _gray(n: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return n ^ (n >> 1)


def gillham_code13(altitude_ft: F64) -> U64:
    """Gillham (Mode C) 13-bit code of altitudes rounded to 100 ft, -1200..126700 ft;
    0 outside that range or NaN.

    The altitude in 100 ft units plus 13 is 5·F + H with H in 1..5: F (500 ft steps) is
    sent as an 8-bit Gray code on D2 D4 A1 A2 A4 B1 B2 B4 and H on C1 C2 C4 as the Gray
    code of H (H = 5 sent as the Gray code of 7), H counted backwards when F is odd.
    """
    ok = np.isfinite(altitude_ft)
    v = round_half_up(np.where(ok, altitude_ft, 0.0) / 100.0).astype(np.int64) + 13
    ok &= (v >= 1) & (v <= 5 * 255 + 5)
    v = np.where(ok, v, 1)
    f = (v - 1) // 5
    h = v - 5 * f
    h = np.where(f & 1, 6 - h, h)
    hg = _gray(np.where(h == 5, 7, h)).astype(np.uint64)  # C1 C2 C4 (C1 = MSB)
    fg = _gray(f).astype(np.uint64)  # D2 D4 A1 A2 A4 B1 B2 B4 (D2 = MSB)
    one = np.uint64(1)

    def bit(x: U64, k: int) -> U64:
        return (x >> np.uint64(k)) & one

    a = (bit(fg, 3) << np.uint64(2)) | (bit(fg, 4) << one) | bit(fg, 5)  # A4 A2 A1
    b = (bit(fg, 0) << np.uint64(2)) | (bit(fg, 1) << one) | bit(fg, 2)  # B4 B2 B1
    c = (bit(hg, 0) << np.uint64(2)) | (bit(hg, 1) << one) | bit(hg, 2)  # C4 C2 C1
    d = (bit(fg, 6) << np.uint64(2)) | (bit(fg, 7) << one)  # D4 D2 (D1 = 0)
    return np.where(ok, _digits_to_13(a, b, c, d), 0).astype(np.uint64)


def altitude_code13(altitude_ft: F64, gillham: npt.NDArray[np.bool_] | bool = False) -> U64:
    """13-bit AC field (M = 0): Q = 1 and 25 ft steps from -1000 to 50175 ft, else Gillham."""
    ok = np.isfinite(altitude_ft)
    n = round_half_up((np.where(ok, altitude_ft, 0.0) + 1000.0) / 25.0).astype(np.int64)
    q_ok = ok & (n >= 0) & (n <= 2047) & ~np.asarray(gillham, dtype=bool)
    nu = np.where(q_ok, n, 0).astype(np.uint64)
    # N (11 bits) around M (bit 6 from MSB) and Q (bit 8): n10..n5 M n4 Q n3..n0
    q_code = ((nu >> np.uint64(5)) << np.uint64(7)) | (((nu >> np.uint64(4)) & np.uint64(1))
             << np.uint64(5)) | np.uint64(0x10) | (nu & np.uint64(0xF))  # fmt: skip
    return np.where(q_ok, q_code, gillham_code13(altitude_ft)).astype(np.uint64)


def ac13_to_ac12(ac13: U64) -> U64:
    """Remove the M bit (bit 6 from the MSB) of a 13-bit altitude code."""
    return ((ac13 >> np.uint64(7)) << np.uint64(6)) | (ac13 & np.uint64(0x3F))


def altitude_code12(altitude_ft: F64, gillham: npt.NDArray[np.bool_] | bool = False) -> U64:
    """12-bit ADS-B altitude: the 13-bit code without its M bit."""
    return ac13_to_ac12(altitude_code13(altitude_ft, gillham))


def identity_code13(squawk: npt.NDArray[np.generic]) -> U64:
    """13-bit identity code of squawks given as their octal digits read in decimal (7700)."""
    sq = np.asarray(squawk)
    if sq.dtype.kind in "US":
        sq = np.array([int(s) for s in sq.astype(str).ravel()], dtype=np.int64)
    sq = uint_field(sq, 14, "squawk").astype(np.int64)
    digits = [(sq // 1000) % 10, (sq // 100) % 10, (sq // 10) % 10, sq % 10]
    if sq.size and (int(sq.max()) > 7777 or any(int(d.max()) > 7 for d in digits)):
        raise ValueError("squawk must be four octal digits (0000-7777)")
    a, b, c, d = (x.astype(np.uint64) for x in digits)
    return _digits_to_13(a, b, c, d)


_CHARSET = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"
_CHAR_CODE = np.full(256, -1, dtype=np.int16)
for _code, _ch in enumerate(_CHARSET):
    if _ch != "#":
        _CHAR_CODE[ord(_ch)] = _code


def callsign_code48(callsign: npt.NDArray[np.generic]) -> U64:
    """48-bit code of callsigns (str or bytes, up to 8 of A-Z 0-9 space, case-insensitive,
    space-padded on the right)."""
    cs = np.asarray(callsign)
    if cs.dtype.kind == "S":
        cs = np.char.decode(cs, "ascii")
    if cs.dtype.kind != "U":
        raise ValueError("callsign must be strings")
    if cs.size and int(np.char.str_len(cs).max()) > 8:
        raise ValueError("callsign is longer than 8 characters")
    padded = np.char.upper(np.char.ljust(cs, 8)).reshape(-1)
    try:
        as_bytes = padded.astype("S8")
    except UnicodeEncodeError:
        raise ValueError("callsign must be ASCII (A-Z, 0-9, space)") from None
    chars = np.frombuffer(as_bytes.tobytes(), dtype=np.uint8).reshape(-1, 8)
    codes = _CHAR_CODE[chars]
    if (codes < 0).any():
        raise ValueError("callsign characters must be A-Z, 0-9 or space")
    out = np.zeros(chars.shape[0], dtype=np.uint64)
    for k in range(8):
        out = (out << np.uint64(6)) | codes[:, k].astype(np.uint64)
    return out


# ----------------------------------------------------------------------------------------
# Frames and parity


@nb.njit(cache=True)
def _pack(
    header: npt.NDArray[np.uint64],
    payload: npt.NDArray[np.uint64],
    overlay: npt.NDArray[np.uint64],
    long: bool,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    n = header.shape[0]
    nbytes = 14 if long else 7
    raw = np.zeros((n, FRAME_WIDTH), dtype=np.uint8)
    for r in range(n):
        h = header[r]
        for k in range(4):
            raw[r, k] = (h >> np.uint64(24 - 8 * k)) & np.uint64(0xFF)
        if long:
            p = payload[r]
            for k in range(7):
                raw[r, 4 + k] = (p >> np.uint64(48 - 8 * k)) & np.uint64(0xFF)
        parity = remainder_row(raw[r], nbytes) ^ np.int64(overlay[r])
        raw[r, nbytes - 3] = (parity >> 16) & 0xFF
        raw[r, nbytes - 2] = (parity >> 8) & 0xFF
        raw[r, nbytes - 1] = parity & 0xFF
    return raw, np.full(n, nbytes, dtype=np.uint8)


def pack_long(header32: U64, payload56: U64, overlay: U64) -> Frames:
    """112-bit frames: 32-bit header (DF and the first fields), 56-bit ME/MB, parity XOR
    ``overlay`` (0, or the address for address/parity formats)."""
    raw, nbytes = _pack(header32, payload56, overlay, True)
    return Frames(raw, nbytes)


def pack_short(header32: U64, overlay: U64) -> Frames:
    """56-bit frames: 32-bit header then parity XOR ``overlay``."""
    raw, nbytes = _pack(header32, header32, overlay, False)
    return Frames(raw, nbytes)


@nb.njit(cache=True, inline="always")
def _frame_length(df: int) -> int:
    return 7 if df < 16 else 14


@nb.njit(cache=True, inline="always")
def _is_ap(df: int) -> bool:
    return df in (0, 4, 5, 16, 20, 21) or df >= 24


@nb.njit(cache=True, inline="always")
def _write_parity(row: npt.NDArray[np.uint8], length: int, overlay: int) -> None:
    row[length - 3] = 0
    row[length - 2] = 0
    row[length - 1] = 0
    parity = remainder_row(row, length) ^ overlay
    row[length - 3] = (parity >> 16) & 0xFF
    row[length - 2] = (parity >> 8) & 0xFF
    row[length - 1] = parity & 0xFF


@nb.njit(cache=True)
def _set_parity(
    raw: npt.NDArray[np.uint8],
    nbytes: npt.NDArray[np.uint8],
    address: npt.NDArray[np.uint32],
    iid: npt.NDArray[np.uint32],
    need_address: bool,
) -> int:
    """Returns -1 when done, or the first row that needed an address none was given for."""
    for r in range(raw.shape[0]):
        df = raw[r, 0] >> 3
        length = _frame_length(df)
        if nbytes[r] < length:
            continue
        if _is_ap(df):
            if need_address:
                return r
            overlay = int(address[r])
        elif df == 11:
            overlay = int(iid[r])
        else:
            overlay = 0
        _write_parity(raw[r], length, overlay)
    return -1


def _u32_column(values: npt.ArrayLike, n: int, name: str) -> npt.NDArray[np.uint32]:
    arr = np.asarray(values)
    if arr.dtype.kind in "US":
        arr = icao_field(arr)
    col = np.ascontiguousarray(np.broadcast_to(arr, (n,)), dtype=np.int64)
    if n and (int(col.min()) < 0 or int(col.max()) > 0xFFFFFF):
        raise ValueError(f"{name} must be in 0..0xFFFFFF")
    return col.astype(np.uint32)


def set_parity(
    raw: npt.NDArray[np.uint8],
    nbytes: npt.NDArray[np.uint8],
    address: npt.ArrayLike | None = None,
    *,
    iid: npt.ArrayLike = 0,
) -> npt.NDArray[np.uint8]:
    """Recompute the parity of every frame, in place (``raw`` is also returned).

    The length comes from the DF (7 bytes below DF16, else 14; rows with fewer ``nbytes``,
    such as Mode A/C, are left alone), so short replies stored padded to 14 bytes work.
    The parity is the CRC of the data bits XOR-ed with: ``address`` (scalar or per row;
    integers or hex strings) for the address/parity formats DF0/4/5/16/20/21/24; ``iid``,
    the interrogator code overlay (II in the 4 low bits, or CL·16 + IC) for DF11; 0 for
    DF17/18/19 and the others. ``address`` may be None only when the batch holds no
    address/parity frame (ValueError otherwise).
    """
    n = raw.shape[0]
    if raw.ndim != 2 or raw.shape[1] != FRAME_WIDTH or raw.dtype != np.uint8:
        raise ValueError(f"raw must be an (N, {FRAME_WIDTH}) uint8 array")
    nb_col = np.ascontiguousarray(nbytes, dtype=np.uint8).reshape(-1)
    addr = _u32_column(0 if address is None else address, n, "address")
    iids = _u32_column(iid, n, "iid")
    bad = _set_parity(raw, nb_col, addr, iids, address is None)
    if bad >= 0:
        raise ValueError(f"row {bad} is an address/parity frame: set_parity needs its address")
    return raw


@nb.njit(cache=True)
def _set_address(
    raw: npt.NDArray[np.uint8], nbytes: npt.NDArray[np.uint8], address: npt.NDArray[np.uint32]
) -> None:
    for r in range(raw.shape[0]):
        df = raw[r, 0] >> 3
        length = _frame_length(df)
        if nbytes[r] < length:
            continue
        a = int(address[r])
        if df == 11 or df == 17 or df == 18:
            before = remainder_row(raw[r], length)  # II overlay, or an error syndrome
            raw[r, 1] = (a >> 16) & 0xFF
            raw[r, 2] = (a >> 8) & 0xFF
            raw[r, 3] = a & 0xFF
            _write_parity(raw[r], length, before)
        elif _is_ap(df):
            _write_parity(raw[r], length, a)


def set_address(
    raw: npt.NDArray[np.uint8], nbytes: npt.NDArray[np.uint8], address: npt.ArrayLike
) -> npt.NDArray[np.uint8]:
    """Make every frame come from ``address`` (scalar or per row), in place.

    DF11/17/18: the AA field is rewritten and the parity recomputed so that the CRC
    remainder stays what it was (a DF11 keeps its interrogator overlay; a frame with a bit
    error keeps the same error). Address/parity formats: the parity is recomputed with the
    new address overlaid. Other formats (Mode A/C, DF19, ...) are left as they are.
    """
    if raw.ndim != 2 or raw.shape[1] != FRAME_WIDTH or raw.dtype != np.uint8:
        raise ValueError(f"raw must be an (N, {FRAME_WIDTH}) uint8 array")
    n = raw.shape[0]
    nb_col = np.ascontiguousarray(nbytes, dtype=np.uint8).reshape(-1)
    _set_address(raw, nb_col, _u32_column(address, n, "address"))
    return raw
