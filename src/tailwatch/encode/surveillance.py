"""Mode S replies: DF4/DF20 (altitude), DF5/DF21 (identity), DF11 (all-call).

Layouts (bit 1 = first transmitted bit):

* DF4/5/20/21: DF(5) FS(3) DR(5) UM(6) AC or ID(13) [MB(56) for DF20/21] AP(24). The AP
  field is the parity XOR-ed with the aircraft address.
* DF11: DF(5) CA(3) AA(24) PI(24). PI is the parity XOR-ed with the interrogator code
  (``iid``: II in the 4 low bits, or CL·16 + IC for surveillance identifiers; 0 for a
  reply to a Mode S-only all-call or an acquisition squitter).

``altitude_ft`` is coded as :func:`~tailwatch.encode.bits.altitude_code13` says (25 ft,
Gillham 100 ft above 50175 ft or when ``gillham`` is set); ``squawk`` is the four octal
digits read as a decimal number (7700). ``fs`` flight status: 0 airborne, 1 on ground,
2/3 alert airborne/ground, 4 alert and SPI, 5 SPI. The MB of DF20/21 is a 56-bit integer
column, from :mod:`tailwatch.encode.commb` or any other source.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tailwatch.encode.bits import (
    U64,
    Frames,
    altitude_code13,
    as_u64,
    broadcast,
    floats,
    icao_field,
    identity_code13,
    pack_long,
    pack_short,
    uint_field,
)

_S = np.uint64


def _header(df: int, fs: npt.NDArray[np.generic], dr: npt.NDArray[np.generic],
            um: npt.NDArray[np.generic], code13: U64) -> U64:  # fmt: skip
    return as_u64(
        (_S(df) << _S(27))
        | (uint_field(fs, 3, "fs") << _S(24))
        | (uint_field(dr, 5, "dr") << _S(19))
        | (uint_field(um, 6, "um") << _S(13))
        | code13
    )


def _mb_column(mb: npt.NDArray[np.generic]) -> U64:
    v = np.asarray(mb)
    if v.dtype.kind not in "iu":
        raise ValueError("mb must be integers (56 bits)")
    v = v.astype(np.uint64)
    if v.size and int(v.max()) >> 56:
        raise ValueError("mb must fit in 56 bits")
    return v


def altitude_reply(
    icao24: npt.ArrayLike,
    altitude_ft: npt.ArrayLike,
    *,
    fs: npt.ArrayLike = 0,
    dr: npt.ArrayLike = 0,
    um: npt.ArrayLike = 0,
    gillham: npt.ArrayLike = False,
) -> Frames:
    """DF4 surveillance altitude reply."""
    aa, alt, fs_, dr_, um_, gh = broadcast(icao24, altitude_ft, fs, dr, um, gillham)
    ac = altitude_code13(floats(alt), np.asarray(gh, dtype=bool))
    return pack_short(_header(4, fs_, dr_, um_, ac), icao_field(aa))


def identity_reply(
    icao24: npt.ArrayLike,
    squawk: npt.ArrayLike,
    *,
    fs: npt.ArrayLike = 0,
    dr: npt.ArrayLike = 0,
    um: npt.ArrayLike = 0,
) -> Frames:
    """DF5 surveillance identity reply."""
    aa, sq, fs_, dr_, um_ = broadcast(icao24, squawk, fs, dr, um)
    return pack_short(_header(5, fs_, dr_, um_, identity_code13(sq)), icao_field(aa))


def all_call_reply(icao24: npt.ArrayLike, *, ca: npt.ArrayLike = 5,
                   iid: npt.ArrayLike = 0) -> Frames:  # fmt: skip
    """DF11 all-call reply (or acquisition squitter with ``iid`` = 0)."""
    aa, ca_, ii = broadcast(icao24, ca, iid)
    header = (_S(11) << _S(27)) | (uint_field(ca_, 3, "ca") << _S(24)) | icao_field(aa)
    return pack_short(header, uint_field(ii, 7, "iid"))


def commb_altitude_reply(
    icao24: npt.ArrayLike,
    altitude_ft: npt.ArrayLike,
    mb: npt.ArrayLike,
    *,
    fs: npt.ArrayLike = 0,
    dr: npt.ArrayLike = 0,
    um: npt.ArrayLike = 0,
    gillham: npt.ArrayLike = False,
) -> Frames:
    """DF20 Comm-B altitude reply carrying the 56-bit ``mb``."""
    aa, alt, mb_, fs_, dr_, um_, gh = broadcast(icao24, altitude_ft, mb, fs, dr, um, gillham)
    ac = altitude_code13(floats(alt), np.asarray(gh, dtype=bool))
    return pack_long(_header(20, fs_, dr_, um_, ac), _mb_column(mb_), icao_field(aa))


def commb_identity_reply(
    icao24: npt.ArrayLike,
    squawk: npt.ArrayLike,
    mb: npt.ArrayLike,
    *,
    fs: npt.ArrayLike = 0,
    dr: npt.ArrayLike = 0,
    um: npt.ArrayLike = 0,
) -> Frames:
    """DF21 Comm-B identity reply carrying the 56-bit ``mb``."""
    aa, sq, mb_, fs_, dr_, um_ = broadcast(icao24, squawk, mb, fs, dr, um)
    header = _header(21, fs_, dr_, um_, identity_code13(sq))
    return pack_long(header, _mb_column(mb_), icao_field(aa))
