"""Operator (airline) designators: the 3-letter ICAO prefix of a callsign → operator.

ICAO three-letter designators (ICAO Doc 8585) are the first three characters of an ATC
callsign ("RCH4521" = REACH, US Air Mobility Command). tailwatch ships only a small hand-written
table of the military and state operators it needs to recognise (:data:`STATE_OPERATORS`),
written from public facts; the source of every row is FAA Order JO 7340.2 "Contractions",
Chapter 3 ("ICAO Aircraft Company Three-Letter Identifier and/or Telephony Designator"),
https://www.faa.gov/air_traffic/publications/atpubs/cnt_html/ — the FAA's public copy of the
ICAO designators. ``tests/unit/test_reference_operators.py`` checks every row (designator,
country, telephony) against an independent compilation of that order when it is present.

A full table (about 6,200 designators) is not shipped: the one we know of, Mictronics'
``operators.json`` (GPL-3, readsb-protobuf), is loaded at run time from a path the user gives
(:meth:`OperatorDirectory.from_mictronics_json`). Its format is
``{"AAL": ["American Airlines", "United States", "AMERICAN"], ...}`` (name, country, telephony).
The shipped table takes precedence over a loaded file for the designators it lists; the kind
(military, state, civil) of a loaded designator is "unknown", as the file does not say.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tailwatch.core.errors import ReferenceDataError

__all__ = [
    "FAA_JO_7340_2",
    "STATE_OPERATORS",
    "Operator",
    "OperatorDirectory",
    "designator_of_callsign",
    "operator_of_callsign",
]

OperatorKind = Literal["military", "state", "civil", "unknown"]

FAA_JO_7340_2 = (
    "FAA JO 7340.2 ch. 3 (https://www.faa.gov/air_traffic/publications/atpubs/cnt_html/)"
)


@dataclass(frozen=True, slots=True)
class Operator:
    """One designator: operator name, state, radio telephony, kind and where it comes from."""

    designator: str
    name: str
    country: str
    telephony: str = ""
    kind: OperatorKind = "unknown"
    source: str = ""

    @property
    def military(self) -> bool:
        return self.kind == "military"


def _mil(designator: str, name: str, country: str, telephony: str) -> Operator:
    return Operator(designator, name, country, telephony, "military", FAA_JO_7340_2)


def _state(designator: str, name: str, country: str, telephony: str) -> Operator:
    return Operator(designator, name, country, telephony, "state", FAA_JO_7340_2)


# Military and state operators, one line each: designator, operator, state, telephony.
_TABLE: tuple[Operator, ...] = (
    # Russia
    _mil("RFF", "Russian Air Force", "Russia", "RUSSIAN AIRFORCE"),
    _state("RSD", "Rossiya Special Flight Detachment", "Russia", "STATE AERO"),
    # United States
    _mil("RCH", "US Air Force Air Mobility Command", "United States", "REACH"),
    _mil("SAM", "US Air Force 89th Airlift Wing (Special Air Mission)", "United States", "SAM"),
    _mil("CNV", "US Navy Air Logistics Office", "United States", "CONVOY"),
    _mil("PAT", "US Army Priority Air Transport", "United States", "PAT"),
    # United Kingdom
    _mil("RRR", "Royal Air Force", "United Kingdom", "ASCOT"),
    _mil("RFR", "Royal Air Force", "United Kingdom", "RAFAIR"),
    _mil("AAC", "Army Air Corps", "United Kingdom", "ARMYAIR"),
    _mil("NVY", "Royal Navy", "United Kingdom", "NAVY"),
    _mil("SHF", "Support Helicopter Force", "United Kingdom", "VORTEX"),
    # France
    _mil("CTM", "French Air and Space Force, air transport command (COTAM)", "France", "COTAM"),
    _mil("FAF", "French Air and Space Force", "France", "FRENCH AIR FORCE"),
    # Germany
    _mil("GAF", "German Air Force", "Germany", "GERMAN AIR FORCE"),
    _mil("GAM", "German Army", "Germany", "GERMAN ARMY"),
    _mil("GNY", "German Navy", "Germany", "GERMAN NAVY"),
    # Rest of Europe
    _mil("IAM", "Italian Air Force", "Italy", "ITALIAN AIRFORCE"),
    _mil("AME", "Spanish Air Force", "Spain", "AIRMIL"),
    _mil("AFP", "Portuguese Air Force", "Portugal", "PORTUGUESE AIR FORCE"),
    _mil("BAF", "Belgian Air Force", "Belgium", "BELGIAN AIRFORCE"),
    _mil("NAF", "Royal Netherlands Air Force", "Netherlands", "NETHERLANDS AIR FORCE"),
    _mil("DAF", "Royal Danish Air Force", "Denmark", "DANISH AIRFORCE"),
    _mil("NOW", "Royal Norwegian Air Force", "Norway", "NORWEGIAN"),
    _mil("SVF", "Swedish Armed Forces", "Sweden", "SWEDEFORCE"),
    _mil("FNF", "Finnish Air Force", "Finland", "FINNFORCE"),
    _mil("PLF", "Polish Air Force", "Poland", "POLISH AIRFORCE"),
    _mil("CEF", "Czech Air Force", "Czech Republic", "CZECH AIR FORCE"),
    _mil("SQF", "Slovak Air Force", "Slovakia", "SLOVAK AIRFORCE"),
    _mil("HUF", "Hungarian Air Force", "Hungary", "HUNGARIAN AIRFORCE"),
    _mil("ROF", "Romanian Air Force", "Romania", "ROMAF"),
    _mil("AFB", "Bulgarian Air Force", "Bulgaria", "BULAF"),
    _mil("HRZ", "Croatian Air Force", "Croatia", "CROATIAN AIRFORCE"),
    _mil("HAF", "Hellenic Air Force", "Greece", "HELLENIC AIR FORCE"),
    _mil("HVK", "Turkish Air Force", "Turkey", "TURKISH AIRFORCE"),
    _mil("ASF", "Austrian Air Force", "Austria", "AUSTRIAN AIRFORCE"),
    _mil("SUI", "Swiss Air Force", "Switzerland", "SWISS AIR FORCE"),
    _mil("LAF", "Latvian Air Force", "Latvia", "LATVIAN AIRFORCE"),
    _mil("EEF", "Estonian Air Force", "Estonia", "ESTONIAN AIRFORCE"),
    # NATO
    _mil(
        "MMF",
        "NATO Support and Procurement Agency (Multinational MRTT Fleet)",
        "Netherlands",
        "MULTI",
    ),
    _mil("MAG", "NATO Alliance Ground Surveillance", "Italy", "MAGMA"),
    # Americas
    _mil("CFC", "Canadian Armed Forces", "Canada", "CANFORCE"),
    _mil("BRS", "Brazilian Air Force", "Brazil", "BRAZILIAN AIR FORCE"),
    _mil("FAC", "Colombian Air Force", "Colombia", "COLOMBIAN AIR FORCE"),
    _mil("FAM", "Mexican Air Force", "Mexico", "FAMEX"),
    _mil("FAG", "Argentine Air Force", "Argentina", "FUAER"),
    # Middle East, Africa, Asia, Pacific
    _mil("IAF", "Israeli Air Force", "Israel", ""),
    _mil("UAF", "United Arab Emirates Air Force", "United Arab Emirates", "UNIFORCE"),
    _mil("RSF", "Royal Saudi Air Force", "Saudi Arabia", "ARSAF"),
    _mil("MJN", "Royal Air Force of Oman", "Oman", "MAJAN"),
    _mil("RJZ", "Royal Jordanian Air Force", "Jordan", "JORDAN AIR FORCE"),
    _mil("EGY", "Egyptian Air Force", "Egypt", ""),
    _mil("LMG", "South African Air Force", "South Africa", "SOUTH AFRICAN"),
    _mil("IFC", "Indian Air Force", "India", "INDIAN AIRFORCE"),
    _mil("SAF", "Republic of Singapore Air Force", "Singapore", "SINGA"),
    _mil("RMF", "Royal Malaysian Air Force", "Malaysia", "ANGKASA"),
    _mil("ASY", "Royal Australian Air Force", "Australia", "AUSSIE"),
    _mil("KIW", "Royal New Zealand Air Force", "New Zealand", "KIWI"),
)

STATE_OPERATORS: Mapping[str, Operator] = {op.designator: op for op in _TABLE}


def designator_of_callsign(callsign: str | bytes | None) -> str | None:
    """The ICAO designator of a callsign: three letters followed by a digit ('RCH4521' → 'RCH').

    Registration-style callsigns ('GABCD', 'N123AB') have no designator.
    """
    if callsign is None:
        return None
    if isinstance(callsign, bytes):
        callsign = callsign.decode("ascii", errors="replace")
    cs = callsign.strip().upper()
    if len(cs) >= 4 and cs[:3].isascii() and cs[:3].isalpha() and cs[3] in "0123456789":
        return cs[:3]
    return None


class OperatorDirectory(Mapping[str, Operator]):
    """Designator → :class:`Operator`, the shipped table over any loaded file."""

    def __init__(self, entries: Mapping[str, Operator] | None = None) -> None:
        merged: dict[str, Operator] = dict(entries or {})
        merged.update(STATE_OPERATORS)
        self._entries = merged

    @classmethod
    def builtin(cls) -> OperatorDirectory:
        return cls()

    @classmethod
    def from_mictronics_json(cls, path: str | Path) -> OperatorDirectory:
        """Load Mictronics' ``operators.json`` (``{"AAL": [name, country, telephony]}``)."""
        p = Path(path)
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReferenceDataError(f"cannot read operators file {p}: {exc}") from exc
        if not isinstance(raw, dict):
            raise ReferenceDataError(f"{p}: expected a JSON object of designators")
        source = f"mictronics:{p.name}"
        entries: dict[str, Operator] = {}
        for key, val in raw.items():
            if not isinstance(key, str) or not isinstance(val, list) or not val:
                continue
            fields = [str(v) if v is not None else "" for v in val] + ["", "", ""]
            designator = key.strip().upper()
            entries[designator] = Operator(
                designator, fields[0], fields[1], fields[2], "unknown", source
            )
        return cls(entries)

    def __getitem__(self, designator: str) -> Operator:
        return self._entries[designator.upper()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def for_callsign(self, callsign: str | bytes | None) -> Operator | None:
        d = designator_of_callsign(callsign)
        return self._entries.get(d) if d is not None else None


_BUILTIN = OperatorDirectory()


def operator_of_callsign(
    callsign: str | bytes | None, directory: OperatorDirectory | None = None
) -> Operator | None:
    """Operator named by a callsign's designator, from ``directory`` or the shipped table."""
    return (directory if directory is not None else _BUILTIN).for_callsign(callsign)
