"""The alert engine's state between runs, as rows: what the engine exports
(:meth:`~tailwatch.alert.engine.AlertEngine.export_state`), the outbox stores
(:meth:`~tailwatch.alert.outbox.Outbox.save_state`) and a new engine takes back
(:meth:`~tailwatch.alert.engine.AlertEngine.restore_state`).

A row belongs to a rule by the rule's *state key*: a fingerprint of its id, stream,
condition and the geofences it names (the same notion that keeps a rule's state across
``set_rules``), so the state of a rule whose condition changed is never restored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["COOLDOWN_SLOT", "STATE_VERSION", "EngineState", "StateRow"]

STATE_VERSION = 1
"""The layout of the stored rows; a table written with another version is ignored."""

COOLDOWN_SLOT = -1
"""The slot of a cool-down row (k ≥ 0: the k-th ``enters``/``leaves`` condition of the rule)."""


class StateRow(NamedTuple):
    """One airframe's state in one rule."""

    rule_key: str  #: the rule's state key (a hex fingerprint)
    slot: int  #: COOLDOWN_SLOT, or the index of the enters/leaves condition
    icao24: int  #: the airframe's address
    value: float  #: cool-down: time of the last alert (UNIX s); geofence: 1 inside, 0 outside
    t_s: float  #: the event time the row describes (UNIX s)


@dataclass(frozen=True, slots=True)
class EngineState:
    """Rows and the newest event time the engine had seen (NaN: none)."""

    rows: tuple[StateRow, ...] = ()
    t_max_s: float = math.nan

    def __len__(self) -> int:
        return len(self.rows)
