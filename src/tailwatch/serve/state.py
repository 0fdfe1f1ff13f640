"""What the API serves: the live snapshot (swapped atomically), the history store, identity,
the receiver and the ingest counters.

The pipeline calls :meth:`LiveState.publish` once a second with a fresh, immutable
``Snapshot``; handlers only ever read the current :class:`SnapshotView` and the store, never
the tracker's internals. Publishing swaps one reference (atomic under the GIL), so a request
sees either the old snapshot or the new one, never a mix.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tailwatch.serve.history import History
from tailwatch.serve.identity import IdentityResolver
from tailwatch.serve.view import ReceiverInfo, SnapshotView

__all__ = ["LiveState", "ReceiverInfo"]

log = logging.getLogger(__name__)

Listener = Callable[[SnapshotView], None]


#: the snapshot columns the serve layer reads, with their null value
SNAPSHOT_COLUMNS: dict[str, tuple[str, float | int]] = {
    "icao24": ("uint32", 0), "callsign": ("S8", 0),
    **{k: ("float64", np.nan) for k in (
        "last_seen", "first_seen", "lat", "lon", "t_position", "altitude_ft", "t_altitude",
        "altitude_geom_ft", "gs_kt", "track_deg", "t_velocity", "vrate_fpm", "heading_deg",
        "ias_kt", "tas_kt", "mach", "roll_deg", "selected_altitude_ft", "baro_setting_hpa")},
    "squawk": ("int16", -1), "on_ground": ("int8", -1), "category": ("int16", -1),
    **{k: ("int8", -1) for k in ("nic", "nacp", "nacv", "sil", "version", "emergency")},
    "nav_modes": ("int16", -1), "messages": ("int64", 0), "positions": ("int64", 0),
    "source": ("int8", 0), "position_source": ("int8", 0),
}


def blank_columns(n: int) -> dict[str, np.ndarray]:
    """Snapshot columns of ``n`` rows holding null values."""
    out: dict[str, np.ndarray] = {}
    for name, (dtype, null) in SNAPSHOT_COLUMNS.items():
        out[name] = (np.zeros(n, dtype) if dtype == "S8" else np.full(n, null, dtype=dtype))
    return out


def _empty_snapshot(now: float) -> Any:
    from tailwatch.track.tracker import Snapshot

    return Snapshot(now, blank_columns(0), {})


def synthetic_snapshot(n: int, now: float, seed: int = 0) -> Any:
    """A whole-world stand-in: ``n`` aircraft with random addresses, positions and values
    (for the API benchmark and the serialisation tests)."""
    from tailwatch.track.tracker import Snapshot

    rng = np.random.default_rng(seed)
    c = blank_columns(n)
    c["icao24"] = rng.choice(1 << 24, n, replace=False).astype(np.uint32)
    c["callsign"] = np.array([b"TST%05d" % i for i in range(n)], dtype="S8")
    c["last_seen"] = now - rng.random(n) * 10
    c["first_seen"] = np.full(n, now - 3600)
    c["lat"] = rng.uniform(-60, 70, n)
    c["lon"] = rng.uniform(-180, 180, n)
    c["t_position"] = now - rng.random(n) * 20
    c["altitude_ft"] = rng.integers(0, 40000, n).astype(float)
    c["t_altitude"] = np.full(n, now - 1)
    c["gs_kt"] = rng.uniform(0, 500, n)
    c["track_deg"] = rng.uniform(0, 360, n)
    c["t_velocity"] = np.full(n, now - 1)
    c["vrate_fpm"] = rng.integers(-2000, 2000, n) * 1.0
    c["squawk"] = rng.integers(0, 7777, n).astype(np.int16)
    c["on_ground"] = (rng.random(n) < 0.1).astype(np.int8)
    c["category"] = np.full(n, 11, np.int16)
    c["nic"] = np.full(n, 8, np.int8)
    c["messages"] = rng.integers(1, 10000, n)
    c["mach"] = rng.uniform(0.2, 0.8, n)
    return Snapshot(now, c, {"messages": 1})


def synthetic_successor(prev: Any, now: float, seed: int, *, updated: float = 0.8,
                        churn: float = 0.005) -> Any:
    """The synthetic world one step later: the same aircraft, ``updated`` of them heard
    again (moved on along their track, ``last_seen`` = ``now``), ``churn`` of them replaced by
    new addresses (for the API benchmark: a live world keeps most of its aircraft)."""
    from tailwatch.track.tracker import Snapshot

    rng = np.random.default_rng(seed)
    c = {k: v.copy() for k, v in prev.columns.items()}
    n = int(c["icao24"].shape[0])
    heard = rng.random(n) < updated
    dt_s = now - c["last_seen"][heard]
    dist_deg = c["gs_kt"][heard] * dt_s / 3600.0 / 60.0
    track = np.radians(c["track_deg"][heard])
    c["lat"][heard] = np.clip(c["lat"][heard] + dist_deg * np.cos(track), -89.0, 89.0)
    c["lon"][heard] = (c["lon"][heard] + dist_deg * np.sin(track) + 180.0) % 360.0 - 180.0
    c["last_seen"][heard] = c["t_position"][heard] = now
    c["t_altitude"][heard] = c["t_velocity"][heard] = now
    c["messages"][heard] += rng.integers(1, 20, int(heard.sum()))
    gone = np.flatnonzero(rng.random(n) < churn)
    if gone.size:
        fresh = rng.choice(1 << 24, 2 * gone.size + 16, replace=False).astype(np.uint32)
        fresh = fresh[~np.isin(fresh, c["icao24"])][: gone.size]
        c["icao24"][gone[: fresh.size]] = fresh
        c["first_seen"][gone[: fresh.size]] = now
    return Snapshot(now, c, {"messages": int(prev.counters.get("messages", 0)) + n})


def snapshot_from_positions(pos: Mapping[str, np.ndarray], now: float,
                            max_age_s: float = 60.0) -> Any:
    """A snapshot at ``now`` rebuilt from stored positions (sorted by address then time):
    the last position of each aircraft within ``max_age_s`` before ``now``."""
    from tailwatch.track.tracker import Snapshot

    t = np.asarray(pos["t"], np.float64)
    ok = (t <= now) & (t > now - max_age_s)
    idx = np.flatnonzero(ok)
    icao = np.asarray(pos["icao24"])[idx]
    last = np.ones(idx.shape[0], dtype=bool)
    last[:-1] = icao[1:] != icao[:-1]
    idx = idx[last]
    cols = blank_columns(idx.shape[0])
    tt = t[idx]
    cols["icao24"] = np.asarray(pos["icao24"])[idx].astype(np.uint32)
    cols["callsign"] = np.asarray(pos["callsign"], dtype="S8")[idx]
    for k in ("last_seen", "first_seen", "t_position", "t_altitude", "t_velocity"):
        cols[k] = tt.copy()
    for k in ("lat", "lon", "altitude_ft", "altitude_geom_ft", "gs_kt", "track_deg",
              "vrate_fpm"):
        cols[k] = np.asarray(pos[k], np.float64)[idx]
    cols["squawk"] = np.asarray(pos["squawk"]).astype(np.int16)[idx]
    cols["on_ground"] = np.asarray(pos["on_ground"]).astype(np.int8)[idx]
    src = np.asarray(pos["source"]).astype(np.int8)[idx]
    cols["source"] = cols["position_source"] = np.maximum(src, 0)
    cols["positions"] = np.ones(idx.shape[0], np.int64)
    return Snapshot(float(now), cols, {})


class LiveState:
    """Shared state of the server (one per process).

    ``store`` is a ``tailwatch.store.Store`` (or None: history endpoints answer empty);
    ``identity`` the resolver (when omitted: one over the store's aircraft database,
    :meth:`IdentityResolver.from_store`); ``prerender``
    builds the public ``aircraft.json`` and ``/api/states/all`` (plain and gzip) at publish
    time, so that no request pays for them.
    """

    def __init__(
        self,
        *,
        store: Any = None,
        identity: IdentityResolver | None = None,
        receiver: ReceiverInfo | None = None,
        prerender: bool = True,
    ) -> None:
        self.history = store if isinstance(store, History) else History(store)
        if identity is None:  # the store's aircraft database, followed live (if it has one)
            identity = (IdentityResolver.from_store(self.history.store)
                        if self.history.store is not None else IdentityResolver())
        self.identity = identity
        self.receiver = receiver if receiver is not None else ReceiverInfo()
        self.prerender = prerender
        self.started = time.time()
        self._version = 0
        self._published_at: float | None = None
        self._view: SnapshotView | None = None
        self._publish_lock = threading.Lock()
        self._ingest: dict[str, Mapping[str, Any]] = {}
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()
        self.publish_errors = 0
        self.rules: Any = None  # the session's tailwatch.alert.service.RuleService, if any

    # --- the pipeline side -------------------------------------------------------------------
    def publish(self, snapshot: Any) -> SnapshotView:
        """Make ``snapshot`` (a ``tailwatch.track.tracker.Snapshot``) the current one."""
        with self._publish_lock:
            self._version += 1
            view = SnapshotView(snapshot, self.identity, self.receiver, self._version)
            if self.prerender:
                from tailwatch.serve.formats import prerender

                prerender(view)
            self._view = view  # the atomic swap
            self._published_at = time.time()
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(view)
            except Exception:  # a listener must never break the pipeline
                self.publish_errors += 1
                log.exception("snapshot listener failed")
        return view

    def set_ingest_counters(self, source: str, counters: Mapping[str, Any]) -> None:
        """Counters of one ingest source (bytes, frames, rejects by reason, reconnects, last
        frame time...) for /api/stats: JSON-able values, replaced as a whole."""
        self._ingest = {**self._ingest, source: dict(counters)}

    def set_receiver(self, receiver: ReceiverInfo) -> None:
        self.receiver = receiver

    # --- the server side ---------------------------------------------------------------------
    @property
    def version(self) -> int:
        return self._version

    @property
    def published_at(self) -> float | None:
        """Wall-clock time of the last publish (None before the first)."""
        return self._published_at

    def view(self) -> SnapshotView:
        """The current view (an empty one before the first publish)."""
        v = self._view
        if v is None:
            with self._publish_lock:
                if self._view is None:
                    self._view = SnapshotView(_empty_snapshot(time.time()), self.identity,
                                              self.receiver, 0)
                v = self._view
        return v

    @property
    def ingest_counters(self) -> dict[str, Mapping[str, Any]]:
        return self._ingest

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(view)`` after each publish (from the publishing thread)."""
        with self._listeners_lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)
