"""Generated scenarios of any size, for benchmarks: ``mlat_scenario`` (and ``mlat:NxRxM``).

:func:`mlat_scenario` builds a multilateration test set without a TOML file: ``receivers``
receivers around a centre (one in the middle, the others on a ring at 60 % of the radius,
each moved by up to 10 % of the radius) with ``free`` clocks (offsets drawn in 0-86,400 s,
drifts in ±20 ppm, the given jitter) or ``gps`` ones, and ``aircraft`` aircraft crossing the
region in straight lines at constant altitude (2,000 to 41,000 ft; 250 kt below 10,000 ft,
else 300-480 kt), a share ``modes_only`` of them with ADS-B off. All invented, all drawn
from ``seed``. ``tailwatch simulate mlat:200x8x10`` is the same with 200 aircraft, 8
receivers and 10 minutes.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np

from tailwatch.core.errors import ConfigError
from tailwatch.reference.geo import M_PER_NM, destination_deg
from tailwatch.simulate.scenario import (
    AircraftSpec,
    LegSpec,
    NoiseSpec,
    RatesSpec,
    ReceiverSpec,
    Scenario,
    Window,
)

__all__ = ["MLAT_PATTERN", "mlat_scenario", "parse_preset"]

MLAT_PATTERN = re.compile(r"^mlat:(\d+)x(\d+)x(\d+(?:\.\d+)?)$")
_START = dt.datetime(2023, 5, 10, 10, 0, tzinfo=dt.UTC).timestamp()


def mlat_scenario(
    aircraft: int = 200,
    receivers: int = 8,
    minutes: float = 10.0,
    *,
    lat: float = 52.0,
    lon: float = 5.0,
    radius_nm: float = 120.0,
    modes_only: float = 0.2,
    clock: str = "free",
    jitter_ns: float = 80.0,
    radars: int = 3,
    loss: float = 0.05,
    seed: int = 0,
    start_t: float = _START,
) -> Scenario:
    """A generated multilateration scenario (see the module docstring)."""
    if not 1 <= aircraft <= 20000 or not 1 <= receivers <= 200 or not 0 < minutes <= 1440:
        raise ConfigError("mlat scenario: 1-20000 aircraft, 1-200 receivers, 0-1440 minutes")
    if clock not in ("free", "gps"):
        raise ConfigError("mlat scenario: clock is 'free' or 'gps'")
    rng = np.random.default_rng([seed, 18])
    r_m = radius_nm * M_PER_NM
    rx: list[ReceiverSpec] = []
    for i in range(receivers):
        brg = 360.0 * (i - 1) / max(receivers - 1, 1)
        ring_lat, ring_lon = destination_deg(lat, lon, brg, 0.6 * r_m if i else 0.0)
        p_lat, p_lon = destination_deg(ring_lat, ring_lon, rng.uniform(0, 360),
                                       rng.uniform(0, 0.1) * r_m)  # fmt: skip
        free = clock == "free"
        rx.append(ReceiverSpec(
            name=f"rx{i + 1:02d}", lat=round(float(p_lat), 5), lon=round(float(p_lon), 5),
            height_ft=float(rng.uniform(30, 300)), range_nm=2.5 * radius_nm, clock=clock,
            clock_offset_s=float(rng.uniform(0, 86400)) if free else 0.0,
            clock_drift_ppm=float(rng.uniform(-20, 20)) if free else 0.0,
            clock_jitter_ns=jitter_ns,
        ))  # fmt: skip
    span_s = minutes * 60.0
    addrs = rng.choice(np.arange(0x400000, 0x43C000), aircraft, replace=False)
    planes: list[AircraftSpec] = []
    for k in range(aircraft):
        alt = 100.0 * round(rng.uniform(2000, 41000) / 100.0)
        kt = 250.0 if alt < 10000 else float(rng.uniform(300, 480))
        mid_lat, mid_lon = destination_deg(lat, lon, rng.uniform(0, 360),
                                           math.sqrt(rng.uniform()) * r_m)  # fmt: skip
        hdg = float(rng.uniform(0, 360))
        half_m = (kt * (span_s + 240.0) / 3600.0) * M_PER_NM / 2.0
        adsb = bool(rng.random() >= modes_only)
        a = destination_deg(mid_lat, mid_lon, hdg + 180.0, half_m)
        b = destination_deg(mid_lat, mid_lon, hdg, half_m)
        planes.append(AircraftSpec(
            icao24=int(addrs[k]), callsign=f"SIM{k + 1}", typecode="A320", category=11,
            legs=(LegSpec(origin=(float(a[0]), float(a[1])), destination=(float(b[0]),
                                                                         float(b[1])),
                          anchor="start", anchor_t=start_t - 120.0, cruise_altitude_ft=alt,
                          cruise_speed_kt=kt, start_altitude_ft=alt),),
            adsb=adsb, note="generated (mlat preset)" + ("" if adsb else ", Mode S only"),
        ))  # fmt: skip
    name = f"mlat:{aircraft}x{receivers}x{minutes:g}"
    return Scenario(
        name=name, title=f"Generated MLAT set: {aircraft} aircraft, {receivers} receivers "
        f"({clock} clocks), {minutes:g} minutes", description=__doc__ or "", seed=seed,
        aircraft=tuple(planes), receivers=tuple(rx),
        windows=(Window(start_t, start_t + span_s, "generated"),),
        noise=NoiseSpec(loss=loss, edge_loss=0.3), rates=RatesSpec(radars=radars),
        source=name,
    )  # fmt: skip


def parse_preset(name: str) -> Scenario | None:
    """``mlat:AIRCRAFTxRECEIVERSxMINUTES`` → :func:`mlat_scenario`; anything else → None."""
    m = MLAT_PATTERN.match(name)
    if m is None:
        return None
    return mlat_scenario(int(m.group(1)), int(m.group(2)), float(m.group(3)))
