# numba kernels compute on np.int64 scalars so that numba keeps integer types exact (a Python
# int() of a uint8 becomes uint64 in numba, and uint64 mixed with int64 becomes float64);
# mypy sees np.int64 where int is annotated, hence:
# mypy: disable-error-code="arg-type,assignment,return-value"
"""Bit-field helpers shared by the decoding kernels (pure numba functions).

Mode S bit numbering follows ICAO Annex 10: bit 1 is the most significant bit of the frame.
``me`` is the 56-bit ME/MB/MV field (message bits 33-88) as an integer whose bit 1 is its MSB.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

# Six-bit character set of Mode S identification (ICAO Annex 10 Vol IV, 3.1.2.9.1.2).
CHARSET = np.frombuffer(
    b"#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######", dtype=np.uint8
).copy()


@nb.njit(cache=True, inline="always")
def me_of(msg: npt.NDArray[np.uint8]) -> int:
    """The 56 bits at message bits 33-88 (bytes 4..10) as an integer."""
    v = 0
    for i in range(4, 11):
        v = (v << 8) | np.int64(msg[i])
    return v


@nb.njit(cache=True, inline="always")
def bits(me: int, start: int, length: int) -> int:
    """Field of ``length`` bits starting at ME bit ``start`` (1-based, MSB first)."""
    return (me >> (56 - start - length + 1)) & ((1 << length) - 1)


@nb.njit(cache=True, inline="always")
def gillham_to_ft(code13: int) -> float:
    """Gillham (Mode C, 100 ft) altitude from a 13-bit AC field laid out
    C1 A1 C2 A2 C4 A4 M B1 Q B2 D2 B4 D4 (M and Q zero). NaN when the code is illegal."""
    c1 = (code13 >> 12) & 1
    a1 = (code13 >> 11) & 1
    c2 = (code13 >> 10) & 1
    a2 = (code13 >> 9) & 1
    c4 = (code13 >> 8) & 1
    a4 = (code13 >> 7) & 1
    b1 = (code13 >> 5) & 1
    d1 = (code13 >> 4) & 1
    b2 = (code13 >> 3) & 1
    d2 = (code13 >> 2) & 1
    b4 = (code13 >> 1) & 1
    d4 = code13 & 1
    # 500 ft steps: Gray code D1 D2 D4 A1 A2 A4 B1 B2 B4 (MSB first).
    gray = (
        (d1 << 8) | (d2 << 7) | (d4 << 6) | (a1 << 5) | (a2 << 4) | (a4 << 3)
        | (b1 << 2) | (b2 << 1) | b4
    )
    n500 = gray
    shift = gray >> 1
    while shift:
        n500 ^= shift
        shift >>= 1
    # 100 ft steps: C1 C2 C4, a 5-state cycle code.
    g100 = (c1 << 2) | (c2 << 1) | c4
    n100 = g100 ^ (g100 >> 1) ^ (g100 >> 2)
    if n100 == 7:
        n100 = 5
    if n100 == 0 or (n100 == 5 and g100 != 4) or n100 == 6:
        return np.nan
    if n500 & 1:
        n100 = 6 - n100
    return float(n500 * 500 + n100 * 100 - 1300)


@nb.njit(cache=True, inline="always")
def ac13_to_ft(ac: int) -> float:
    """Altitude from the 13-bit AC field of DF0/4/16/20 (Q=1: 25 ft; Q=0: Gillham;
    M=1: metric, not decoded). NaN when absent or not decodable."""
    if ac == 0:
        return np.nan
    if ac & 0x40:  # M bit: metric altitude, not used in practice
        return np.nan
    if ac & 0x10:  # Q bit: 25 ft increments
        n = ((ac & 0x1F80) >> 2) | ((ac & 0x20) >> 1) | (ac & 0x0F)
        return float(n * 25 - 1000)
    return gillham_to_ft(ac)


@nb.njit(cache=True, inline="always")
def ac12_to_ft(ac: int) -> float:
    """Altitude from the 12-bit field of ADS-B airborne positions (the AC13 without M)."""
    if ac == 0:
        return np.nan
    if ac & 0x10:
        n = ((ac & 0xFE0) >> 1) | (ac & 0x0F)
        return float(n * 25 - 1000)
    return gillham_to_ft(((ac & 0xFC0) << 1) | (ac & 0x3F))


@nb.njit(cache=True, inline="always")
def id13_to_squawk(f: int) -> int:
    """Mode A code from a 13-bit ID field (C1 A1 C2 A2 C4 A4 X B1 D1 B2 D2 B4 D4), returned
    as its four octal digits read as a decimal number (7700 → 7700)."""
    a = ((f >> 11) & 1) | (((f >> 9) & 1) << 1) | (((f >> 7) & 1) << 2)
    b = ((f >> 5) & 1) | (((f >> 3) & 1) << 1) | (((f >> 1) & 1) << 2)
    c = ((f >> 12) & 1) | (((f >> 10) & 1) << 1) | (((f >> 8) & 1) << 2)
    d = ((f >> 4) & 1) | (((f >> 2) & 1) << 1) | ((f & 1) << 2)
    return a * 1000 + b * 100 + c * 10 + d


@nb.njit(cache=True, inline="always")
def write_callsign(me: int, first_bit: int, out: npt.NDArray[np.uint8]) -> None:
    """Eight 6-bit characters from ME bit ``first_bit`` into ``out`` (8 bytes); trailing
    spaces become NUL so that the fixed-width bytes compare stripped."""
    for k in range(8):
        out[k] = CHARSET[bits(me, first_bit + 6 * k, 6)]
    k = 7
    while k >= 0 and out[k] == 32:
        out[k] = 0
        k -= 1
