"""Mode S / ADS-B encoder: the inverse of the decoder, for the simulator, tests and benchmarks.

Column-oriented: every encoder takes numpy arrays (scalars broadcast) and returns
:class:`Frames` ``(raw, nbytes)``, the (N, 14) uint8 layout of
:class:`~tailwatch.core.frames.FrameBatch`, with correct parity. The ``*_hex`` functions
encode one message and return its hex string::

    >>> from tailwatch import encode
    >>> encode.identification_hex("4840d6", "KLM1023", category=0)
    '8d4840d6202cc371c32ce0576098'

``set_parity`` recomputes the parity of any frames (e.g. after editing them) and
``set_address`` moves real frames to other addresses. How each field is quantised is
documented in :mod:`.bits`, :mod:`.adsb`, :mod:`.surveillance` and :mod:`.commb`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec

from tailwatch.encode.adsb import (
    airborne_position,
    emergency_status,
    identification,
    me_airborne_position,
    me_emergency_status,
    me_identification,
    me_operational_status,
    me_surface_position,
    me_velocity_air,
    me_velocity_ground,
    movement_code,
    operational_status,
    surface_position,
    velocity_air,
    velocity_ground,
)
from tailwatch.encode.bits import (
    Frames,
    altitude_code12,
    altitude_code13,
    callsign_code48,
    identity_code13,
    set_address,
    set_parity,
)
from tailwatch.encode.commb import mb_bds20, mb_bds40, mb_bds50, mb_bds60
from tailwatch.encode.surveillance import (
    all_call_reply,
    altitude_reply,
    commb_altitude_reply,
    commb_identity_reply,
    identity_reply,
)

_P = ParamSpec("_P")


def _one_hex(fn: Callable[_P, Frames]) -> Callable[_P, str]:
    @wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> str:
        frames = fn(*args, **kwargs)
        if frames.raw.shape[0] != 1:
            raise ValueError(f"expected one message, the arguments give {frames.raw.shape[0]}")
        return frames.hex()[0]

    wrapper.__doc__ = f"One message as a hex string; see :func:`{fn.__name__}`."
    return wrapper


identification_hex = _one_hex(identification)
airborne_position_hex = _one_hex(airborne_position)
surface_position_hex = _one_hex(surface_position)
velocity_ground_hex = _one_hex(velocity_ground)
velocity_air_hex = _one_hex(velocity_air)
operational_status_hex = _one_hex(operational_status)
emergency_status_hex = _one_hex(emergency_status)
altitude_reply_hex = _one_hex(altitude_reply)
identity_reply_hex = _one_hex(identity_reply)
all_call_reply_hex = _one_hex(all_call_reply)
commb_altitude_reply_hex = _one_hex(commb_altitude_reply)
commb_identity_reply_hex = _one_hex(commb_identity_reply)

__all__ = [
    "Frames",
    "airborne_position",
    "airborne_position_hex",
    "all_call_reply",
    "all_call_reply_hex",
    "altitude_code12",
    "altitude_code13",
    "altitude_reply",
    "altitude_reply_hex",
    "callsign_code48",
    "commb_altitude_reply",
    "commb_altitude_reply_hex",
    "commb_identity_reply",
    "commb_identity_reply_hex",
    "emergency_status",
    "emergency_status_hex",
    "identification",
    "identification_hex",
    "identity_code13",
    "identity_reply",
    "identity_reply_hex",
    "mb_bds20",
    "mb_bds40",
    "mb_bds50",
    "mb_bds60",
    "me_airborne_position",
    "me_emergency_status",
    "me_identification",
    "me_operational_status",
    "me_surface_position",
    "me_velocity_air",
    "me_velocity_ground",
    "movement_code",
    "operational_status",
    "operational_status_hex",
    "set_address",
    "set_parity",
    "surface_position",
    "surface_position_hex",
    "velocity_air",
    "velocity_air_hex",
    "velocity_ground",
    "velocity_ground_hex",
]
