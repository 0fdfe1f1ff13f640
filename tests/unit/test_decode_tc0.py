"""TC 0 airborne position messages ("no position information") still carry the barometric
altitude; aircraft whose GNSS is jammed keep sending them, and the altitude must not be lost."""

from __future__ import annotations

import math

import numpy as np

from tailwatch import decode
from tailwatch.encode.adsb import airborne_position


def test_tc0_keeps_the_barometric_altitude_and_has_no_position() -> None:
    frames = airborne_position(
        0x4840D6, [math.nan, 52.0], [0.0, 4.0], [35000.0, 12000.0], [0, 0]
    )
    batch = decode(frames.hex(), times=[1.7e9, 1.7e9 + 1])
    tc = np.asarray(batch["typecode"])
    alt = np.asarray(batch["altitude_ft"], dtype=float)
    assert list(tc) == [0, 11]
    assert alt[0] == 35000.0  # read from the TC 0 frame, not left empty
    assert alt[1] == 12000.0
    cpr_lat = np.asarray(batch["cpr_lat"], dtype=float)
    assert cpr_lat[1] >= 0  # the real position has its CPR latitude
    assert not cpr_lat[0] >= 0  # TC 0 has none (absent: -1 or NaN)
