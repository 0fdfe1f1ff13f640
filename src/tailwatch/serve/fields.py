"""How long each served value stays current, and the values a snapshot may carry beyond the
ones every tracker snapshot has.

readsb keeps, for every field of an aircraft, the time it was last updated, and stops writing
the field once it is older than ``TRACK_EXPIRE`` (60 s; the callsign and the air/ground state
after ``TRACK_EXPIRE_LONG``, 180 s); an aircraft unheard for 60 s leaves ``aircraft.json``
(readsb's track.h and json_out.c). OpenSky reuses a position or a velocity for 15 s, then
writes null, and drops a state vector without a position or velocity update for 15 s
(docs/free/state-vectors.rst of openskynetwork/opensky-api).

Each group of fields below reads its own clock: a ``t_*`` column of the snapshot. Where the
tracker does not provide that column yet, the nearest clock stands in (``last_seen`` for the
groups without their own: the value is then as fresh as the aircraft, never older than 60 s
since no aircraft older than that is served). :data:`OPTIONAL_COLUMNS` are values the serve
layer renders as soon as the tracker's snapshot has them (readsb's names, units and decimals).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "AIRCRAFT_MAX_AGE_S", "FIELD_CLOCKS", "FIELD_MAX_AGE_S", "LONG_FIELD_MAX_AGE_S",
    "NO_SIGNAL_RSSI", "OPENSKY_MAX_AGE_S", "OPTIONAL_COLUMNS", "OptionalColumn", "rc_metres",
]

#: an aircraft unheard for longer is served to no client (readsb TRACK_EXPIRE)
AIRCRAFT_MAX_AGE_S = 60.0
#: a field older than this is left out (readsb TRACK_EXPIRE)
FIELD_MAX_AGE_S = 60.0
#: callsign and air/ground state (readsb TRACK_EXPIRE_LONG)
LONG_FIELD_MAX_AGE_S = 180.0
#: OpenSky: positions and velocities reused this long, state vectors dropped after it
OPENSKY_MAX_AGE_S = 15.0
#: readsb's rssi when no signal level was measured: 10·log10(0 + 1.125e-5)
NO_SIGNAL_RSSI = -49.5

#: field group → (its clock column, the column standing in while the tracker lacks it)
FIELD_CLOCKS: dict[str, tuple[str, str]] = {
    "position": ("t_position", "t_position"),
    "altitude": ("t_altitude", "t_altitude"),
    "velocity": ("t_velocity", "last_seen"),  # gs, track
    "geom": ("t_geom", "t_altitude"),  # alt_geom
    "vrate": ("t_vrate", "t_velocity"),  # vrate_fpm: the latest rate of either kind
    "baro_rate": ("t_baro_rate", "t_velocity"),  # baro_rate_fpm (baro_rate)
    "geom_rate": ("t_geom_rate", "t_velocity"),  # geom_rate
    "callsign": ("t_callsign", "last_seen"),
    "squawk": ("t_squawk", "last_seen"),  # squawk, emergency
    "status": ("t_status", "last_seen"),  # alert, spi
    "ground": ("t_ground", "last_seen"),
    "air": ("t_air", "last_seen"),  # ias, tas, mach, mag_heading, roll
    "true_heading": ("t_true_heading", "last_seen"),
    "track_rate": ("t_track_rate", "last_seen"),
    "wind": ("t_wind", "last_seen"),  # wd, ws
    "temperature": ("t_temp", "last_seen"),  # oat, tat
    "nav": ("t_nav", "last_seen"),  # nav_qnh, nav_altitude_mcp/fms, nav_heading, nav_modes
    "quality": ("t_quality", "last_seen"),  # version, nic_baro, nac_p/v, sil(_type), gva, sda
}
#: groups that expire after LONG_FIELD_MAX_AGE_S instead of FIELD_MAX_AGE_S
LONG_GROUPS = frozenset({"callsign", "ground"})


@dataclass(frozen=True, slots=True)
class OptionalColumn:
    """A snapshot column the tracker may provide, rendered under readsb's ``key``."""

    column: str
    key: str
    decimals: int
    group: str  #: whose clock expires it (FIELD_CLOCKS)
    null: float = -1.0  #: the snapshot's value for "unknown" (NaN columns: NaN)


#: readsb's key, decimals (json_out.c: ``%d``/``%u`` 0, ``%.2f`` 2, wind and temperatures
#: ``%.0f``) and expiry clock of each value the tracker's snapshot adds (track/tracker.py)
OPTIONAL_COLUMNS: tuple[OptionalColumn, ...] = (
    OptionalColumn("geom_rate_fpm", "geom_rate", 0, "geom_rate", float("nan")),
    OptionalColumn("true_heading_deg", "true_heading", 2, "true_heading", float("nan")),
    OptionalColumn("track_rate_deg_s", "track_rate", 2, "track_rate", float("nan")),
    OptionalColumn("nav_altitude_fms_ft", "nav_altitude_fms", 0, "nav", float("nan")),
    OptionalColumn("nav_heading_deg", "nav_heading", 2, "nav", float("nan")),
    OptionalColumn("wind_dir_deg", "wd", 0, "wind", float("nan")),
    OptionalColumn("wind_speed_kt", "ws", 0, "wind", float("nan")),
    OptionalColumn("oat_c", "oat", 0, "temperature", float("nan")),
    OptionalColumn("tat_c", "tat", 0, "temperature", float("nan")),
    OptionalColumn("nic_baro", "nic_baro", 0, "quality"),
    OptionalColumn("gva", "gva", 0, "quality"),
    OptionalColumn("sda", "sda", 0, "quality"),
    OptionalColumn("alert", "alert", 0, "status"),
    OptionalColumn("spi", "spi", 0, "status"),
)

#: NIC → containment radius Rc in metres (DO-260B 2.2.3.2.7.2.6, airborne; where NIC
#: supplements split a value, the larger radius); 0 = unknown, as readsb writes it
_RC_BY_NIC = np.array([0, 37040, 14816, 7408, 3704, 1852, 1111, 370, 185, 75, 25, 7.5],
                      dtype=np.float64)


def rc_metres(nic: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """readsb's ``rc`` for each NIC (negative: unknown → 0, as readsb writes it)."""
    n = np.asarray(nic).astype(np.int64)
    return np.where((n >= 0) & (n < _RC_BY_NIC.shape[0]),
                    _RC_BY_NIC[np.clip(n, 0, _RC_BY_NIC.shape[0] - 1)], 0.0)
