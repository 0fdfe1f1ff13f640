"""Pass 2 of the compiled detector: the air/ground hysteresis of every aircraft of a batch.

The rows of each aircraft whose state is not settled yet (a short run at the end, leading
short runs before the first real one) are carried to the next batch; the decision itself is
:func:`tailwatch.detect.kinematics.decide_states`, called per aircraft inside one numba loop
over the batch. As in the reference detector, an aircraft's rows are decided with ``final``
(nothing will follow them soon) once it has been silent for ``coverage_gap_s`` of data time
(the latest position time of any aircraft), and at :meth:`DecidePass.flush`.

:class:`StatePasses` runs pass 1 (:class:`~.derive.DerivePass`) and pass 2 together and
forgets an aircraft silent for ``evict_after_s`` (as the reference does: it starts afresh).
"""

# numba kernels compute on np.int64 scalars; mypy sees np.int64 where int is annotated:
# mypy: disable-error-code="arg-type,assignment,return-value,no-any-return"

from __future__ import annotations

import math
from typing import Any

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.detect import kinematics as km
from tailwatch.detect.columns import Columns, take
from tailwatch.detect.compiled.derive import DerivePass
from tailwatch.detect.compiled.slots import grow
from tailwatch.detect.params import DetectParams

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]


@nb.njit(cache=True)
def _decide(
    slot: I64, t: F64, eff: I8, starts: I64, stops: I64, final: npt.NDArray[np.bool_],
    prev_state: I8, gap_s: float, min_n: int, min_s: float, long_s: float, out: I8,
) -> None:
    for g in range(starts.shape[0]):
        a = starts[g]
        z = stops[g]
        s = slot[a]
        states, nd = km.decide_states(t[a:z], eff[a:z], np.int64(prev_state[s]), final[g],
                                      gap_s, min_n, min_s, long_s)
        for i in range(nd):
            out[a + i] = states[i]
        if nd > 0:
            prev_state[s] = states[nd - 1]


class DecidePass:
    """Hysteresis over batches (module docstring). :meth:`update` takes pass 1's rows (sorted
    by (icao24, t)) and returns the rows decided by it (any earlier rows carried over
    included), sorted by (icao24, t), with a ``state`` column (0 air, 1 ground)."""

    def __init__(self, params: DetectParams | None = None) -> None:
        self.p = params or DetectParams()
        self._prev = np.zeros(0, np.int8)
        self._carry: Columns = {}

    def reset(self, slots: npt.NDArray[np.int64]) -> None:
        """Forget these aircraft (evicted)."""
        self._prev[slots] = -1
        if self._carry and self._carry["t"].shape[0]:
            self._carry = take(self._carry, ~np.isin(self._carry["slot"], slots))

    def update(self, rows: Columns, now: float, *, final_all: bool = False,
               final_silent: bool = True) -> Columns:
        p = self.p
        if self._carry and self._carry["t"].shape[0]:
            if rows and rows["t"].shape[0]:
                keys = [k for k in rows if k in self._carry]
                rows = {k: np.concatenate((self._carry[k], rows[k])) for k in keys}
                # both sorted by (icao24, t), an aircraft's carried rows older than its new
                # ones: a stable sort by address gives (icao24, t)
                rows = take(rows, np.argsort(rows["icao24"], kind="stable"))
            else:
                rows = self._carry
        n = int(rows["t"].shape[0]) if rows else 0
        if n == 0:
            self._carry = rows
            return rows
        slot = rows["slot"].astype(np.int64)
        self._prev = grow(self._prev, int(slot.max()) + 1, -1)
        starts = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]]).astype(np.int64)
        stops = np.r_[starts[1:], n].astype(np.int64)
        last_t = rows["t"][stops - 1]
        final = np.full(starts.shape[0], final_all)
        if final_silent:
            final |= now - last_t > p.coverage_gap_s
        out = np.full(n, -1, np.int8)
        _decide(slot, rows["t"], rows["_eff"], starts, stops, final, self._prev,
                p.coverage_gap_s, p.min_run_n, p.min_run_s, p.long_run_s, out)
        done = out >= 0
        if done.all():
            self._carry = {k: v[:0] for k, v in rows.items()}
            decided = dict(rows)
        else:
            self._carry = take(rows, ~done)
            decided = take(rows, done)
        decided["state"] = out[done]
        return decided


class StatePasses:
    """Passes 1 and 2 together, as the reference detector runs them with
    ``process_every_s = 0`` (every aircraft's positions processed at each call): decided rows
    with every derived column and ``state``. ``hygiene``: :class:`~.derive.DerivePass`'s
    switches."""

    def __init__(self, params: DetectParams | None = None, *, auto_evict: bool = True,
                 **hygiene: bool) -> None:
        self.p = params or DetectParams()
        self.auto_evict = auto_evict  # else the owner calls evict() when it is ready
        self.derive = DerivePass(self.p, **hygiene)
        self.decide = DecidePass(self.p)
        self.now = -math.inf
        self._seen_t = np.zeros(0)  # last accepted time per slot
        self.evicted = np.zeros(0, np.int64)  # slots forgotten at the end of the last call

    def update(self, positions: Any, *, final_silent: bool = True) -> Columns:
        """Decided rows of ``positions`` (and of rows carried from earlier calls);
        ``final_silent=False`` leaves the rows of silent aircraft to :meth:`decide_silent`."""
        rows = self.derive.update(positions)
        t = np.asarray(self.derive.last_input_t)
        if t.size:
            self.now = max(self.now, float(t.max()))
        self._seen_t = grow(self._seen_t, self.derive.slots.n, -math.inf)
        if rows["t"].shape[0]:
            np.maximum.at(self._seen_t, rows["slot"], rows["t"])
        # aircraft silent for coverage_gap_s are decided with final in the same call (the
        # reference's time-outs; deciding in two steps gives the same states)
        out = self.decide.update(rows, self.now, final_silent=final_silent)
        if self.auto_evict:
            self.evict()
        return out

    def evict(self) -> npt.NDArray[np.int64]:
        """Forget the aircraft whose last position is ``evict_after_s`` old (never one
        without a position); returns their slots (also in :attr:`evicted`)."""
        seen = self._seen_t[: self.derive.slots.n]
        gone = np.flatnonzero(np.isfinite(seen) & (self.now - seen > self.p.evict_after_s))
        self.evicted = gone
        if gone.size:
            self.derive.reset(gone)
            self.decide.reset(gone)
            self._seen_t[gone] = -math.inf
        return gone

    def decide_silent(self) -> Columns:
        """The carried rows of the aircraft silent for ``coverage_gap_s``, decided with
        ``final`` (the reference's time-outs)."""
        return self.decide.update({}, self.now)

    def flush(self) -> Columns:
        return self.decide.update({}, self.now, final_all=True)

