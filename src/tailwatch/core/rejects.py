"""Named reject counters.

Every stage that drops input counts it under a reason, so that
``frames in = frames accepted + sum(rejects)`` always holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping


class Rejects(Counter[str]):
    """A counter of dropped rows by reason (``bad_length``, ``bad_crc``, ...)."""

    def total_rejected(self) -> int:
        return int(sum(self.values()))

    def merge(self, other: Mapping[str, int]) -> Rejects:
        for k, v in other.items():
            if v:
                self[k] += int(v)
        return self

    @classmethod
    def of(cls, items: Iterable[tuple[str, int]]) -> Rejects:
        r = cls()
        for k, v in items:
            if v:
                r[k] += int(v)
        return r
