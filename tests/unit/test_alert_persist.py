"""The alert engine's state across restarts (alert/state.py, engine export/restore, the
outbox's engine_state table, LiveSession): a real session on a rules file and an outbox
file, closed and opened again on the same files."""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from _alert_helpers import IL62, PARIS, RA_CIVIL, T0, events, track

from tailwatch.alert.engine import MEMBERSHIP_KEEP_S, AlertEngine
from tailwatch.alert.outbox import Outbox
from tailwatch.alert.rules import rules_from_data
from tailwatch.alert.state import COOLDOWN_SLOT
from tailwatch.config import Settings
from tailwatch.core.errors import StoreError
from tailwatch.live import LiveSession
from tailwatch.reference.geo import destination_deg

COOLDOWN_S = 1800.0
RULES = """
[sinks.journal]
type = "log"

[[rules]]
id = "watch-landing"
name = "Watched airframe landed at Caracas"
cooldown = "30m"
[rules.match]
event = "landing"
icao24 = ["1551e0", "155001"]
airport = "SVMI"
"""


def _landing(t: float, icao: int = IL62) -> dict[str, np.ndarray]:
    return events([(t, icao, "landing", "SVMI", {})])


@contextmanager
def _session(tmp_path: Path, rules: str = RULES, data: str = "data") -> Iterator[LiveSession]:
    path = tmp_path / "rules.toml"
    path.write_text(rules)
    s = LiveSession(Settings(data_dir=tmp_path / data), None, detect=False, rules=path)
    try:
        yield s
    finally:
        s.close()


def _fired(s: LiveSession, t: float, icao: int = IL62) -> list[str]:
    before = len(s.alerts)
    s.on_events(_landing(t, icao))
    return [a.icao24 for a in s.alerts[before:]]


def _stored(tmp_path: Path) -> list[tuple[int, int, float]]:
    with sqlite3.connect(tmp_path / "data" / "alerts.sqlite") as db:
        rows = db.execute("SELECT slot, icao24, value FROM engine_state ORDER BY icao24")
        return [(int(a), int(b), float(c)) for a, b, c in rows.fetchall()]


# --------------------------------------------------------------------------- cool-downs


def test_a_cooldown_survives_a_restart(tmp_path: Path) -> None:
    with _session(tmp_path) as s:
        assert _fired(s, T0) == ["1551e0"]
        assert _fired(s, T0 + 60.0) == []  # in memory, as before
    assert _stored(tmp_path) == [(COOLDOWN_SLOT, IL62, T0)]
    with _session(tmp_path) as s:
        assert _fired(s, T0 + 120.0) == []  # within the cool-down: restored
        assert s.engine is not None and s.engine.stats["cooldown:watch-landing"] == 1
        assert _fired(s, T0 + COOLDOWN_S + 1.0) == ["1551e0"]  # after it, by event time
    # the same event in a fresh data directory does fire: the state above made the difference
    with _session(tmp_path, data="other") as s:
        assert _fired(s, T0 + 120.0) == ["1551e0"]


def test_cooldowns_are_stored_with_the_alerts_without_a_clean_close(tmp_path: Path) -> None:
    with _session(tmp_path) as first:
        assert _fired(first, T0) == ["1551e0"]
        # a crash now: no close, the second run reads what the alert's transaction wrote
        assert _stored(tmp_path) == [(COOLDOWN_SLOT, IL62, T0)]
        with _session(tmp_path) as second:
            assert _fired(second, T0 + 120.0) == []


def test_a_changed_condition_starts_afresh_an_unchanged_one_keeps_its_state(
    tmp_path: Path,
) -> None:
    with _session(tmp_path) as s:
        assert _fired(s, T0) == ["1551e0"]
    # renamed, other severity and cool-down: the same condition keeps its cool-down
    renamed = RULES.replace('name = "Watched', 'severity = "critical"\nname = "Seen').replace(
        'cooldown = "30m"', 'cooldown = "20m"')
    with _session(tmp_path, renamed) as s:
        assert _fired(s, T0 + 120.0) == []
    changed = RULES.replace('airport = "SVMI"', 'airport = ["SVMI", "MUHA"]')
    with _session(tmp_path, changed) as s:
        assert _fired(s, T0 + 120.0) == ["1551e0"]


def test_cooldowns_that_ran_out_are_dropped_at_start(tmp_path: Path) -> None:
    with _session(tmp_path) as s:
        assert _fired(s, T0) == ["1551e0"]
        assert _fired(s, T0 + 3600.0, RA_CIVIL) == ["155001"]
    assert [r[1] for r in _stored(tmp_path)] == [RA_CIVIL, IL62]
    with _session(tmp_path) as s:
        assert s.engine is not None
        assert s.engine.stats["state_restored"] == 1 and s.engine.stats["state_stale"] == 1
        # the Il-62's cool-down ran out 30 min after T0, before the newest event (T0 + 1 h)
        assert _stored(tmp_path) == [(COOLDOWN_SLOT, RA_CIVIL, T0 + 3600.0)]
        assert _fired(s, T0 + 3700.0, RA_CIVIL) == []
        assert _fired(s, T0 + 3700.0) == ["1551e0"]


# --------------------------------------------------------------------------- geofences


def test_geofence_states_survive_through_the_outbox(tmp_path: Path) -> None:
    rs = rules_from_data({
        "geofences": {"home": {"lat": PARIS[0], "lon": PARIS[1], "radius_nm": 30}},
        "rules": [{"id": "out", "stream": "positions", "match": {"leaves": "home"}},
                  {"id": "any-landing", "match": {"event": "landing"}}],
    })  # fmt: skip
    inside = track(IL62, T0, 5, 60.0, PARIS, 90.0, 100.0)  # ends ~8 NM east of Paris
    lat, lon = destination_deg(*PARIS, 90.0, 50 * 1852.0)
    east = (float(lat), float(lon))

    def fresh() -> AlertEngine:
        return AlertEngine(rs, identify=lambda a, c: {"icao24": a})

    def saved_and_restored(engine: AlertEngine, name: str) -> tuple[AlertEngine, Counter[str]]:
        with Outbox(tmp_path / name) as ob:
            ob.save_state(engine.export_state())
        with Outbox(tmp_path / name) as ob:
            out = fresh()
            return out, out.restore_state(ob.load_state())

    # a new engine without state only learns the side of the fence from the first position
    outside = track(IL62, T0 + 600.0, 3, 60.0, east, 90.0, 100.0)
    assert fresh().evaluate_positions(outside) == []
    first = fresh()
    assert first.evaluate_positions(inside) == []
    restored, counts = saved_and_restored(first, "a.sqlite")
    assert counts == {"restored": 1}
    (a,) = restored.evaluate_positions(outside)
    assert (a.rule_id, a.what, a.t) == ("out", "leaves", T0 + 600.0)
    # a side seen more than MEMBERSHIP_KEEP_S before the newest event is not restored
    later = fresh()
    assert later.evaluate_positions(inside) == []
    t_late = T0 + 240.0 + MEMBERSHIP_KEEP_S + 1.0
    assert len(later.evaluate_events(events([(t_late, RA_CIVIL, "landing", "SVMI", {})]))) == 1
    restored, counts = saved_and_restored(later, "b.sqlite")
    assert counts == {"restored": 1, "stale": 1}  # the landing's cool-down, the old side
    assert restored.evaluate_positions(track(IL62, t_late, 3, 60.0, east, 90.0, 100.0)) == []


# --------------------------------------------------------------------------- bad state


def _corrupt(path: Path, how: str) -> None:
    with sqlite3.connect(path) as db:
        if how == "old layout":
            db.execute("DROP TABLE engine_state")
            db.execute("CREATE TABLE engine_state (rule TEXT, until REAL)")
            db.execute("INSERT INTO engine_state VALUES ('watch-landing', 1e12)")
        elif how == "unreadable row":
            db.execute("INSERT INTO engine_state VALUES ('x', -1, 1, 'abc', 1.0)")
        elif how == "other version":
            db.execute("UPDATE engine_meta SET value = '0' WHERE key = 'version'")


@pytest.mark.parametrize("how", ["old layout", "unreadable row", "other version"])
def test_a_bad_state_table_is_ignored_with_a_warning(
    tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    with _session(tmp_path) as s:
        assert _fired(s, T0) == ["1551e0"]
    _corrupt(tmp_path / "data" / "alerts.sqlite", how)
    with caplog.at_level(logging.WARNING, logger="tailwatch.alert"), _session(tmp_path) as s:
        assert _fired(s, T0 + 120.0) == ["1551e0"]  # the cool-down started afresh
    assert "ignoring the saved alert engine state" in caplog.text
    caplog.clear()
    with _session(tmp_path) as s:  # the table was rebuilt and holds the new state
        assert _fired(s, T0 + 180.0) == []
    assert "ignoring" not in caplog.text
    with Outbox(tmp_path / "data" / "alerts.sqlite") as ob:
        assert [a.t for a in ob.alerts()] == [T0 + 120.0, T0]  # the alerts were kept


def test_an_outbox_that_is_no_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "alerts.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the alert outbox"), _session(tmp_path):
        pass
