"""Registrations that follow from the ICAO address by an algorithm, in both directions.

Some states hand out 24-bit addresses in registration order, so the registration can be
computed from the address (and back) without any database. Each scheme below states where it
comes from and how it was checked. "Checked" means: over every row of the crowd-sourced
tar1090-db aircraft file (619,472 rows, addresses as received from the aircraft, registrations
from national registers) whose address falls in the scheme's block, the fraction whose
registration equals the computed one. ``tests/unit/test_reference_registration.py`` repeats
that check whenever the file is present.

================  ===========================  ===============================================
scheme            block                        basis / agreement with tar1090-db
================  ===========================  ===============================================
``us``            0xA00001-0xADF7C7            FAA N-number allocation (public algorithm; the
                                               FAA registry lists both fields); > 99.9 %
``canada``        0xC00001-0xC0CDF8            C-Fxxx, C-Gxxx, C-Ixxx in order, 17,576 each;
                                               98-100 % per prefix
``switzerland``   0x4B0000-0x4B6BB6            HB-AAA…HB-ZZZ, then gliders HB-1…HB-9999;
                                               99.8 % / 99.1 %
``germany``       0x3CC000-0x3E5BEF            D-C, D-E, D-F, D-G, D-H, D-I + 3 letters,
                  0x3EE098-0x3F07A6            17,576 each; gliders D-0001…D-9999; ≥ 98.5 %
``finland``       0x460000-0x4644A7            OH-AAA…OH-ZZZ; 99.5 %
``japan``         0x840000-0x8781CF            JA + 4 characters; only the part whose second
                                               character is a digit (the rest is unverified); 99.4 %
``russia``        0x140000-0x15869F            RA-00000…RA-99999 (number = address - 0x140000);
                                               92 % as RA-, most others are the same number under
                                               the state prefix RF- (kept address, new prefix)
``cuba``          0x0B03E8-0x0B0FFF            CU-T1000…CU-T4095 (number = address - 0x0B0000);
                                               11 of 11 rows (few Cuban aircraft are listed)
================  ===========================  ===============================================

Letters are A-Z (26) in every scheme except the United States and Japan, which skip I and O.
``registration_from_icao`` returns the computed registration, or None outside every block.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "SCHEMES",
    "Scheme",
    "icao_from_n_number",
    "icao_from_registration",
    "n_number_from_icao",
    "registration_from_icao",
    "registrations_from_icao",
    "scheme_of_icao",
]

# --------------------------------------------------------------------------------------------
# United States: FAA N-numbers.
#
# An N-number is "N", a first digit 1-9, up to four more digits, and an optional suffix of one
# or two letters (A-Z without I and O), five characters at most after the N. Addresses follow
# the lexicographic order in which a shorter string precedes its extensions and letters
# precede digits: N1, N1A, N1AA, N1AB … N1ZZ, N10, N10A, … Counting the strings below each
# prefix gives the block sizes:
#   after 4 digits: itself + 24 one-letter suffixes + 10 fifth digits            =      35
#   after 3 digits: itself + 600 suffixes (24 x (1 + 24)) + 10 x 35               =     951
#   after 2 digits: 1 + 600 + 10 x 951                                          =  10,111
#   after 1 digit : 1 + 600 + 10 x 10,111                                       = 101,711
# N1 is 0xA00001, and 9 x 101,711 addresses end at 0xADF7C7.
# --------------------------------------------------------------------------------------------

US_FIRST = 0xA00001
US_LAST = 0xADF7C7
_L24 = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O
_L26 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"
_SUFFIXES = len(_L24) * (1 + len(_L24))  # 600 one- and two-letter suffixes
_US_SIZE = (101_711, 10_111, 951, 35, 1)  # strings below a prefix of 1 … 5 digits


def _us_suffix(offset: int) -> str:
    """0 → 'A', 1 → 'AA', 2 → 'AB', … 24 → 'AZ', 25 → 'B', … (offset < 600)."""
    first, rest = divmod(offset, 1 + len(_L24))
    return _L24[first] + ("" if rest == 0 else _L24[rest - 1])


def n_number_from_icao(addr: int) -> str | None:
    """FAA N-number of a US civil address: 0xA00001 → 'N1', 0xADF7C7 → 'N99999'."""
    if not US_FIRST <= addr <= US_LAST:
        return None
    off = addr - US_FIRST
    d, off = divmod(off, _US_SIZE[0])
    out = "N" + _DIGITS[d + 1]
    for level in (1, 2, 3):
        if off == 0:
            return out
        off -= 1
        if off < _SUFFIXES:
            return out + _us_suffix(off)
        off -= _SUFFIXES
        d, off = divmod(off, _US_SIZE[level])
        out += _DIGITS[d]
    # four digits so far: itself, one letter, or a fifth digit
    if off == 0:
        return out
    off -= 1
    if off < len(_L24):
        return out + _L24[off]
    return out + _DIGITS[off - len(_L24)]


_N_RE = re.compile(r"^N([1-9][0-9]{0,4})([A-HJ-NP-Z]{0,2})$")


def icao_from_n_number(registration: str) -> int | None:
    """Address of an FAA N-number ('N12345', case and a '-' after the N tolerated), else None."""
    reg = registration.strip().upper().replace("-", "")
    m = _N_RE.match(reg)
    if m is None:
        return None
    digits, letters = m.group(1), m.group(2)
    if len(digits) + len(letters) > 5 or (len(digits) == 4 and len(letters) > 1):
        return None
    if len(digits) == 5 and letters:
        return None
    addr = US_FIRST + (int(digits[0]) - 1) * _US_SIZE[0]
    for level, ch in enumerate(digits[1:], start=1):
        # skip the prefix itself and (below 4 digits) its letter suffixes
        addr += 1 + (_SUFFIXES if level < 4 else len(_L24)) + int(ch) * _US_SIZE[level]
    if letters:
        if len(digits) == 4:
            addr += 1 + _L24.index(letters[0])
        else:
            addr += 1 + _L24.index(letters[0]) * (1 + len(_L24))
            if len(letters) == 2:
                addr += 1 + _L24.index(letters[1])
    return addr


# --------------------------------------------------------------------------------------------
# Letter blocks: prefix + n letters in order, one address each.
# --------------------------------------------------------------------------------------------


def _letters(index: int, n: int, alphabet: str = _L26) -> str:
    out = []
    for _ in range(n):
        index, r = divmod(index, len(alphabet))
        out.append(alphabet[r])
    return "".join(reversed(out))


def _letters_index(text: str, alphabet: str = _L26) -> int | None:
    v = 0
    for ch in text:
        k = alphabet.find(ch)
        if k < 0:
            return None
        v = v * len(alphabet) + k
    return v


_BLOCK3 = 26**3  # 17,576


@dataclass(frozen=True, slots=True)
class _LetterBlock:
    base: int
    prefix: str  # e.g. "C-F", "HB-"


@dataclass(frozen=True, slots=True)
class _NumberBlock:
    base: int  # address of number 0
    prefix: str
    first: int
    last: int
    width: int  # zero-padding width (0: none)


_CANADA = tuple(_LetterBlock(0xC00001 + k * _BLOCK3, f"C-{c}") for k, c in enumerate("FGI"))
_SWISS_LETTERS = (_LetterBlock(0x4B0000, "HB-"),)
_SWISS_GLIDERS = _NumberBlock(0x4B0000 + _BLOCK3 - 1, "HB-", 1, 9999, 0)
_GERMANY = tuple(_LetterBlock(0x3CC000 + k * _BLOCK3, f"D-{c}") for k, c in enumerate("CEFGHI"))
_GERMAN_GLIDERS = _NumberBlock(0x3EE097, "D-", 1, 9999, 4)
_FINLAND = (_LetterBlock(0x460000, "OH-"),)
_RUSSIA = _NumberBlock(0x140000, "RA-", 0, 99_999, 5)
_CUBA = _NumberBlock(0x0B0000, "CU-T", 1000, 0xFFF, 4)  # ends with Cuba's block 0x0B0FFF


def _from_letter_blocks(addr: int, blocks: tuple[_LetterBlock, ...]) -> str | None:
    for b in blocks:
        if b.base <= addr < b.base + _BLOCK3:
            return b.prefix + _letters(addr - b.base, 3)
    return None


def _to_letter_blocks(reg: str, blocks: tuple[_LetterBlock, ...]) -> int | None:
    for b in blocks:
        if reg.startswith(b.prefix) and len(reg) == len(b.prefix) + 3:
            idx = _letters_index(reg[len(b.prefix) :])
            if idx is not None:
                return b.base + idx
    return None


def _from_numbers(addr: int, b: _NumberBlock) -> str | None:
    n = addr - b.base
    if b.first <= n <= b.last:
        return f"{b.prefix}{n:0{b.width}d}" if b.width else f"{b.prefix}{n}"
    return None


def _to_numbers(reg: str, b: _NumberBlock) -> int | None:
    if not reg.startswith(b.prefix):
        return None
    digits = reg[len(b.prefix) :]
    if not digits.isdigit() or not digits.isascii():
        return None
    if b.width and len(digits) != b.width:
        return None
    if not b.width and digits != str(int(digits)):
        return None  # 'HB-0123' is not a Swiss registration
    n = int(digits)
    return b.base + n if b.first <= n <= b.last else None


# --------------------------------------------------------------------------------------------
# Japan: JA + 4 characters. Digits precede letters (A-Z without I and O); the third character
# is a digit or a letter; after a digit the fourth is a digit or a letter (34), after a letter
# it is a letter (24). Below a digit in second place: 10 x 34 + 24 x 24 = 916 strings.
# Below the first digit: 10 x 916 (second digit) + 24 x 576 (second letter) = 22,984.
# Only registrations with a digit in second place are produced or accepted (verified part).
# --------------------------------------------------------------------------------------------

JA_BASE = 0x840000
_JA_SECOND = 10 * 34 + 24 * 24  # 916
_JA_FIRST = 10 * _JA_SECOND + 24 * 24 * 24  # 22,984
_ALNUM = _DIGITS + _L24


def _japan_from(addr: int) -> str | None:
    off = addr - JA_BASE
    if not 0 <= off < 10 * _JA_FIRST:
        return None
    c1, off = divmod(off, _JA_FIRST)
    if off >= 10 * _JA_SECOND:
        return None  # second character a letter: not verified
    c2, off = divmod(off, _JA_SECOND)
    if off < 340:
        c3, c4 = divmod(off, 34)
        tail = _DIGITS[c3] + _ALNUM[c4]
    else:
        c3, c4 = divmod(off - 340, 24)
        tail = _L24[c3] + _L24[c4]
    return f"JA{c1}{c2}{tail}"


def _japan_to(reg: str) -> int | None:
    if len(reg) != 6 or not reg.startswith("JA"):
        return None
    c1, c2, c3, c4 = reg[2], reg[3], reg[4], reg[5]
    if not (c1.isdigit() and c2.isdigit() and c1.isascii() and c2.isascii()):
        return None
    base = JA_BASE + int(c1) * _JA_FIRST + int(c2) * _JA_SECOND
    if c3 in _DIGITS:
        k4 = _ALNUM.find(c4)
        return base + int(c3) * 34 + k4 if k4 >= 0 else None
    k3, k4 = _L24.find(c3), _L24.find(c4)
    if k3 < 0 or k4 < 0:
        return None
    return base + 340 + k3 * 24 + k4


# --------------------------------------------------------------------------------------------
# The scheme table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scheme:
    """One algorithmic block: name, address ranges (inclusive) and both conversions."""

    name: str
    country: str
    ranges: tuple[tuple[int, int], ...]
    from_icao: Callable[[int], str | None]
    to_icao: Callable[[str], int | None]


def _letters_scheme(
    name: str, country: str, blocks: tuple[_LetterBlock, ...], numbers: _NumberBlock | None = None
) -> Scheme:
    ranges = [(b.base, b.base + _BLOCK3 - 1) for b in blocks]
    if numbers is not None:
        ranges.append((numbers.base + numbers.first, numbers.base + numbers.last))

    def from_icao(addr: int) -> str | None:
        r = _from_letter_blocks(addr, blocks)
        if r is None and numbers is not None:
            r = _from_numbers(addr, numbers)
        return r

    def to_icao(reg: str) -> int | None:
        a = _to_letter_blocks(reg, blocks)
        if a is None and numbers is not None:
            a = _to_numbers(reg, numbers)
        return a

    return Scheme(name, country, tuple(ranges), from_icao, to_icao)


SCHEMES: tuple[Scheme, ...] = (
    Scheme("us", "United States", ((US_FIRST, US_LAST),), n_number_from_icao, icao_from_n_number),
    _letters_scheme("canada", "Canada", _CANADA),
    _letters_scheme("switzerland", "Switzerland", _SWISS_LETTERS, _SWISS_GLIDERS),
    _letters_scheme("germany", "Germany", _GERMANY, _GERMAN_GLIDERS),
    _letters_scheme("finland", "Finland", _FINLAND),
    Scheme("japan", "Japan", ((JA_BASE, JA_BASE + 10 * _JA_FIRST - 1),), _japan_from, _japan_to),
    Scheme(
        "russia",
        "Russia",
        ((_RUSSIA.base, _RUSSIA.base + _RUSSIA.last),),
        lambda a: _from_numbers(a, _RUSSIA),
        lambda r: _to_numbers(r, _RUSSIA),
    ),
    Scheme(
        "cuba",
        "Cuba",
        ((_CUBA.base + _CUBA.first, _CUBA.base + _CUBA.last),),
        lambda a: _from_numbers(a, _CUBA),
        lambda r: _to_numbers(r, _CUBA),
    ),
)


def scheme_of_icao(addr: int) -> Scheme | None:
    """The scheme whose block holds the address (whether or not it yields a registration)."""
    for s in SCHEMES:
        for lo, hi in s.ranges:
            if lo <= addr <= hi:
                return s
    return None


def registration_from_icao(addr: int) -> tuple[str, str] | None:
    """(registration, scheme name) computed from the address, or None."""
    s = scheme_of_icao(addr)
    if s is None:
        return None
    reg = s.from_icao(addr)
    return (reg, s.name) if reg is not None else None


def registrations_from_icao(icao24: ArrayLike) -> list[str | None]:
    """:func:`registration_from_icao` over an array of addresses (one string per aircraft)."""
    out: list[str | None] = []
    for a in np.asarray(icao24).tolist():
        r = registration_from_icao(int(a))
        out.append(r[0] if r is not None else None)
    return out


def _normalise(registration: str) -> str:
    reg = registration.strip().upper()
    if reg.startswith("N"):
        return reg.replace("-", "")
    return reg


def icao_from_registration(registration: str) -> tuple[int, str] | None:
    """(address, scheme name) for a registration in an algorithmic block, or None."""
    reg = _normalise(registration)
    if not reg:
        return None
    for s in SCHEMES:
        a = s.to_icao(reg)
        if a is not None:
            return a, s.name
    return None
