"""The alert engine: rules evaluated over whole batches of events and positions.

``AlertEngine(rules).evaluate_events(events, identities)`` and ``.evaluate_positions(...)``
return the alerts that fire. Per rule, every condition is a numpy mask over the batch
(:mod:`tailwatch.alert.conditions`); the matching rows then go through the rule's cool-down,
per airframe, in time order (a small numba loop: the only sequential step), and each row
that survives becomes an :class:`~tailwatch.alert.model.Alert` with its evidence and a
stable id. The engine keeps between calls: the inside/outside state of ``enters``/``leaves``
geofences, the time of each rule's last alert per airframe, and the ids it already emitted
(a bounded memory; the outbox de-duplicates across restarts). The first two can be exported
as rows and restored in another engine (:meth:`AlertEngine.export_state`,
:meth:`AlertEngine.restore_state`, :mod:`tailwatch.alert.state`), so that cool-downs and
geofence states survive a restart.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

import numba as nb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tailwatch.alert.conditions import (
    IDENTITY_FIELDS,
    Batch,
    KeyedState,
    Leaf,
    Node,
    Transition,
    compile_condition,
    needs_identity,
)
from tailwatch.alert.model import Alert, alert_id
from tailwatch.alert.rules import Rule, RuleSet
from tailwatch.alert.state import COOLDOWN_SLOT, EngineState, StateRow
from tailwatch.core.schema import EVENT_FIELDS, POSITION_FIELDS, Field

__all__ = [
    "MEMBERSHIP_KEEP_S",
    "AlertEngine",
    "IdentityResolver",
    "IdentitySource",
    "identity_columns",
]

U32 = npt.NDArray[np.uint32]
IdentityResolver = Callable[[U32, "npt.NDArray[np.bytes_] | None"], Any]
"""``(addresses, callsigns or None) → identity table`` (like
:func:`tailwatch.reference.identity.identify_many`)."""
IdentitySource: TypeAlias = pa.Table | Mapping[str, Any] | None
"""Identity rows (columns of IDENTITY_COLUMNS, one row per address), or None to resolve."""

MEMBERSHIP_KEEP_S = 6 * 3600.0
"""A restored ``enters``/``leaves`` state older than this (before the newest event time of
the saved state) is dropped: after such a gap the last side of the fence is no evidence of
a crossing."""

_POS_BY_NAME = {f.name: f for f in POSITION_FIELDS}
_EV_BY_NAME = {f.name: f for f in EVENT_FIELDS}


@nb.njit(cache=True)
def _cooldown_kernel(
    starts: npt.NDArray[np.int64], t: npt.NDArray[np.float64],
    last: npt.NDArray[np.float64], cooldown_s: float,
) -> npt.NDArray[np.bool_]:  # fmt: skip
    """Rows sorted by (airframe, time), groups starting at ``starts``: a row fires when no
    alert of the rule fired for the airframe within ``cooldown_s`` of it; ``last`` (per
    group, NaN for none) is updated in place."""
    n = t.shape[0]
    fire = np.zeros(n, dtype=np.bool_)
    g_n = starts.shape[0]
    for g in range(g_n):
        end = starts[g + 1] if g + 1 < g_n else n
        lt = last[g]
        for i in range(starts[g], end):
            if np.isnan(lt) or abs(t[i] - lt) >= cooldown_s:
                fire[i] = True
                lt = t[i]
        last[g] = lt
    return fire


def _default_resolver(addresses: U32, callsigns: npt.NDArray[np.bytes_] | None) -> pa.Table:
    from tailwatch.reference.identity import identify_many

    return identify_many(addresses, callsigns)


def _addresses(col: Any) -> npt.NDArray[np.int64]:
    arr = np.asarray(col)
    if arr.dtype.kind in "US" or arr.dtype == object:
        vals = [
            int((x.decode() if isinstance(x, bytes) else str(x)).strip().lstrip("~"), 16)
            for x in arr.tolist()
        ]
        return np.array(vals, dtype=np.int64)
    return arr.astype(np.int64)


def identity_columns(source: pa.Table | Mapping[str, Any], airframes: U32) -> dict[str, Any]:
    """Identity fields aligned with ``airframes`` (sorted addresses); unknown ones are None
    (False for flags)."""
    if isinstance(source, pa.Table):
        cols: Mapping[str, Any] = {
            name: source.column(name).to_pylist() for name in source.column_names
        }
    else:
        cols = source
    if "icao24" not in cols:
        raise ValueError("identities need an icao24 column")
    keys = _addresses(cols["icao24"])
    order = np.argsort(keys, kind="stable")
    keys_s = keys[order]
    m = airframes.shape[0]
    if keys_s.size:
        pos = np.minimum(np.searchsorted(keys_s, airframes.astype(np.int64)), keys_s.size - 1)
        found = keys_s[pos] == airframes
        rows = np.where(found, order[pos], -1)
    else:
        rows = np.full(m, -1)
    out: dict[str, Any] = {}
    for name in IDENTITY_FIELDS:
        flag = name in ("military", "interesting")
        src = cols.get(name)
        arr = np.zeros(m, dtype=np.bool_) if flag else np.full(m, None, dtype=object)
        if src is not None:
            values = list(src) if not isinstance(src, np.ndarray) else src.tolist()
            for j, r in enumerate(rows.tolist()):  # once per airframe, not per row
                if r >= 0:
                    v = values[r]
                    arr[j] = bool(v) if flag else (v if v not in ("", None) else None)
        out[name] = arr
    return out


def _as_columns(data: Any) -> dict[str, np.ndarray]:
    if isinstance(data, pa.Table):
        out: dict[str, np.ndarray] = {}
        for name in data.column_names:
            col = data.column(name)
            if pa.types.is_timestamp(col.type):  # storage form: UTC timestamps → UNIX seconds
                us = col.cast(pa.timestamp("us", tz=col.type.tz)).cast(pa.int64())
                out[name] = us.to_numpy(zero_copy_only=False).astype(np.float64) / 1e6
            elif name == "icao24" and pa.types.is_string(col.type):  # public edge: hex
                out[name] = _addresses(col.to_pylist()).astype(np.uint32)
            else:
                out[name] = col.to_numpy(zero_copy_only=False)
        return out
    if hasattr(data, "columns") and isinstance(data.columns, Mapping):
        return dict(data.columns)
    if isinstance(data, Mapping):
        return {k: np.asarray(v) for k, v in data.items()}
    raise TypeError(f"cannot read columns from {type(data).__name__}")


def _clean(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return None if not math.isfinite(v) else round(v, 6)
    if isinstance(v, bytes):
        return v.decode("ascii", "replace").strip() or None
    return v


def _format(f: Field | None, v: Any) -> Any:
    v = _clean(v)
    if f is None or v is None:
        return v
    if f.kind == "icao":
        return f"{int(v):06x}"
    if f.kind == "squawk":
        return f"{int(v):04d}" if int(v) >= 0 else None
    if f.kind == "enum":
        return f.labels[int(v)] if 0 <= int(v) < len(f.labels) else None
    if f.kind == "int" and f.null is not None and v == f.null:
        return None
    if f.kind == "text" and f.name == "details" and isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def _state_key(rule: Rule, ruleset: RuleSet) -> str:
    """What an evaluation state depends on: the rule's id, stream and condition, and the
    geofences it names."""
    fences = {name: ruleset.geofences[name].model_dump(mode="json")
              for name in sorted(rule.match.geofence_refs()) if name in ruleset.geofences}
    return json.dumps([rule.id, rule.effective_stream,
                       rule.match.model_dump(mode="json", by_alias=True, exclude_none=True),
                       fences], sort_keys=True, default=str)  # fmt: skip


def _fingerprint(key: str) -> str:
    """A short stable digest of a state key (what persisted state rows are filed under)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass
class _Compiled:
    rule: Rule
    node: Node
    leaves: list[Leaf]
    transitions: list[Transition]
    needs_identity: bool
    last_alert: KeyedState
    key: str  #: fingerprint of the state key (see _state_key)


class AlertEngine:
    """Evaluates rules over batches of events and positions (see the module docstring).

    ``identify`` resolves identities when a call passes none (default:
    :func:`~tailwatch.reference.identity.identify_many` without an aircraft database; pass
    a closure that adds the database and annotations). ``remember_ids`` bounds the memory of
    emitted alert ids.
    """

    def __init__(
        self,
        rules: RuleSet | Sequence[Rule],
        *,
        identify: IdentityResolver | None = None,
        remember_ids: int = 100_000,
    ) -> None:
        ruleset = rules if isinstance(rules, RuleSet) else RuleSet(rules=list(rules))
        self._identify = identify or _default_resolver
        self._remember = remember_ids
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._t_max_s = math.nan  # the newest event time evaluated
        self.stats: Counter[str] = Counter()
        self._active: tuple[RuleSet, list[_Compiled]] = (ruleset, [])
        self._active = (ruleset, self.compile(ruleset))

    # ------------------------------------------------------------------ the ruleset

    @property
    def identify(self) -> IdentityResolver:
        """The resolver used when a call passes no identities."""
        return self._identify

    @property
    def ruleset(self) -> RuleSet:
        return self._active[0]

    @property
    def _compiled(self) -> list[_Compiled]:
        return self._active[1]

    def compile(self, ruleset: RuleSet) -> list[_Compiled]:
        """The enabled rules of ``ruleset``, compiled. A rule whose state key (id, stream,
        condition and the geofences it names) is unchanged from the current ruleset keeps
        its compiled condition and with it its state: the cool-down times and the
        enters/leaves geofence states. May raise ValueError; changes nothing."""
        _, old = self._active
        current = {c.key: c for c in old}
        out: list[_Compiled] = []
        for rule in ruleset.enabled_rules():
            key = _fingerprint(_state_key(rule, ruleset))
            same = current.get(key)
            if same is not None:
                out.append(replace(same, rule=rule))
                continue
            node = compile_condition(rule.match, ruleset)
            leaves = list(node.leaves())
            out.append(_Compiled(
                rule=rule,
                node=node,
                leaves=leaves,
                transitions=[x for x in leaves if isinstance(x, Transition)],
                needs_identity=needs_identity(node),
                last_alert=KeyedState(np.float64, np.nan),
                key=key,
            ))  # fmt: skip
        return out

    def set_rules(self, ruleset: RuleSet, compiled: list[_Compiled] | None = None) -> None:
        """Evaluate ``ruleset`` from the next batch on (``compiled``: what :meth:`compile`
        gave for it). One reference is swapped, so a batch being evaluated on another
        thread finishes with the old rules and the next one sees all the new ones; the
        state of unchanged rules carries over (see :meth:`compile`), and so does the
        memory of emitted alert ids."""
        self._active = (ruleset, compiled if compiled is not None else self.compile(ruleset))

    @property
    def rules(self) -> list[Rule]:
        return [c.rule for c in self._compiled]

    def rules_for(self, stream: str) -> list[Rule]:
        return [c.rule for c in self._compiled if c.rule.effective_stream == stream]

    # ------------------------------------------------------------------ public entry points

    def evaluate_events(self, events: Any, identities: IdentitySource = None) -> list[Alert]:
        """Alerts of the event rules over a batch of events (columns of EVENT_FIELDS; optional
        ``squawk``, ``altitude_ft``, ``callsign`` columns, else read from ``details``)."""
        return self._evaluate("events", _as_columns(events), identities)

    def evaluate_positions(
        self, positions: Any, identities: IdentitySource = None
    ) -> list[Alert]:
        """Alerts of the position rules over a batch of positions (a PositionBatch, or
        columns of POSITION_FIELDS). Batches of one airframe must come in time order."""
        return self._evaluate("positions", _as_columns(positions), identities)

    # ------------------------------------------------------------------ state across runs

    def export_state(self) -> EngineState:
        """The cool-downs and enters/leaves states of the current rules, as rows."""
        rows: list[StateRow] = []
        for c in self._compiled:
            keys, last = c.last_alert.to_lists()
            rows += [StateRow(c.key, COOLDOWN_SLOT, k, v, v)
                     for k, v in zip(keys, last, strict=True) if math.isfinite(v)]
            for slot, tr in enumerate(c.transitions):
                keys, inside = tr.state.to_lists()
                seen = tr.seen_t.get(tr.state.keys).tolist()
                rows += [StateRow(c.key, slot, k, float(v), t)
                         for k, v, t in zip(keys, inside, seen, strict=True)
                         if v >= 0 and math.isfinite(t)]  # fmt: skip
        return EngineState(tuple(rows), self._t_max_s)

    def state_of(self, alerts: Sequence[Alert]) -> EngineState:
        """The cool-down rows that ``alerts`` (just returned by this engine) set: what to
        store with them so that a restart keeps their cool-downs."""
        by_id = {c.rule.id: c for c in self._compiled}
        wanted: dict[tuple[str, int], _Compiled] = {}
        for a in alerts:
            c = by_id.get(a.rule_id)
            if c is not None:
                wanted[(c.key, int(a.icao24, 16))] = c
        rows = []
        for (key, icao), c in wanted.items():
            v = float(c.last_alert.get(np.array([icao], dtype=np.uint32))[0])
            if math.isfinite(v):
                rows.append(StateRow(key, COOLDOWN_SLOT, icao, v, v))
        return EngineState(tuple(rows), self._t_max_s)

    def restore_state(self, state: EngineState) -> Counter[str]:
        """Take back exported rows: those of rules whose state key is unchanged, except
        cool-downs that ran out and enters/leaves states older than MEMBERSHIP_KEEP_S, both
        before the newest event time of ``state``. Returns counts of ``restored``, ``stale``
        and ``unmatched`` (another rule, or a changed condition) rows."""
        counts: Counter[str] = Counter()
        t_ref = state.t_max_s
        if not math.isfinite(t_ref):
            t_ref = max((r.t_s for r in state.rows), default=math.nan)
        self._note_time(np.array([t_ref]))
        by_key: dict[str, list[StateRow]] = {}
        for r in state.rows:
            by_key.setdefault(r.rule_key, []).append(r)
        for c in self._compiled:
            counts += self._restore_rule(c, by_key.pop(c.key, []), t_ref)
        unmatched = sum(len(v) for v in by_key.values())
        if unmatched:
            counts["unmatched"] = unmatched
        self.stats.update({f"state_{k}": n for k, n in counts.items()})
        return counts

    def _restore_rule(self, c: _Compiled, rows: list[StateRow], t_ref: float) -> Counter[str]:
        counts: Counter[str] = Counter()
        cooldown_s = float(c.rule.cooldown_s)
        slots: dict[int, dict[int, StateRow]] = {}  # slot → airframe → row (the last wins)
        for r in rows:
            if r.slot == COOLDOWN_SLOT:
                fresh = r.value > t_ref - cooldown_s
            else:
                fresh = (r.t_s >= t_ref - MEMBERSHIP_KEEP_S and r.value in (0.0, 1.0)
                         and 0 <= r.slot < len(c.transitions))  # fmt: skip
            if fresh:
                slots.setdefault(r.slot, {})[r.icao24] = r
            counts["restored" if fresh else "stale"] += 1
        for slot, by_icao in slots.items():
            rs = list(by_icao.values())
            keys = np.array([r.icao24 for r in rs], dtype=np.uint32)
            if slot == COOLDOWN_SLOT:
                c.last_alert.set(keys, np.array([r.value for r in rs]))
            else:
                tr = c.transitions[slot]
                tr.state.set(keys, np.array([r.value for r in rs], dtype=np.int8))
                tr.seen_t.set(keys, np.array([r.t_s for r in rs]))
        return counts

    def _note_time(self, t: npt.NDArray[np.float64]) -> None:
        finite = t[np.isfinite(t)]
        if finite.size:
            top = float(finite.max())
            if not top <= self._t_max_s:  # also when _t_max_s is NaN
                self._t_max_s = top

    # ------------------------------------------------------------------ internals

    def _loader(
        self, identities: IdentitySource
    ) -> Callable[[U32, npt.NDArray[np.bytes_] | None], dict[str, np.ndarray]]:
        def load(airframes: U32, callsigns: npt.NDArray[np.bytes_] | None) -> dict[str, Any]:
            self.stats["identity_lookups"] += 1
            source = identities
            if source is None:
                source = self._identify(airframes, callsigns)
            return identity_columns(source, airframes)

        return load

    def _evaluate(
        self, stream: str, cols: dict[str, np.ndarray], identities: IdentitySource
    ) -> list[Alert]:
        for need in ("t", "icao24"):
            if need not in cols:
                raise ValueError(f"{stream} lack the column {need!r}")
        _, compiled = self._active  # one read: a concurrent set_rules never mixes rulesets
        rules = [c for c in compiled if c.rule.effective_stream == stream]
        if not rules or not np.asarray(cols["t"]).shape[0]:
            return []
        b = Batch(stream, cols, self._loader(identities))
        self.stats[f"{stream}_rows"] += b.n
        self._note_time(b.t)
        fired: list[tuple[int, _Compiled, npt.NDArray[np.intp]]] = []
        for k, c in enumerate(rules):
            m = c.node.eval(b) & np.isfinite(b.t)
            n_match = int(m.sum())
            if not n_match:
                continue
            self.stats[f"matched:{c.rule.id}"] += n_match
            rows = self._cooldown(c, b, m)
            self.stats[f"cooldown:{c.rule.id}"] += n_match - rows.size
            if rows.size:
                fired.append((k, c, rows))
        if not fired:
            return []
        # identities of the airframes that fired, resolved once for the batch
        who = np.unique(np.concatenate([b.inv[rows] for _, _, rows in fired]))
        ident = b.identity_of(who)
        alerts: list[tuple[float, int, Alert]] = []
        for k, c, rows in fired:
            pos = np.searchsorted(who, b.inv[rows])
            for r, j in zip(rows.tolist(), pos.tolist(), strict=True):
                a = self._alert(c, b, r, {name: v[j] for name, v in ident.items()})
                if a.id in self._seen:
                    self.stats["duplicates"] += 1
                    continue
                self._seen[a.id] = None
                if len(self._seen) > self._remember:
                    self._seen.popitem(last=False)
                alerts.append((a.t, k, a))
        alerts.sort(key=lambda x: (x[0], x[1]))
        return [a for _, _, a in alerts]

    def _cooldown(self, c: _Compiled, b: Batch, m: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
        order = b.order
        sel = order[m[order]]  # matching rows, by airframe then time
        grp = b.inv[sel]
        starts = np.flatnonzero(np.r_[True, grp[1:] != grp[:-1]]).astype(np.int64)
        keys = b.airframes[grp[starts]]
        last = c.last_alert.get(keys).astype(np.float64)
        fire = _cooldown_kernel(starts, b.t[sel], last, float(c.rule.cooldown_s))
        c.last_alert.set(keys, last)
        out: npt.NDArray[np.intp] = np.sort(sel[fire])
        return out

    def _alert(self, c: _Compiled, b: Batch, r: int, ident: dict[str, Any]) -> Alert:
        icao = int(b.icao[r])
        t = float(b.t[r])
        by_name = _EV_BY_NAME if b.kind == "events" else _POS_BY_NAME
        row = {name: _format(by_name.get(name), np.asarray(col)[r])
               for name, col in b.cols.items()}
        conditions = []
        for leaf in c.leaves:
            lm = b.leaf_masks.get(id(leaf))
            conditions.append({
                "key": leaf.key,
                "test": leaf.describe(),
                "value": _clean(leaf.value(b, r)),
                "ok": None if lm is None else bool(lm[r]),
            })  # fmt: skip
        aircraft = {k: _clean(v) for k, v in ident.items()}
        aircraft["icao24"] = f"{icao:06x}"
        evidence: dict[str, Any] = {
            "rule": {"id": c.rule.id, "name": c.rule.title, "stream": b.kind,
                     "cooldown_s": c.rule.cooldown_s},
            "row": row,
            "aircraft": aircraft,
            "conditions": conditions,
        }  # fmt: skip
        if b.kind == "events":
            what = str(row.get("type") or "event")
            key = f"{what}|{row.get('flight_id') or ''}|{row.get('airport') or ''}|{t:.3f}"
            kind = "event"
        else:
            what = "position"
            for tr in c.transitions:
                lm = b.leaf_masks.get(id(tr))
                if lm is not None and lm[r]:
                    what = tr.key
                    evidence["geofence"] = tr.shape.label
                    break
            key = f"{what}|{t:.3f}"
            kind = "position"
        return Alert(
            id=alert_id(c.rule.id, icao, kind, key),
            rule_id=c.rule.id,
            rule_name=c.rule.title,
            severity=c.rule.severity,
            kind="event" if kind == "event" else "position",
            what=what,
            t=t,
            icao24=f"{icao:06x}",
            evidence=evidence,
            tags=tuple(c.rule.tags),
        )
