"""Country of an aircraft from its ICAO 24-bit address (ICAO Annex 10 Vol III allocation).

ICAO allocates the 24-bit address space in blocks to states (Annex 10, Volume III, Part I,
Chapter 9, Appendix: "Allocation of aircraft addresses"). The table shipped here is
``data/icao_country_ranges_rs1090.csv`` (201 rows ``start_hex,end_hex,country,
registration_regex``), derived from ``data/rs1090_patterns.json``, both from the PyPI package
traffic 2.13 (MIT, see ``data/LICENSE.traffic.MIT.txt``). The JSON also gives each state's flag
emoji, from which the ISO 3166-1 alpha-2 code is read (a flag is two regional-indicator letters),
and registration-prefix categories ("State owned", "Police").

Some rows overlap: the "Unassigned (<region>)" blocks cover whole regional reserves inside which
states hold smaller blocks. An address belongs to the *smallest* block that holds it. At load
time the ranges are flattened into disjoint elementary segments, so a lookup is one
``np.searchsorted`` over the sorted segment starts.

``country_of`` returns an index into :func:`country_names` (``-1`` where no state holds the
address: outside every block, in an "Unassigned" block, or in an ICAO-reserved block);
``allocation_of`` returns the index of the block's label whatever its kind.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tailwatch.core.errors import ReferenceDataError

__all__ = [
    "CountryTable",
    "allocation_label",
    "allocation_of",
    "countries_of_registrations",
    "country_iso2",
    "country_name",
    "country_names",
    "country_of",
    "country_of_registration",
    "country_table",
    "registration_category",
]

RANGES_FILE = "icao_country_ranges_rs1090.csv"
PATTERNS_FILE = "rs1090_patterns.json"
ADDRESS_SPACE = 1 << 24

_REGIONAL_INDICATOR_A = 0x1F1E6


def _iso2_from_flag(flag: str | None) -> str | None:
    """'🇷🇺' → 'RU'; None for anything that is not two regional-indicator symbols."""
    if not flag or len(flag) != 2:
        return None
    letters = []
    for ch in flag:
        k = ord(ch) - _REGIONAL_INDICATOR_A
        if not 0 <= k < 26:
            return None
        letters.append(chr(ord("A") + k))
    return "".join(letters)


def _kind_of(label: str) -> str:
    if label.startswith("Unassigned"):
        return "unassigned"
    if label.startswith("ICAO"):
        return "icao"
    return "state"


@dataclass(frozen=True, slots=True)
class CountryTable:
    """The allocation table, flattened for vectorised lookup.

    ``names[i]`` is a block label ("Russia", "Unassigned (AFI region)", "ICAO (special use)"),
    ``iso2[i]`` its ISO 3166-1 alpha-2 code (None where the label is not a state),
    ``is_state[i]`` whether it is a state, ``reg_patterns[i]`` the registration-prefix regexes
    of that state. ``seg_starts``/``seg_label`` are the elementary segments: addresses in
    ``[seg_starts[k], seg_starts[k+1])`` belong to label ``seg_label[k]`` (``-1``: none).
    """

    names: tuple[str, ...]
    iso2: tuple[str | None, ...]
    is_state: NDArray[np.bool_]
    reg_patterns: tuple[tuple[str, ...], ...]
    categories: tuple[tuple[tuple[str, str], ...], ...]
    territories: tuple[tuple[str, str, str | None], ...]
    seg_starts: NDArray[np.uint32]
    seg_label: NDArray[np.int16]
    seg_state: NDArray[np.int16]


def _read_package_text(name: str) -> str:
    try:
        return resources.files("tailwatch.reference").joinpath("data", name).read_text("utf-8")
    except OSError as exc:  # pragma: no cover - broken installation
        raise ReferenceDataError(f"package data file {name} is missing: {exc}") from exc


def _build(ranges_csv: str, patterns_json: str) -> CountryTable:
    rows = list(csv.DictReader(ranges_csv.splitlines()))
    if not rows:
        raise ReferenceDataError(f"{RANGES_FILE} is empty")
    try:
        registers = json.loads(patterns_json)["registers"]
    except (ValueError, KeyError) as exc:
        raise ReferenceDataError(f"{PATTERNS_FILE} is malformed: {exc}") from exc

    # Flags and categories keyed by (start, end, country); the CSV is derived from this JSON.
    extra: dict[tuple[int, int, str], dict[str, object]] = {}
    for reg in registers:
        if "start" in reg and "end" in reg:
            extra[(int(reg["start"], 16), int(reg["end"], 16), reg["country"])] = reg

    names: list[str] = []
    index: dict[str, int] = {}
    patterns: list[list[str]] = []
    cats: list[list[tuple[str, str]]] = []
    territories: list[tuple[str, str, str | None]] = []
    blocks: list[tuple[int, int, int]] = []  # (start, end inclusive, label index)
    for row in rows:
        try:
            start, end = int(row["start_hex"], 16), int(row["end_hex"], 16)
            label = row["country"].strip()
        except (KeyError, ValueError, AttributeError) as exc:
            raise ReferenceDataError(f"{RANGES_FILE}: bad row {row}: {exc}") from exc
        if not 0 <= start <= end < ADDRESS_SPACE or not label:
            raise ReferenceDataError(f"{RANGES_FILE}: bad range {row}")
        if label not in index:
            index[label] = len(names)
            names.append(label)
            patterns.append([])
            cats.append([])
        li = index[label]
        pat = (row.get("registration_regex") or "").strip()
        if pat and pat not in patterns[li]:
            patterns[li].append(pat)
        ex = extra.get((start, end, label), {})
        for c in ex.get("categories", []) or []:  # type: ignore[attr-defined]
            if not isinstance(c, dict) or "pattern" not in c:
                continue
            if "category" in c:
                cats[li].append((str(c["pattern"]), str(c["category"])))
            elif "country" in c:  # a territory using the state's block (VP-B Bermuda, UK)
                territories.append(
                    (str(c["pattern"]), str(c["country"]), _iso2_from_flag(c.get("flag")))
                )
        blocks.append((start, end, li))

    iso2: list[str | None] = [None] * len(names)
    for (start, end, label), ex in extra.items():
        li_opt = index.get(label)
        if li_opt is not None and _kind_of(label) == "state":
            code = _iso2_from_flag(ex.get("flag"))  # type: ignore[arg-type]
            if code is not None and any(b[0] == start and b[1] == end for b in blocks):
                iso2[li_opt] = code
    is_state = np.array([_kind_of(n) == "state" for n in names], dtype=np.bool_)

    # Flatten to elementary segments; each takes the smallest covering block, ties going to a
    # state over a non-state label (0x899000: "Taiwan" and "ICAO (special use)").
    bounds = sorted({0, ADDRESS_SPACE} | {b[0] for b in blocks} | {b[1] + 1 for b in blocks})
    seg_starts = np.array(bounds[:-1], dtype=np.uint32)
    seg_label = np.full(len(seg_starts), -1, dtype=np.int16)
    for k, lo in enumerate(bounds[:-1]):
        best: tuple[int, int, int] | None = None
        for start, end, li in blocks:
            if start <= lo <= end:
                key = (end - start, 0 if is_state[li] else 1, li)
                if best is None or key < best:
                    best = key
        if best is not None:
            seg_label[k] = best[2]
    seg_state = np.where(seg_label >= 0, seg_label, -1).astype(np.int16)
    seg_state[(seg_label >= 0) & ~is_state[np.maximum(seg_label, 0)]] = -1
    return CountryTable(
        names=tuple(names),
        iso2=tuple(iso2),
        is_state=is_state,
        reg_patterns=tuple(tuple(p) for p in patterns),
        categories=tuple(tuple(c) for c in cats),
        territories=tuple(territories),
        seg_starts=seg_starts,
        seg_label=seg_label,
        seg_state=seg_state,
    )


@lru_cache(maxsize=1)
def country_table() -> CountryTable:
    """The shipped allocation table (loaded once)."""
    return _build(_read_package_text(RANGES_FILE), _read_package_text(PATTERNS_FILE))


def country_names() -> tuple[str, ...]:
    """Labels indexed by :func:`country_of` / :func:`allocation_of`."""
    return country_table().names


def _segments(icao24: ArrayLike) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    addr = np.asarray(icao24)
    if addr.dtype.kind not in "iu":
        raise TypeError(f"icao24 must be an integer array, not {addr.dtype}")
    addr64 = addr.astype(np.int64, copy=False)
    valid = (addr64 >= 0) & (addr64 < ADDRESS_SPACE)
    seg = np.searchsorted(country_table().seg_starts, np.where(valid, addr64, 0), side="right")
    return seg - 1, valid


def country_of(icao24: ArrayLike) -> NDArray[np.int16]:
    """Index into :func:`country_names` of the state each address is allocated to, -1 if none."""
    seg, valid = _segments(icao24)
    return np.where(valid, country_table().seg_state[seg], -1).astype(np.int16)


def allocation_of(icao24: ArrayLike) -> NDArray[np.int16]:
    """Like :func:`country_of`, but also returns "Unassigned (...)" and "ICAO (...)" blocks."""
    seg, valid = _segments(icao24)
    return np.where(valid, country_table().seg_label[seg], -1).astype(np.int16)


def _one(fn_result: NDArray[np.int16]) -> int:
    return int(fn_result[0])


def country_name(icao24: int) -> str | None:
    """'Russia' for 0x1551E0; None where no state holds the address."""
    i = _one(country_of(np.array([icao24], dtype=np.int64)))
    return country_table().names[i] if i >= 0 else None


def country_iso2(icao24: int) -> str | None:
    """ISO 3166-1 alpha-2 code of the state holding the address ('RU' for 0x1551E0)."""
    i = _one(country_of(np.array([icao24], dtype=np.int64)))
    return country_table().iso2[i] if i >= 0 else None


def allocation_label(icao24: int) -> str | None:
    """Label of the smallest block holding the address, states and reserved blocks alike."""
    i = _one(allocation_of(np.array([icao24], dtype=np.int64)))
    return country_table().names[i] if i >= 0 else None


def _specificity(pattern: str) -> int:
    """Length of the shortest text a prefix pattern matches (``^VP-B`` → 4, ``^R(A|F)-`` → 3)."""
    body = pattern.lstrip("^")
    body = re.sub(r"\((?:[^()]*)\)|\[[^]]*\]|\\.|\.", "X", body)  # groups, classes, escapes
    body = re.sub(r"X\{(\d+)(?:,\d*)?\}", lambda m: "X" * int(m.group(1)), body)
    body = re.sub(r".[*?]", "", body)
    return len(re.sub(r"[+$]", "", body))


@lru_cache(maxsize=1)
def _registration_regexes() -> tuple[tuple[re.Pattern[str], str, int], ...]:
    """(compiled prefix regex, state or territory name, specificity), most specific first."""
    t = country_table()
    out: list[tuple[re.Pattern[str], str, int]] = []
    for li, pats in enumerate(t.reg_patterns):
        if t.is_state[li]:
            out.extend((re.compile(p), t.names[li], _specificity(p)) for p in pats)
    # A territory's own mark (VP-B Bermuda) beats its state's (V…), at equal length too.
    out.extend((re.compile(p), name, _specificity(p) + 1) for p, name, _ in t.territories)
    out.sort(key=lambda x: -x[2])
    return tuple(out)


def _norm_reg(reg: str) -> str:
    return reg.strip().upper()


def country_of_registration(registration: str) -> str | None:
    """State (or territory) whose nationality mark prefixes a registration.

    'RA-86496' → 'Russia', 'VP-BAA' → 'Bermuda'. The most specific matching prefix wins.
    """
    reg = _norm_reg(registration)
    if not reg:
        return None
    for rx, name, _ in _registration_regexes():
        if rx.search(reg):
            return name
    return None


def countries_of_registrations(registrations: list[str | None]) -> list[str | None]:
    """:func:`country_of_registration` over a list (None stays None)."""
    return [country_of_registration(r) if r else None for r in registrations]


def registration_category(registration: str) -> str | None:
    """Category of a registration within its state, where documented ('F-ZBAB' → 'State owned').

    Categories come from the patterns file ("State owned", "Police", "Airbus", ...).
    """
    reg = _norm_reg(registration)
    country = country_of_registration(reg)
    t = country_table()
    if country is None or country not in t.names:
        return None
    for pat, cat in t.categories[t.names.index(country)]:
        if re.search(pat, reg):
            return cat
    return None
