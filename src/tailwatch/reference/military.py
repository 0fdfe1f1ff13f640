"""Is an aircraft military? Three rules, each named in the verdict.

1. ``db_flag``: the aircraft database marks the address as military (bit 1 of ``db_flags``,
   readsb's dbFlags; tar1090-db's flags string "1…").
2. ``icao_range``: the address lies in a sub-block that a state reserves for its military
   aircraft (:data:`MILITARY_RANGES`).
3. ``callsign_prefix``: the callsign starts with the ICAO designator of a military operator
   followed by a digit (:data:`MILITARY_CALLSIGN_PREFIXES`, from
   :data:`tailwatch.reference.operators.STATE_OPERATORS`).

The first rule that fires names the verdict; when none fires the verdict is ``(False, "none")``.
A positive rule is evidence, the absence of one is not proof: most states (Russia, Venezuela,
Syria among them) have no published military sub-block, so their military aircraft are found
by the database flag or the callsign only. Local annotations (``identity.py``) can override
everything and are reported as ``annotation``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tailwatch.reference.operators import STATE_OPERATORS

__all__ = [
    "DB_FLAG_INTERESTING",
    "DB_FLAG_LADD",
    "DB_FLAG_MILITARY",
    "DB_FLAG_PIA",
    "MILITARY_CALLSIGN_PREFIXES",
    "MILITARY_RANGES",
    "MILITARY_RULES",
    "MilitaryRange",
    "in_military_range",
    "military_callsigns",
    "military_range_of",
    "military_verdict",
    "military_verdicts",
]

# Bits of db_flags (readsb's dbFlags).
DB_FLAG_MILITARY = 1
DB_FLAG_INTERESTING = 2
DB_FLAG_PIA = 4
DB_FLAG_LADD = 8

# Rule codes of military_verdicts (index = code).
MILITARY_RULES: tuple[str, ...] = ("none", "annotation", "db_flag", "icao_range", "callsign_prefix")
_RULE = {name: np.int8(i) for i, name in enumerate(MILITARY_RULES)}


@dataclass(frozen=True, slots=True)
class MilitaryRange:
    """An address sub-block reserved for military aircraft (bounds inclusive)."""

    start: int
    end: int
    country: str


# Military address sub-blocks: ranges from readsb's isMilRange / tar1090-db ranges.json
# (github.com/wiedehopf/readsb, GPL-3.0-or-later; github.com/wiedehopf/tar1090-db,
# ranges.json "military"), the facts rewritten here as a table. Where readsb lists adjacent
# sub-ranges of one state (US mil_1…mil_5, Germany mil_2 + mil_3, Saudi Arabia mil_1…mil_3)
# they are merged.
MILITARY_RANGES: tuple[MilitaryRange, ...] = tuple(
    MilitaryRange(s, e, c)
    for s, e, c in (
        (0x010070, 0x01008F, "Egypt"),
        (0x0A4000, 0x0A4FFF, "Algeria"),
        (0x33FF00, 0x33FFFF, "Italy"),
        (0x350000, 0x37FFFF, "Spain"),
        (0x3AA000, 0x3AFFFF, "France"),
        (0x3B7000, 0x3BFFFF, "France"),
        (0x3EA000, 0x3EBFFF, "Germany"),
        (0x3F4000, 0x3FBFFF, "Germany"),
        (0x400000, 0x40003F, "United Kingdom"),
        (0x43C000, 0x43CFFF, "United Kingdom"),
        (0x444000, 0x446FFF, "Austria"),
        (0x44F000, 0x44FFFF, "Belgium"),
        (0x457000, 0x457FFF, "Bulgaria"),
        (0x45F400, 0x45F4FF, "Denmark"),
        (0x468000, 0x4683FF, "Greece"),
        (0x473C00, 0x473C0F, "Hungary"),
        (0x478100, 0x4781FF, "Norway"),
        (0x480000, 0x480FFF, "Netherlands"),
        (0x48D800, 0x48D87F, "Poland"),
        (0x497C00, 0x497CFF, "Portugal"),
        (0x498420, 0x49842F, "Czech Republic"),
        (0x4B7000, 0x4B7FFF, "Switzerland"),
        (0x4B8200, 0x4B82FF, "Turkey"),
        (0x70C070, 0x70C07F, "Oman"),
        (0x710258, 0x71028F, "Saudi Arabia"),
        (0x710380, 0x71039F, "Saudi Arabia"),
        (0x738A00, 0x738AFF, "Israel"),
        (0x7CF800, 0x7CFAFF, "Australia"),
        (0x800200, 0x8002FF, "India"),
        (0xADF7C8, 0xAFFFFF, "United States"),
        (0xC20000, 0xC3FFFF, "Canada"),
        (0xE40000, 0xE41FFF, "Brazil"),
    )
)

_STARTS = np.array([r.start for r in MILITARY_RANGES], dtype=np.int64)
_ENDS = np.array([r.end for r in MILITARY_RANGES], dtype=np.int64)

# Military designators as callsign prefixes (see operators.py for the source of each).
MILITARY_CALLSIGN_PREFIXES: frozenset[str] = frozenset(
    d for d, op in STATE_OPERATORS.items() if op.military
)


def _key3(text: str) -> int:
    b = text.encode("ascii")
    return (b[0] << 16) | (b[1] << 8) | b[2]


_PREFIX_KEYS = np.array(sorted(_key3(p) for p in MILITARY_CALLSIGN_PREFIXES), dtype=np.uint32)


def _range_index(icao24: ArrayLike) -> NDArray[np.intp]:
    addr = np.asarray(icao24).astype(np.int64, copy=False)
    k = np.searchsorted(_STARTS, addr, side="right") - 1
    inside = (k >= 0) & (addr <= _ENDS[np.maximum(k, 0)])
    return np.where(inside, k, -1)


def in_military_range(icao24: ArrayLike) -> NDArray[np.bool_]:
    """True where the address lies in a military sub-block."""
    return _range_index(icao24) >= 0


def military_range_of(icao24: int) -> MilitaryRange | None:
    k = int(_range_index(np.array([icao24], dtype=np.int64))[0])
    return MILITARY_RANGES[k] if k >= 0 else None


def _callsign_bytes(callsign: ArrayLike) -> NDArray[np.uint8]:
    """(N, 8) upper-case ASCII bytes of callsigns given as S, U or object arrays."""
    arr = np.asarray(callsign)
    if arr.dtype.kind == "O":
        arr = np.array(
            [
                (c.encode("ascii", "replace") if isinstance(c, str) else (c or b""))
                for c in arr.ravel().tolist()
            ],
            dtype="S8",
        )
    elif arr.dtype.kind == "U":
        arr = np.char.encode(arr.ravel(), "ascii", "replace")
    arr = np.ascontiguousarray(arr.ravel().astype("S8"))
    b = arr.view(np.uint8).reshape(-1, 8)
    return np.where((b >= 0x61) & (b <= 0x7A), b - 0x20, b).astype(np.uint8)


def military_callsigns(callsign: ArrayLike) -> NDArray[np.bool_]:
    """True where a callsign is a military designator followed by a digit ('RFF1234')."""
    b = _callsign_bytes(callsign)
    letters = ((b[:, :3] >= 0x41) & (b[:, :3] <= 0x5A)).all(axis=1)
    digit = (b[:, 3] >= 0x30) & (b[:, 3] <= 0x39)
    key = (b[:, 0].astype(np.uint32) << 16) | (b[:, 1].astype(np.uint32) << 8) | b[:, 2]
    if len(_PREFIX_KEYS) == 0:
        return np.zeros(len(b), dtype=np.bool_)
    pos = np.minimum(np.searchsorted(_PREFIX_KEYS, key), len(_PREFIX_KEYS) - 1)
    hit: NDArray[np.bool_] = letters & digit & (_PREFIX_KEYS[pos] == key)
    return hit


def military_verdicts(
    icao24: ArrayLike,
    callsign: ArrayLike | None = None,
    db_flags: ArrayLike | None = None,
) -> tuple[NDArray[np.bool_], NDArray[np.int8]]:
    """Vectorised verdicts: (military, rule code into :data:`MILITARY_RULES`).

    ``callsign`` is an array of callsigns (S8 as decoded, or str); ``db_flags`` an integer
    array of readsb dbFlags bits (0 where unknown).
    """
    addr = np.asarray(icao24)
    n = addr.shape[0] if addr.ndim else 1
    rule = np.full(n, _RULE["none"], dtype=np.int8)
    if callsign is not None:
        cs = military_callsigns(callsign)
        rule[cs] = _RULE["callsign_prefix"]
    rule[in_military_range(addr.reshape(n))] = _RULE["icao_range"]
    if db_flags is not None:
        flags = np.asarray(db_flags).astype(np.int64, copy=False).reshape(n)
        rule[(flags & DB_FLAG_MILITARY) != 0] = _RULE["db_flag"]
    return rule != _RULE["none"], rule


def military_verdict(
    icao24: int,
    callsign: str | bytes | None = None,
    db_flags: int | None = None,
) -> tuple[bool, str]:
    """(military, rule) for one aircraft; rule is one of :data:`MILITARY_RULES`."""
    cs = None if callsign is None else np.array([callsign], dtype=object)
    flags = None if db_flags is None else np.array([db_flags], dtype=np.int64)
    mil, rule = military_verdicts(np.array([icao24], dtype=np.int64), cs, flags)
    return bool(mil[0]), MILITARY_RULES[int(rule[0])]
