"""Who is this aircraft? Country, registration, type, operator and military status in one call.

:func:`identify` answers for one aircraft, :func:`identify_many` for an array of addresses
(one Arrow table, one row per address). Each answer says where every field came from:

=====================  =====================================================================
source                 meaning
=====================  =====================================================================
``icao_allocation``    country from the ICAO Annex 10 address allocation (countries.py)
``registration_prefix`` country from the registration's nationality mark, where the address
                       lies in no state's block (countries.py)
``tar1090-db`` etc.    the aircraft database row (its ``source`` column: tar1090-db, opensky,
                       mictronics, records)
``icao_algorithm:X``   registration computed from the address by scheme X (registration.py)
``icao_doc8643``       description from the type designator table (types.py)
``callsign_designator`` operator from the callsign's ICAO designator (operators.py)
``annotation:FILE``    a local annotation file (overrides everything else)
=====================  =====================================================================

Military verdicts carry their rule (``db_flag``, ``icao_range``, ``callsign_prefix``,
``annotation`` or ``none``), see military.py.

Local annotations (:class:`Annotations`) are a user's own knowledge, in CSV or TOML, keyed by
ICAO address or by registration; their format is documented in docs/identification.md.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import ArrayLike, NDArray

from tailwatch.core.errors import ReferenceDataError
from tailwatch.reference.aircraft_db import NON_ICAO_FLAG, AircraftDB
from tailwatch.reference.countries import (
    country_of,
    country_of_registration,
    country_table,
)
from tailwatch.reference.military import (
    DB_FLAG_INTERESTING,
    DB_FLAG_LADD,
    DB_FLAG_PIA,
    MILITARY_RULES,
    military_verdicts,
)
from tailwatch.reference.operators import OperatorDirectory, designator_of_callsign
from tailwatch.reference.registration import registration_from_icao, scheme_of_icao
from tailwatch.reference.types import aircraft_types

__all__ = [
    "IDENTITY_COLUMNS",
    "Annotation",
    "Annotations",
    "Identity",
    "identify",
    "identify_many",
]

SOURCE_ALLOCATION = "icao_allocation"
SOURCE_DOC8643 = "icao_doc8643"
SOURCE_CALLSIGN = "callsign_designator"
SOURCE_REGISTRATION = "registration_prefix"

# --------------------------------------------------------------------------------------------
# Annotations
# --------------------------------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}
_TEXT_FIELDS = ("registration", "typecode", "description", "operator", "unit", "notes", "source")
_FLAG_FIELDS = ("military", "interesting", "pia", "ladd")


def _norm_reg(reg: str) -> str:
    return reg.strip().upper().replace("-", "").replace(" ", "")


def _parse_icao(text: str) -> int:
    t = text.strip().lower()
    flag = 0
    if t.startswith("~"):
        t, flag = t[1:], NON_ICAO_FLAG
    if t.startswith("0x"):
        t = t[2:]
    if not 1 <= len(t) <= 6:
        raise ValueError(f"not a 24-bit hex address: {text!r}")
    return int(t, 16) | flag


@dataclass(frozen=True, slots=True)
class Annotation:
    """One user annotation. ``None`` fields leave the database value alone."""

    icao24: int | None = None
    registration: str | None = None
    typecode: str | None = None
    description: str | None = None
    operator: str | None = None
    unit: str | None = None
    notes: str | None = None
    links: tuple[str, ...] = ()
    source: str | None = None  # free-text citation
    military: bool | None = None
    interesting: bool | None = None
    pia: bool | None = None
    ladd: bool | None = None
    origin: str = "annotation"  # file the annotation came from


def _flag(value: Any, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if not s:
        return None
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ReferenceDataError(f"{where}: not a boolean: {value!r}")


def _links(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(x for x in value.replace("|", " ").split() if x)
    if isinstance(value, (list, tuple)):
        return tuple(str(x).strip() for x in value if str(x).strip())
    return (str(value),)


def _annotation(row: Mapping[str, Any], origin: str, where: str) -> Annotation:
    def text(key: str) -> str | None:
        v = row.get(key)
        if v is None:
            return None
        s = str(v).strip()
        return s or None

    raw_icao = text("icao24")
    try:
        icao = _parse_icao(raw_icao) if raw_icao else None
    except ValueError as exc:
        raise ReferenceDataError(f"{where}: {exc}") from exc
    reg = text("registration")
    if icao is None and reg is None:
        raise ReferenceDataError(f"{where}: an annotation needs an icao24 or a registration")
    unknown = set(row) - {"icao24", "links", *_TEXT_FIELDS, *_FLAG_FIELDS}
    if unknown:
        raise ReferenceDataError(f"{where}: unknown fields {sorted(unknown)}")
    typecode = text("typecode")
    return Annotation(
        icao24=icao,
        registration=reg,
        typecode=typecode.upper() if typecode else None,
        description=text("description"),
        operator=text("operator"),
        unit=text("unit"),
        notes=text("notes"),
        links=_links(row.get("links")),
        source=text("source"),
        military=_flag(row.get("military"), where),
        interesting=_flag(row.get("interesting"), where),
        pia=_flag(row.get("pia"), where),
        ladd=_flag(row.get("ladd"), where),
        origin=origin,
    )


class Annotations:
    """Annotations keyed by ICAO address and by registration (an address match wins).

    An annotation with an ``icao24`` applies to that address (its ``registration``, if any,
    then overrides the database's); one with only a ``registration`` applies to whatever
    address carries that registration. A later annotation for the same key replaces an
    earlier one.
    """

    def __init__(self, annotations: Iterable[Annotation] = ()) -> None:
        self._by_icao: dict[int, Annotation] = {}
        self._by_reg: dict[str, Annotation] = {}
        for a in annotations:
            if a.icao24 is not None:
                self._by_icao[a.icao24] = a
            elif a.registration:
                self._by_reg[_norm_reg(a.registration)] = a

    @classmethod
    def load(cls, *paths: str | Path) -> Annotations:
        """Read annotation files (``.csv`` or ``.toml``); later files override earlier ones."""
        items: list[Annotation] = []
        for path in paths:
            items.extend(_read_annotation_file(Path(path)))
        return cls(items)

    def __len__(self) -> int:
        return len(self._by_icao) + len(self._by_reg)

    @property
    def icao_keys(self) -> NDArray[np.int64]:
        return np.array(sorted(self._by_icao), dtype=np.int64)

    @property
    def registration_keys(self) -> list[str]:
        return sorted(self._by_reg)

    def for_icao(self, icao24: int) -> Annotation | None:
        return self._by_icao.get(int(icao24))

    def for_registration(self, registration: str | None) -> Annotation | None:
        return self._by_reg.get(_norm_reg(registration)) if registration else None

    def find(self, icao24: int, registration: str | None = None) -> Annotation | None:
        a = self.for_icao(icao24)
        return a if a is not None else self.for_registration(registration)


def _read_annotation_file(path: Path) -> list[Annotation]:
    origin = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReferenceDataError(f"cannot read annotations {path}: {exc}") from exc
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ReferenceDataError(f"{path}: bad TOML: {exc}") from exc
        rows = doc.get("aircraft", [])
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ReferenceDataError(f"{path}: expected [[aircraft]] tables")
        return [_annotation(r, origin, f"{path} [[aircraft]] #{i + 1}") for i, r in enumerate(rows)]
    if suffix == ".csv":
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ReferenceDataError(f"{path}: not UTF-8: {exc}") from exc
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        reader = csv.DictReader(lines)
        out = []
        for i, row in enumerate(reader, start=2):
            clean = {k.strip().lower(): v for k, v in row.items() if k is not None}
            if None in row:
                raise ReferenceDataError(f"{path}: line {i}: more fields than the header")
            out.append(_annotation(clean, origin, f"{path}: row {i}"))
        return out
    raise ReferenceDataError(f"{path}: annotations must be .csv or .toml")


# --------------------------------------------------------------------------------------------
# Identity
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    """Everything tailwatch knows about one aircraft, with the source of each field."""

    icao24: str
    country: str | None = None
    country_iso2: str | None = None
    registration: str | None = None
    typecode: str | None = None
    description: str | None = None
    operator: str | None = None
    military: bool = False
    military_rule: str = "none"
    interesting: bool = False
    pia: bool = False
    ladd: bool = False
    wake_category: str | None = None
    unit: str | None = None
    notes: str | None = None
    links: tuple[str, ...] = ()
    citation: str | None = None
    sources: dict[str, str] = field(default_factory=dict, hash=False)


IDENTITY_COLUMNS: tuple[str, ...] = (
    "icao24",
    "country",
    "country_iso2",
    "country_source",
    "registration",
    "registration_source",
    "typecode",
    "typecode_source",
    "description",
    "description_source",
    "operator",
    "operator_source",
    "military",
    "military_rule",
    "interesting",
    "pia",
    "ladd",
    "flags_source",
    "wake_category",
    "unit",
    "notes",
    "links",
    "citation",
)


def _as_addresses(icao24: ArrayLike | Sequence[str]) -> NDArray[np.int64]:
    arr = np.asarray(icao24)
    if arr.dtype.kind in "US" or arr.dtype == object:
        vals = [_parse_icao(x.decode() if isinstance(x, bytes) else str(x)) for x in arr.ravel()]
        return np.array(vals, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"icao24 must be integers or hex strings, not {arr.dtype}")
    return arr.astype(np.int64).ravel()


def _str_col(values: Sequence[str | None]) -> pa.Array:
    return pa.array(values, type=pa.string())


def _label_col(mask: NDArray[np.bool_], label: str) -> pa.Array:
    """``label`` where mask, else null."""
    return pc.if_else(pa.array(mask), pa.scalar(label), pa.scalar(None, pa.string()))


def _map_strings(col: pa.Array, table: Mapping[str, str]) -> pa.Array:
    """Map each string through ``table`` (unknown / null → null), once per distinct value."""
    uniq = pc.unique(col.drop_null()) if col.null_count < len(col) else pa.array([], pa.string())
    keys = [k for k in uniq.to_pylist() if k in table]
    if not keys:
        return pa.nulls(len(col), pa.string())
    idx = pc.index_in(col, value_set=pa.array(keys, pa.string()))
    return pa.array([table[k] for k in keys], pa.string()).take(idx)


@lru_cache(maxsize=1)
def _state_iso2() -> dict[str, str]:
    t = country_table()
    out = {name: code for name, code in zip(t.names, t.iso2, strict=True) if code}
    out.update({name: code for _, name, code in t.territories if code})
    return out


@lru_cache(maxsize=1)
def _type_descriptions() -> dict[str, str]:
    return {k: v.description for k, v in aircraft_types().items()}


@lru_cache(maxsize=1)
def _type_wakes() -> dict[str, str]:
    return {k: v.wake_category for k, v in aircraft_types().items() if v.wake_category}


def _callsign_designators(callsign: ArrayLike, n: int) -> pa.Array:
    arr = np.asarray(callsign).ravel()
    if arr.shape[0] != n:
        raise ValueError(f"{arr.shape[0]} callsigns for {n} addresses")
    if arr.dtype.kind == "S":
        b = np.ascontiguousarray(arr.astype("S8")).view(np.uint8).reshape(-1, 8)
        b = np.where((b >= 0x61) & (b <= 0x7A), b - 0x20, b).astype(np.uint8)
        ok = (
            ((b[:, :3] >= 0x41) & (b[:, :3] <= 0x5A)).all(axis=1)
            & (b[:, 3] >= 0x30)
            & (b[:, 3] <= 0x39)
        )
        prefixes = np.ascontiguousarray(b[:, :3]).view("S3").ravel()
        codes = pa.array(prefixes.astype("U3"), pa.string())
        return pc.if_else(pa.array(ok), codes, pa.scalar(None, pa.string()))
    return _str_col([designator_of_callsign(c) if c is not None else None for c in arr.tolist()])


def identify_many(
    icao24: ArrayLike | Sequence[str],
    callsign: ArrayLike | None = None,
    db: AircraftDB | None = None,
    annotations: Annotations | None = None,
    operators: OperatorDirectory | None = None,
) -> pa.Table:
    """Identify an array of addresses: one row per address, columns :data:`IDENTITY_COLUMNS`.

    ``icao24`` holds integers (uint32 as decoded) or hex strings; ``callsign`` an array of the
    same length (S8 as decoded, or str; empty for none).
    """
    addr = _as_addresses(icao24)
    n = int(addr.shape[0])
    ctab = country_table()

    # Country: dictionary-decode the allocation index.
    cidx = country_of(np.where(addr & NON_ICAO_FLAG, -1, addr))
    cmask = cidx < 0
    cind = pa.array(np.where(cmask, 0, cidx).astype(np.int32), mask=cmask)
    country = pa.DictionaryArray.from_arrays(cind, pa.array(ctab.names, pa.string())).cast(
        pa.string()
    )
    iso2 = pa.DictionaryArray.from_arrays(cind, pa.array(ctab.iso2, pa.string())).cast(pa.string())

    # Database.
    if db is not None and len(db):
        rows = db.lookup(addr)
        found = rows.column("found").to_numpy()
        reg = rows.column("registration").combine_chunks()
        typecode = rows.column("typecode").combine_chunks()
        description = rows.column("description").combine_chunks()
        operator = rows.column("operator").combine_chunks()
        dbsrc = rows.column("source").combine_chunks()
        flags = rows.column("db_flags").to_numpy().astype(np.int64)
    else:
        found = np.zeros(n, dtype=np.bool_)
        reg = typecode = description = operator = dbsrc = pa.nulls(n, pa.string())
        flags = np.zeros(n, dtype=np.int64)
    reg_src = pc.if_else(reg.is_valid(), dbsrc, pa.scalar(None, pa.string()))
    type_src = pc.if_else(typecode.is_valid(), dbsrc, pa.scalar(None, pa.string()))
    desc_src = pc.if_else(description.is_valid(), dbsrc, pa.scalar(None, pa.string()))
    op_src = pc.if_else(operator.is_valid(), dbsrc, pa.scalar(None, pa.string()))
    flags_src = pc.if_else(pa.array(found), dbsrc, pa.scalar(None, pa.string()))

    # Registration computed from the address where the database has none.
    need = np.flatnonzero(~reg.is_valid().to_numpy(zero_copy_only=False))
    if need.size:
        algo: list[str | None] = [None] * n
        algo_src: list[str | None] = [None] * n
        for i in need.tolist():
            address = int(addr[i])
            if scheme_of_icao(address) is None:
                continue
            r = registration_from_icao(address)
            if r is not None:
                algo[i], algo_src[i] = r[0], f"icao_algorithm:{r[1]}"
        if any(x is not None for x in algo):
            reg = pc.coalesce(reg, _str_col(algo))
            reg_src = pc.coalesce(reg_src, _str_col(algo_src))

    # Operator from the callsign designator where the database has none.
    directory = operators if operators is not None else OperatorDirectory.builtin()
    if callsign is not None:
        desig = _callsign_designators(callsign, n)
        names = _map_strings(
            desig,
            {
                k: directory[k].name
                for k in set(pc.unique(desig.drop_null()).to_pylist())
                if k in directory
            },
        )
        op_src = pc.if_else(
            operator.is_valid(),
            op_src,
            pc.if_else(names.is_valid(), pa.scalar(SOURCE_CALLSIGN), pa.scalar(None, pa.string())),
        )
        operator = pc.coalesce(operator, names)

    # Military verdicts (annotations may override below).
    mil, rule = military_verdicts(addr, callsign, flags & 0xFF)
    interesting = (flags & DB_FLAG_INTERESTING) != 0
    pia = (flags & DB_FLAG_PIA) != 0
    ladd = (flags & DB_FLAG_LADD) != 0

    cols: dict[str, Any] = {
        "registration": reg,
        "registration_source": reg_src,
        "typecode": typecode,
        "typecode_source": type_src,
        "description": description,
        "description_source": desc_src,
        "operator": operator,
        "operator_source": op_src,
        "flags_source": flags_src,
        "unit": pa.nulls(n, pa.string()),
        "notes": pa.nulls(n, pa.string()),
        "citation": pa.nulls(n, pa.string()),
    }
    links: list[list[str] | None] | None = None
    annotation_rule = np.int8(MILITARY_RULES.index("annotation"))

    # Annotations override everything.
    if annotations is not None and len(annotations):
        hits: dict[int, Annotation] = {}
        keys = annotations.icao_keys
        if keys.size:
            for i in np.flatnonzero(np.isin(addr, keys)).tolist():
                a = annotations.for_icao(int(addr[i]))
                if a is not None:
                    hits[i] = a
        if annotations.registration_keys:
            norm = pc.replace_substring(
                pc.replace_substring(pc.utf8_upper(cols["registration"]), "-", ""), " ", ""
            )
            inreg = pc.fill_null(
                pc.is_in(norm, value_set=pa.array(annotations.registration_keys, pa.string())),
                False,
            )
            for i in np.flatnonzero(inreg.to_numpy(zero_copy_only=False)).tolist():
                if i not in hits:
                    a = annotations.for_registration(norm[i].as_py())
                    if a is not None:
                        hits[i] = a
        if hits:
            links = [None] * n
            for fname in ("registration", "typecode", "description", "operator", "unit", "notes"):
                # A registration-keyed annotation's registration is its key, not a new value.
                pos = [
                    i
                    for i, a in hits.items()
                    if getattr(a, fname) is not None
                    and (fname != "registration" or a.icao24 is not None)
                ]
                if not pos:
                    continue
                mask = np.zeros(n, dtype=np.bool_)
                mask[pos] = True
                vals = _str_col([getattr(hits[i], fname) for i in sorted(pos)])
                cols[fname] = pc.replace_with_mask(cols[fname], pa.array(mask), vals)
                src_name = f"{fname}_source"
                if src_name in cols:
                    srcs = _str_col([f"annotation:{hits[i].origin}" for i in sorted(pos)])
                    cols[src_name] = pc.replace_with_mask(cols[src_name], pa.array(mask), srcs)
            cit_pos = sorted(i for i, a in hits.items() if a.source is not None)
            if cit_pos:
                mask = np.zeros(n, dtype=np.bool_)
                mask[cit_pos] = True
                cols["citation"] = pc.replace_with_mask(
                    cols["citation"], pa.array(mask), _str_col([hits[i].source for i in cit_pos])
                )
            flagged: list[int] = []
            for i, a in hits.items():
                if a.links:
                    links[i] = list(a.links)
                if a.military is not None:
                    mil[i] = a.military
                    rule[i] = annotation_rule
                for name, arr in (("interesting", interesting), ("pia", pia), ("ladd", ladd)):
                    v = getattr(a, name)
                    if v is not None:
                        arr[i] = v
                        if not flagged or flagged[-1] != i:
                            flagged.append(i)
            if flagged:
                flagged.sort()
                mask = np.zeros(n, dtype=np.bool_)
                mask[flagged] = True
                cols["flags_source"] = pc.replace_with_mask(
                    cols["flags_source"],
                    pa.array(mask),
                    _str_col([f"annotation:{hits[i].origin}" for i in flagged]),
                )

    # Country from the registration's nationality mark where the address gave none (an
    # address outside the allocation table, or a state using more than its listed block).
    no_country = np.flatnonzero(
        ~country.is_valid().to_numpy(zero_copy_only=False)
        & cols["registration"].is_valid().to_numpy(zero_copy_only=False)
    )
    country_src = pc.if_else(
        country.is_valid(), pa.scalar(SOURCE_ALLOCATION), pa.scalar(None, pa.string())
    )
    if no_country.size:
        regs = cols["registration"].take(pa.array(no_country)).to_pylist()
        by_reg: list[str | None] = [None] * n
        for i, r in zip(no_country.tolist(), regs, strict=True):
            by_reg[i] = country_of_registration(r) if r else None
        if any(x is not None for x in by_reg):
            found_reg = _str_col(by_reg)
            country_src = pc.if_else(
                country.is_valid(),
                country_src,
                pc.if_else(
                    found_reg.is_valid(),
                    pa.scalar(SOURCE_REGISTRATION),
                    pa.scalar(None, pa.string()),
                ),
            )
            country = pc.coalesce(country, found_reg)
            iso_by_name = _state_iso2()
            iso2 = pc.coalesce(iso2, _map_strings(found_reg, iso_by_name))

    # Description from the type table where still missing.
    tcodes = cols["typecode"]
    type_desc = _map_strings(tcodes, _type_descriptions())
    wake = _map_strings(tcodes, _type_wakes())
    cols["description_source"] = pc.if_else(
        cols["description"].is_valid(),
        cols["description_source"],
        pc.if_else(type_desc.is_valid(), pa.scalar(SOURCE_DOC8643), pa.scalar(None, pa.string())),
    )
    cols["description"] = pc.coalesce(cols["description"], type_desc)

    return pa.table(
        {
            "icao24": pa.array(
                addr.astype(np.uint32) if n else np.zeros(0, np.uint32), pa.uint32()
            ),
            "country": country,
            "country_iso2": iso2,
            "country_source": country_src,
            "registration": cols["registration"],
            "registration_source": cols["registration_source"],
            "typecode": cols["typecode"],
            "typecode_source": cols["typecode_source"],
            "description": cols["description"],
            "description_source": cols["description_source"],
            "operator": cols["operator"],
            "operator_source": cols["operator_source"],
            "military": pa.array(mil, pa.bool_()),
            "military_rule": pa.DictionaryArray.from_arrays(
                pa.array(rule.astype(np.int32)), pa.array(MILITARY_RULES, pa.string())
            ).cast(pa.string()),
            "interesting": pa.array(interesting, pa.bool_()),
            "pia": pa.array(pia, pa.bool_()),
            "ladd": pa.array(ladd, pa.bool_()),
            "flags_source": cols["flags_source"],
            "wake_category": wake,
            "unit": cols["unit"],
            "notes": cols["notes"],
            "links": pa.array(links if links is not None else [None] * n, pa.list_(pa.string())),
            "citation": cols["citation"],
        }
    )


def identify(
    icao24: int | str,
    callsign: str | bytes | None = None,
    db: AircraftDB | None = None,
    annotations: Annotations | None = None,
    operators: OperatorDirectory | None = None,
) -> Identity:
    """Identify one aircraft (``icao24`` as an integer or a hex string such as '1551e0')."""
    addr = _parse_icao(icao24) if isinstance(icao24, str) else int(icao24)
    cs = None if callsign is None else np.array([callsign], dtype=object)
    row = identify_many(
        np.array([addr], dtype=np.int64), cs, db=db, annotations=annotations, operators=operators
    ).to_pylist()[0]
    sources: dict[str, str] = {}
    if row["country_source"] is not None:
        sources["country"] = row["country_source"]
    for f in ("registration", "typecode", "description", "operator"):
        if row[f"{f}_source"] is not None:
            sources[f] = row[f"{f}_source"]
    sources["military"] = row["military_rule"]
    if row["flags_source"] is not None:
        sources["flags"] = row["flags_source"]
    if row["wake_category"] is not None:
        sources["wake_category"] = SOURCE_DOC8643
    hexa = f"~{addr & 0xFFFFFF:06x}" if addr & NON_ICAO_FLAG else f"{addr:06x}"
    return Identity(
        icao24=hexa,
        country=row["country"],
        country_iso2=row["country_iso2"],
        registration=row["registration"],
        typecode=row["typecode"],
        description=row["description"],
        operator=row["operator"],
        military=bool(row["military"]),
        military_rule=row["military_rule"],
        interesting=bool(row["interesting"]),
        pia=bool(row["pia"]),
        ladd=bool(row["ladd"]),
        wake_category=row["wake_category"],
        unit=row["unit"],
        notes=row["notes"],
        links=tuple(row["links"] or ()),
        citation=row["citation"],
        sources=sources,
    )
