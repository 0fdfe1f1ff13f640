"""What runs beside a live or replayed pipeline: flight/event detection into the store,
GNSS interference monitoring (events and hexagon levels, docs/gnss.md), watchlist alerts on
the positions and on the events, and the web map / API serving the live snapshot.

Used by ``tailwatch run`` and ``tailwatch replay`` (and ``tailwatch serve`` for the server).
Other features hook in without editing this module: :meth:`LiveSession.add_sink` adds a
pipeline sink (called with every batch of accepted positions, like the store),
:meth:`LiveSession.add_event_consumer` a function called with every batch of detected event
columns (as the event rules are), and :meth:`LiveSession.add_closer` a function called at
:meth:`LiveSession.close`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tailwatch.config import Settings
from tailwatch.core.errors import StoreError
from tailwatch.ingest.urls import parse_address

log = logging.getLogger("tailwatch.live")

EventConsumer = Callable[[Mapping[str, np.ndarray]], object]
"""Called with each batch of detected events (columns of EVENT_FIELDS)."""


class PositionAlertSink:
    """A pipeline sink evaluating the position rules (watchlists, geofences, squawks) on every
    batch of accepted positions, as ``tailwatch alerts test`` does on a recording."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session

    def __call__(self, positions: Any) -> None:
        self.session.on_positions(positions)


class DetectorTypes:
    """A pipeline sink placed before detection: tells the flight detector (its ``types``,
    see ``FlightDetector``) the ICAO type designator of each airframe as it first appears,
    from the aircraft database (``lookup``: addresses -> a table with ``icao24`` and
    ``typecode`` columns, as ``identify_many`` gives), for the runway each type needs. Each
    address is looked up once; a batch costs a vectorised membership test."""

    def __init__(self, detector: Any, lookup: Callable[[np.ndarray], Any]) -> None:
        self.detector = detector
        self.lookup = lookup
        self._known = np.zeros(0, dtype=np.uint32)  # sorted

    def __call__(self, positions: Any) -> None:
        cols = positions.columns if hasattr(positions, "columns") else positions
        icao = np.unique(np.asarray(cols["icao24"], dtype=np.uint32))
        new = icao[~np.isin(icao, self._known, assume_unique=True)]
        if not len(new):
            return
        self._known = np.union1d(self._known, new)
        table = self.lookup(new)
        if table is None or "typecode" not in getattr(table, "column_names", ()):
            return
        types = self.detector.types
        for a, tc in zip(table.column("icao24").to_pylist(),
                         table.column("typecode").to_pylist(), strict=True):
            if tc:
                types[int(a, 16) if isinstance(a, str) else int(a)] = str(tc)


class EventDetectionSink:
    """Flight/event detection without a store (``replay``/``run`` with ``--rules`` and no
    ``--db``): positions (and the tracker's rejects) go to a ``FlightDetector`` in batches of
    up to ``batch_rows`` rows or ``max_delay_s`` seconds, as the store's detection sink does;
    the events go to ``on_events``. Nothing is written."""

    takes_rejects = True

    def __init__(self, on_events: EventConsumer, *, identify: Any = None,
                 batch_rows: int = 200_000, max_delay_s: float = 1.0) -> None:
        from tailwatch.alert.replay import DetectorFeed, find_detector

        cls = find_detector()
        if cls is None:  # pragma: no cover - tailwatch.detect is part of tailwatch
            raise ImportError("no flight detector (tailwatch.detect.FlightDetector)")
        self.feed = DetectorFeed(cls, identify=identify)
        self.on_events = on_events
        self.events = 0

        self.batch_rows, self.max_delay_s = batch_rows, max_delay_s
        self._waiting: list[Any] = []
        self._rows = 0
        self._since = 0.0
        self._rejects: dict[int, dict[str, int]] = {}

    def __call__(self, positions: Any) -> None:
        import time

        n, rejects = len(positions), getattr(positions, "rejects", None)
        if not n and not rejects:
            return
        if not self._waiting and not self._rejects:
            self._since = time.monotonic()
        if n:
            self._waiting.append(positions)
            self._rows += n
        for icao, counts in (rejects or {}).items():
            mine = self._rejects.setdefault(int(icao), {})
            for reason, c in counts.items():
                mine[reason] = mine.get(reason, 0) + int(c)
        if self._rows >= self.batch_rows or time.monotonic() - self._since >= self.max_delay_s:
            self._detect()

    def _detect(self) -> None:
        from tailwatch.alert.replay import concat_positions

        if not self._waiting and not self._rejects:
            return
        parts, self._waiting, self._rows = self._waiting, [], 0
        rejects, self._rejects = self._rejects or None, {}
        self._emit(self.feed.feed(concat_positions(parts), rejects))

    def _emit(self, cols: Mapping[str, np.ndarray] | None) -> None:
        if cols is not None and len(cols.get("t", ())):
            self.events += len(cols["t"])
            self.on_events(cols)

    @property
    def flights(self) -> int:
        return len(self.feed.flight_ids)

    def flush(self) -> None:
        self._detect()
        self._emit(self.feed.finish())


class LiveSession:
    """Detection + alerts + web server around a store. Give ``sinks`` to the Pipeline and
    ``publish`` as its ``on_snapshot``; call :meth:`close` at the end (closes open flights
    and saves the alert engine's state).

    With ``rules``, the alert engine starts from the state saved in the outbox (cool-downs
    and enters/leaves states of the unchanged rules, see docs/alerts.md), stores the
    cool-downs its alerts set in the same transaction as the alerts, and saves its whole
    state at :meth:`close`."""

    def __init__(
        self,
        settings: Settings,
        store: Any,
        *,
        detect: bool = True,
        rules: Path | None = None,
        annotations: list[Path] | None = None,
        web: str | None = None,
        sinks: Iterable[Any] = (),
        event_consumers: Iterable[EventConsumer] = (),
    ) -> None:
        from tailwatch.reference.identity import Annotations

        self.settings = settings
        self.store = store
        self.alerts: list[Any] = []
        self.extra_sinks: list[Any] = list(sinks)
        self.event_consumers: list[EventConsumer] = list(event_consumers)
        self.closers: list[Callable[[], object]] = []
        self.annotations = Annotations.load(*annotations) if annotations else None
        self.engine = self.dispatcher = self.rules = None
        if rules is not None:
            from tailwatch.alert.delivery import Dispatcher
            from tailwatch.alert.engine import AlertEngine
            from tailwatch.alert.rules import load_rules
            from tailwatch.alert.service import RuleService
            from tailwatch.reference.identity import identify_many

            ruleset = load_rules(rules)
            self.engine = AlertEngine(ruleset, identify=lambda a, c: identify_many(
                a, c, annotations=self.annotations))
            self.dispatcher = Dispatcher.from_rules(ruleset, settings.alerts, settings.data_dir)
            self._restore_alert_state()
            # the rules of the session: edited through the API, re-read when the file changes
            from tailwatch.alert.sinks import file_sink_dir

            self.rules = RuleService(rules, ruleset, engine=self.engine,
                                     dispatcher=self.dispatcher,
                                     file_sink_dir=file_sink_dir(settings.alerts,
                                                                 settings.data_dir))
        self.detection: Any = None
        if detect and store is not None:
            from tailwatch.history.detection import detection_sink

            self.detection = detection_sink(store, annotations=self.annotations,
                                            on_events=self.on_events)
        elif detect and self.engine is not None and self.engine.rules_for("events"):
            # no store: detect events for the event rules all the same (nothing is written)
            self.detection = EventDetectionSink(self.on_events, identify=self.engine.identify)
        # the detector's per-type runway needs: each airframe's type from the database
        self.detector_types: DetectorTypes | None = None
        if self.detection is not None:
            self.detector_types = self._detector_types()
        self.position_alerts = (PositionAlertSink(self) if self.engine is not None
                                and self.engine.rules_for("positions") else None)
        # GNSS interference (docs/gnss.md): hexagons and events into the store, the events
        # to the event rules, the hexagons' levels to the rules' ``gnss_level``
        from tailwatch.gnss.session import GnssSession

        self.gnss = GnssSession(settings.gnss, store=store, write_events=store is not None,
                                on_events=self.on_events)
        from tailwatch.alert.gnss_level import GNSS_LEVELS

        GNSS_LEVELS.levels = self.gnss.levels  # the rules' ``gnss_level``
        self.state = self.server = None
        self.url = ""
        if web:
            from tailwatch.serve.identity import IdentityResolver
            from tailwatch.serve.server import ServerThread
            from tailwatch.serve.state import LiveState

            host, port = parse_address(web)
            self.state = LiveState(store=store, identity=IdentityResolver.from_store(
                store, annotations=self.annotations))
            self.state.rules = self.rules
            self.server = ServerThread(self.state, settings.serve.model_copy(
                update={"host": host, "port": port}))
            self.url = self.server.start()
            log.info("web map and API on %s", self.url)

    def _detector_types(self) -> DetectorTypes | None:
        from tailwatch.reference.identity import identify_many

        det = self.detection
        if isinstance(det, EventDetectionSink):  # no store: annotations only
            detector, db = det.feed.det, None
        else:
            detector, db = getattr(det, "detector", None), getattr(det, "aircraft_db", None)
        if not isinstance(getattr(detector, "types", None), dict):
            return None
        notes = self.annotations
        return DetectorTypes(detector, lambda icao: identify_many(
            icao.astype(np.int64), db=db, annotations=notes))

    @property
    def sinks(self) -> list[Any]:
        """The pipeline sinks: the detector's airframe types, detection, the position rules,
        GNSS monitoring and the added sinks."""
        own = [self.detector_types, self.detection, self.position_alerts, self.gnss]
        return [s for s in own if s is not None] + self.extra_sinks

    def add_sink(self, sink: Any) -> None:
        """Another pipeline sink (before the pipeline is built from :attr:`sinks`)."""
        self.extra_sinks.append(sink)

    def add_event_consumer(self, consumer: EventConsumer) -> None:
        """Another consumer of the detected events."""
        self.event_consumers.append(consumer)

    def add_closer(self, closer: Callable[[], object]) -> None:
        """Called at :meth:`close`, after detection was flushed."""
        self.closers.append(closer)

    def use_sites(self, sites: Any) -> None:
        """The run's positioned receivers (a :class:`tailwatch.mlat.Sites`, as ``run`` and
        ``replay`` build it): the first one is the receiver the web view describes
        (receiver.json, ``r_dst``/``r_dir``); all of them give the GNSS monitor its radio
        horizon check."""
        from tailwatch.mlat.sites import FT_M

        found = list(getattr(sites, "sites", sites))
        self.gnss.monitor.receivers = np.array(
            [(s.lat, s.lon, s.alt_m / FT_M) for s in found], dtype=np.float64).reshape(-1, 3)
        if self.state is not None and found:
            from tailwatch.serve.view import ReceiverInfo

            first = found[0]
            self.state.set_receiver(ReceiverInfo(id=first.name or "tailwatch", name=first.name,
                                                 lat=first.lat, lon=first.lon))

    def publish(self, snapshot: Any) -> None:
        self.gnss.observe(snapshot)  # aircraft still heard that lost their positions
        if self.state is not None:
            self.state.publish(snapshot)

    def _restore_alert_state(self) -> None:
        if self.engine is None or self.dispatcher is None:
            return
        outbox = self.dispatcher.outbox
        counts = self.engine.restore_state(outbox.load_state())
        outbox.save_state(self.engine.export_state())  # without the stale and unmatched rows
        if counts:
            log.info("alert state from %s: %d restored, %d ran out, %d of changed or removed "
                     "rules", outbox.path, counts["restored"], counts["stale"],
                     counts["unmatched"])  # fmt: skip

    def on_events(self, events: Any) -> None:
        """Evaluate the event rules on detected events; queue what fires; hand the events
        to the added consumers."""
        for consumer in self.event_consumers:
            consumer(events)
        if self.engine is None:
            return
        if self.rules is not None:
            self.rules.maybe_refresh()  # a hand edit of the rules file takes effect
        self._fired(self.engine.evaluate_events(events))

    def on_positions(self, positions: Any) -> None:
        """Evaluate the position rules on a batch of accepted positions; queue what fires."""
        if self.engine is None:
            return
        if self.rules is not None:
            self.rules.maybe_refresh()
        self._fired(self.engine.evaluate_positions(positions))

    def _fired(self, fired: list[Any]) -> None:
        for a in fired:
            log.warning("ALERT %s: %s %s at %s", a.rule_name, a.icao24, a.what, a.time_iso)
        self.alerts += fired
        if fired and self.dispatcher is not None:  # delivered by `tailwatch alerts deliver`
            self.dispatcher.submit(fired, self.engine.state_of(fired))  # type: ignore[union-attr]

    def close(self) -> None:
        if self.detection is not None:
            self.detection.flush()
        self.gnss.flush()
        from tailwatch.alert.gnss_level import GNSS_LEVELS

        if GNSS_LEVELS.levels is self.gnss.levels:  # another session may have replaced it
            GNSS_LEVELS.levels = None
        for closer in self.closers:
            closer()
        if self.server is not None:
            self.server.stop()
        if self.dispatcher is not None:
            try:
                if self.engine is not None:
                    self.dispatcher.outbox.save_state(self.engine.export_state())
            except StoreError as e:  # the alerts' own cool-downs were stored with them
                log.error("cannot save the alert engine state: %s", e)
            finally:
                self.dispatcher.outbox.close()


#: multilateration needs at least this many positioned receivers (docs/mlat.md)
MIN_MLAT_SITES = 3


def build_pipeline(tracker: Any, sinks: list[Any], session: LiveSession | None,
                   sites: Any) -> Any:
    """The pipeline of ``run`` and ``replay``: the positioned receivers (a
    :class:`tailwatch.mlat.Sites`) go to the live session (receiver.json, ``r_dst``/``r_dir``,
    the GNSS radio horizon) and, when there are enough of them, to multilateration."""
    from tailwatch.pipeline import Pipeline

    if session is not None:
        session.use_sites(sites)
    return Pipeline(tracker=tracker, sinks=sinks,
                    on_snapshot=session.publish if session is not None else None,
                    receivers=sites if len(sites) >= MIN_MLAT_SITES else None)
