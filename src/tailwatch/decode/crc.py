# numba kernels compute on np.int64 scalars so that numba keeps integer types exact (a Python
# int() of a uint8 becomes uint64 in numba, and uint64 mixed with int64 becomes float64);
# mypy sees np.int64 where int is annotated, hence:
# mypy: disable-error-code="arg-type,assignment,return-value"
"""Mode S CRC-24 (generator 0x1FFF409), as pure functions over batches.

The parity of a Mode S reply is the CRC of its data bits, either sent as is (DF11/17/18: the
remainder of a good frame is 0, or the interrogator code for DF11) or XOR-ed with the aircraft
address (address/parity formats DF0/4/5/16/20/21/24: the remainder *is* the address).

Single-bit error correction (DF17/18 only) uses the syndrome of each bit position: a frame
whose remainder equals the syndrome of bit ``i`` becomes good when bit ``i`` is flipped.
Two-bit correction is never attempted: at 112 bits it turns noise into ghosts.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

GENERATOR = 0xFFF409  # x^24 + ... (the 25th bit is implicit)


def _make_table() -> npt.NDArray[np.uint32]:
    table = np.zeros(256, dtype=np.uint32)
    for v in range(256):
        c = v << 16
        for _ in range(8):
            c = ((c << 1) ^ GENERATOR) if c & 0x800000 else (c << 1)
        table[v] = c & 0xFFFFFF
    return table


CRC_TABLE: npt.NDArray[np.uint32] = _make_table()


@nb.njit(cache=True, inline="always")
def remainder_row(msg: npt.NDArray[np.uint8], nbytes: int) -> int:
    """CRC remainder of one frame (data bytes through the table, XOR the 24-bit parity)."""
    crc = 0
    for i in range(nbytes - 3):
        crc = ((crc << 8) ^ np.int64(CRC_TABLE[((crc >> 16) ^ np.int64(msg[i])) & 0xFF])) & 0xFFFFFF
    parity = (
        (np.int64(msg[nbytes - 3]) << 16)
        | (np.int64(msg[nbytes - 2]) << 8)
        | np.int64(msg[nbytes - 1])
    )
    return crc ^ parity


@nb.njit(cache=True)
def remainders(raw: npt.NDArray[np.uint8], nbytes: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint32]:
    """CRC remainder of every frame of a batch (frames of < 4 bytes get 0xFFFFFFFF)."""
    n = raw.shape[0]
    out = np.empty(n, dtype=np.uint32)
    for r in range(n):
        k = np.int64(nbytes[r])
        out[r] = remainder_row(raw[r], k) if k >= 4 else 0xFFFFFFFF
    return out


def _syndromes(nbits: int) -> npt.NDArray[np.uint32]:
    """Remainder produced by a single flipped bit at each position of an ``nbits`` frame."""
    out = np.zeros(nbits, dtype=np.uint32)
    nbytes = nbits // 8
    for bit in range(nbits):
        msg = np.zeros(14, dtype=np.uint8)
        msg[bit // 8] = 0x80 >> (bit % 8)
        out[bit] = remainder_row(msg, nbytes)
    return out


# Syndromes of the 112-bit frame. Bits 0-4 (the DF field) are never "corrected": a flip
# there would turn the frame into another format.
SYNDROMES_112: npt.NDArray[np.uint32] = _syndromes(112)
FIRST_CORRECTABLE_BIT = 5


@nb.njit(cache=True, inline="always")
def syndrome_bit(rem: int) -> int:
    """The bit (0-based from the MSB of a 112-bit frame) whose flip explains remainder
    ``rem``, or -1 when no single correctable bit does."""
    for bit in range(FIRST_CORRECTABLE_BIT, 112):
        if SYNDROMES_112[bit] == rem:
            return bit
    return -1


def crc_remainder(frame: bytes) -> int:
    """Remainder of one frame given as bytes (for users and tests)."""
    arr = np.zeros(14, dtype=np.uint8)
    arr[: len(frame)] = np.frombuffer(frame, dtype=np.uint8)
    return int(remainder_row(arr, len(frame)))


def with_parity(data: bytes, address: int = 0) -> bytes:
    """Append the 24-bit parity to ``data`` (4 or 11 bytes), XOR-ed with ``address``
    (0 for DF11/17/18; the aircraft address for address/parity formats)."""
    padded = data + b"\x00\x00\x00"
    rem = crc_remainder(padded)
    parity = rem ^ address
    return data + parity.to_bytes(3, "big")
