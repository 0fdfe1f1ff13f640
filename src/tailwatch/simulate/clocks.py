"""Receiver clocks: the radio path delay and the 12 MHz counter each receiver stamps.

Each receiver has a ``clock`` (scenario key, see docs/simulator.md):

``utc`` (the default, when no clock key is given)
    the behaviour of scenarios written before clocks existed, kept so that their feeds do
    not change: the arrival time is ``t + ground distance / c`` and the counter is
    ``rint((t_rx − day0) · 12e6)``, computed from a float64 UNIX time (about 0.24 µs of
    rounding). Good for everything except multilateration.
``gps``
    a counter locked to GPS time: ``floor((t_arrival − day0 + jitter) · 12e6)``, where the
    arrival time is the transmission time plus the exact slant range from the aircraft to
    the antenna in ECEF (WGS84) over ``c``, computed relative to ``day0`` so no float64 UNIX
    rounding enters it (the timestamps are true to well under a nanosecond before the
    optional ``clock_jitter_ns``).
``free``
    a free-running 12 MHz counter, as a receiver on a crystal oscillator has:
    ``floor((clock_offset_s + (t_arrival − day0) · (1 + clock_drift_ppm·1e-6) + wander
    + jitter) · 12e6)``, with the same exact arrival times. ``wander`` (optional,
    ``clock_wander_ppm_per_h``) integrates a random walk of the frequency error (a step every
    second, a standard deviation of that many ppm after an hour), as temperature moves a
    crystal.

For ``gps`` and ``free`` clocks, ``clock_resets`` make the counter restart: at each reset
``at`` (UTC seconds) the counter is set to ``to_s`` seconds (0: a receiver restart; anything
else: a jump) and runs on from there at the same rate. Counters wrap at 2⁴⁸ (the Beast field).
``day0`` is 00:00 UTC of the feed's first day. Jitter is Gaussian with the standard deviation
``clock_jitter_ns``, drawn per reception.

Heights: the aircraft's is its altitude (barometric, taken as geometric: no weather), the
antenna's ``alt_m`` (default ``height_ft`` converted: no terrain), both above the ellipsoid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tailwatch.simulate.scenario import ReceiverSpec

F64 = npt.NDArray[np.float64]
C_M_S = 299_792_458.0
TICKS_PER_S = 12_000_000
COUNTER_MASK = (1 << 48) - 1
FT_M = 0.3048

_A_M = 6_378_137.0  # WGS84 semi-major axis
_F = 1.0 / 298.257223563
_E2 = _F * (2.0 - _F)

__all__ = ["C_M_S", "TICKS_PER_S", "Wander", "counter_s", "counter_ticks", "ecef_m",
           "make_wander", "receiver_alt_m", "slant_range_m"]  # fmt: skip


def ecef_m(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike, alt_m: npt.ArrayLike
           ) -> tuple[F64, F64, F64]:  # fmt: skip
    """WGS84 geodetic (degrees, metres above the ellipsoid) → ECEF x, y, z in metres."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    h = np.asarray(alt_m, dtype=np.float64)
    s, c = np.sin(lat), np.cos(lat)
    n = _A_M / np.sqrt(1.0 - _E2 * s * s)
    x = (n + h) * c * np.cos(lon)
    y = (n + h) * c * np.sin(lon)
    z = (n * (1.0 - _E2) + h) * s
    return x, y, z


def receiver_alt_m(spec: ReceiverSpec) -> float:
    """The antenna's height above the ellipsoid: ``alt_m``, else ``height_ft`` in metres."""
    return spec.alt_m if spec.alt_m is not None else spec.height_ft * FT_M


def slant_range_m(lat: F64, lon: F64, alt_ft: F64, spec: ReceiverSpec) -> F64:
    """Straight-line distance (m) from aircraft points to the receiver's antenna, in ECEF."""
    x, y, z = ecef_m(lat, lon, alt_ft * FT_M)
    rx, ry, rz = ecef_m(spec.lat, spec.lon, receiver_alt_m(spec))
    return np.asarray(np.sqrt((x - rx) ** 2 + (y - ry) ** 2 + (z - rz) ** 2), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Wander:
    """A free counter's frequency random walk, integrated: extra counter seconds on a 1 s
    grid starting at ``t0`` (seconds since day0); the frequency is constant within each
    second, so linear interpolation of the phase is exact."""

    t0: float
    phase_s: F64

    def at(self, rel_s: F64) -> F64:
        grid = self.t0 + np.arange(self.phase_s.size, dtype=np.float64)
        return np.asarray(np.interp(rel_s, grid, self.phase_s), dtype=np.float64)


def make_wander(spec: ReceiverSpec, rel_lo: float, rel_hi: float,
                rng: np.random.Generator) -> Wander | None:  # fmt: skip
    """The wander of a ``free`` clock over ``[rel_lo, rel_hi]`` (None without
    ``clock_wander_ppm_per_h``): the frequency error moves by a Gaussian step every second,
    with a standard deviation of ``clock_wander_ppm_per_h`` after one hour."""
    if spec.clock != "free" or spec.clock_wander_ppm_per_h <= 0 or not rel_hi >= rel_lo:
        return None
    t0 = float(np.floor(rel_lo))
    n = int(np.ceil(rel_hi - t0)) + 2
    freq = np.cumsum(rng.normal(0.0, spec.clock_wander_ppm_per_h * 1e-6 / 60.0, n))
    phase = np.concatenate([[0.0], np.cumsum(freq[:-1])])
    return Wander(t0, phase)


def counter_s(spec: ReceiverSpec, rel_s: F64, day0: float, jitter_s: F64 | None = None,
              wander: Wander | None = None) -> F64:  # fmt: skip
    """The receiver's counter, in seconds (before the 12 MHz rounding and the 2⁴⁸ wrap), at
    true times ``rel_s`` (seconds since ``day0``) — the ``gps`` or ``free`` model above."""
    rel = np.asarray(rel_s, dtype=np.float64)
    extra = wander.at(rel) if wander is not None else np.zeros(rel.shape)
    if spec.clock == "free":
        rate = 1.0 + spec.clock_drift_ppm * 1e-6
        out = spec.clock_offset_s + rel * rate + extra
    else:
        rate = 1.0
        out = rel.copy()
    for reset in spec.clock_resets:  # in time order: a later reset overrides an earlier one
        at = reset.t - day0
        after = rel >= at
        at_extra = float(wander.at(np.array([at]))[0]) if wander is not None else 0.0
        out = np.where(after, reset.to_s + (rel - at) * rate + extra - at_extra, out)
    if jitter_s is not None:
        out = out + jitter_s
    return np.asarray(out, dtype=np.float64)


def counter_ticks(spec: ReceiverSpec, rel_s: F64, day0: float, rng: np.random.Generator,
                  wander: Wander | None = None) -> npt.NDArray[np.uint64]:  # fmt: skip
    """12 MHz counter values (wrapped at 2⁴⁸) of receptions at true times ``rel_s`` (seconds
    since ``day0``, path delay included), with the receiver's jitter drawn from ``rng``."""
    jitter = None
    if spec.clock_jitter_ns > 0 and rel_s.size:
        jitter = rng.normal(0.0, spec.clock_jitter_ns * 1e-9, rel_s.size)
    c = counter_s(spec, rel_s, day0, jitter, wander)
    ticks = np.floor(c * TICKS_PER_S).astype(np.int64)
    return (ticks & np.int64(COUNTER_MASK)).astype(np.uint64)
