"""Background traffic: ``[[traffic]]`` sections become ordinary aircraft with one leg each.

For each of ``flights`` flights (drawn with the scenario's seed, so the same seed gives the
same traffic): an airline, one of its types, an address from one of its ICAO blocks (never
one already used), a callsign ``<prefix><number>`` and a squawk (never an emergency or
conspicuity code). Then, in the proportion ``overflights``, a flight that only crosses the
region at cruise level (from 250 NM before to 250 NM past a point near one of the region's
airports, passing that point at a time inside the section's span); the others are, half and
half, a departure from one of the region's ``airports`` (take-off inside the span) or an
arrival to one of them (landing inside the span), the other end being one of the ``remote``
airports (another airport of the region when there is none). A share ``modes_only`` of the
flights has ADS-B off (``adsb = false``: DF11 and radar replies only), for multilateration.
"""

from __future__ import annotations

import numpy as np

from tailwatch.core.errors import ConfigError
from tailwatch.reference.airports import airport
from tailwatch.reference.geo import M_PER_NM, destination_deg
from tailwatch.reference.military import in_military_range
from tailwatch.simulate.routes import PERFORMANCE, performance, runway_ends
from tailwatch.simulate.scenario import AircraftSpec, LegSpec, TrafficSpec

_HEAVY = {"A124", "IL62", "IL76", "IL96", "A332", "A333", "A359", "B744", "B763", "B772",
          "B77W", "B788", "B789"}  # fmt: skip
_PROPS = {"AT72", "AT76", "DH8D"}
_RESERVED_SQUAWKS = {0, 1200, 2000, 7000, 7500, 7600, 7700, 7777}
OVERFLIGHT_NM = 250.0


def category_of(typecode: str) -> int:
    """Emitter category code: A5 (heavy) for wide-bodies and strategic transports, A2 for
    turboprops, else A3."""
    if typecode in _HEAVY:
        return 13
    if typecode in _PROPS:
        return 10
    return 11


def random_squawk(rng: np.random.Generator) -> int:
    while True:
        digits = rng.integers(0, 8, 4)
        code = int("".join(str(d) for d in digits))
        if code not in _RESERVED_SQUAWKS and digits[0] != 0:
            return code


def generate(spec: TrafficSpec, rng: np.random.Generator, used: set[int],
             modes_rng: np.random.Generator | None = None) -> list[AircraftSpec]:  # fmt: skip
    """The flights of one traffic section (``used``: addresses already taken, updated).
    ``modes_rng`` draws which flights are Mode S-only (``modes_only``): a stream of its own,
    so that a section without them gives the same flights as before the key existed."""
    modes_rng = modes_rng or np.random.default_rng(0)
    for code in (*spec.airports, *spec.remote):
        try:
            airport(code)
        except Exception:
            raise ConfigError(f"[[traffic]] {spec.name}: unknown airport {code}") from None
        if not runway_ends(code):
            raise ConfigError(f"[[traffic]] {spec.name}: {code} has no usable runway")
    for al in spec.airlines:
        for t in al.types:
            if t not in PERFORMANCE:
                raise ConfigError(f"[[traffic]] {spec.name}: no performance data for type {t}; "
                                  f"known: {sorted(PERFORMANCE)}")  # fmt: skip
    callsigns: set[str] = set()
    out: list[AircraftSpec] = []
    for _ in range(spec.flights):
        al = spec.airlines[int(rng.integers(len(spec.airlines)))]
        typecode = al.types[int(rng.integers(len(al.types)))]
        perf = performance(typecode)
        for _tries in range(1000):
            lo, hi = al.blocks[int(rng.integers(len(al.blocks)))]
            addr = int(rng.integers(lo, hi + 1))
            # civil traffic: never an address of a military sub-block (readsb's ranges)
            if addr not in used and not bool(in_military_range(addr)):
                break
        else:
            raise ConfigError(f"[[traffic]] {spec.name}: {al.prefix} has no free address left")
        used.add(addr)
        while True:
            callsign = f"{al.prefix}{int(rng.integers(al.numbers[0], al.numbers[1] + 1))}"[:8]
            if callsign not in callsigns:
                callsigns.add(callsign)
                break
        lo_alt, hi_alt = spec.cruise_altitude_ft
        cruise = float(min(perf.cruise_altitude_ft + 2000.0,
                           1000.0 * round(rng.uniform(lo_alt, hi_alt) / 1000.0)))  # fmt: skip
        squawk = random_squawk(rng)
        u = rng.random()
        home = spec.airports[int(rng.integers(len(spec.airports)))]
        others = [a for a in (spec.remote or spec.airports) if a != home] or [home]
        away = others[int(rng.integers(len(others)))]
        if u < spec.overflights:
            ap = airport(home)
            lat0, lon0 = destination_deg(ap.lat_deg, ap.lon_deg, rng.uniform(0, 360),
                                         rng.uniform(0, 60) * M_PER_NM)  # fmt: skip
            heading = rng.uniform(0, 360)
            a = destination_deg(lat0, lon0, heading + 180.0, OVERFLIGHT_NM * M_PER_NM)
            b = destination_deg(lat0, lon0, heading, OVERFLIGHT_NM * M_PER_NM)
            t_mid = rng.uniform(spec.start, spec.end)
            leg = LegSpec(
                origin=(float(a[0]), float(a[1])), destination=(float(b[0]), float(b[1])),
                anchor="start", anchor_t=t_mid - OVERFLIGHT_NM / perf.cruise_kt * 3600.0,
                via=((float(lat0), float(lon0)),), cruise_altitude_ft=cruise,
            )  # fmt: skip
        elif u < spec.overflights + (1.0 - spec.overflights) / 2:
            leg = LegSpec(origin=home, destination=away, anchor="takeoff",
                          anchor_t=rng.uniform(spec.start - 600.0, spec.end - 1200.0),
                          cruise_altitude_ft=cruise)  # fmt: skip
        else:
            leg = LegSpec(origin=away, destination=home, anchor="landing",
                          anchor_t=rng.uniform(spec.start + 900.0, spec.end + 600.0),
                          cruise_altitude_ft=cruise)  # fmt: skip
        modes = spec.modes_only > 0 and modes_rng.random() < spec.modes_only
        out.append(AircraftSpec(
            icao24=addr, callsign=callsign, typecode=typecode, category=category_of(typecode),
            legs=(leg,), operator=al.prefix, squawk=squawk, adsb=not modes,
            note=f"background traffic ({spec.name})" + (", Mode S only" if modes else ""),
        ))  # fmt: skip
    return out
