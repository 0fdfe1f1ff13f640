"""What runs beside a live or replayed pipeline: flight/event detection into the store,
watchlist alerts on the events, and the web map / API serving the live snapshot.

Used by ``tailwatch run`` and ``tailwatch replay`` (and ``tailwatch serve`` for the server).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tailwatch.config import Settings
from tailwatch.ingest.urls import parse_address

log = logging.getLogger("tailwatch.live")


class LiveSession:
    """Detection + alerts + web server around a store. Give ``sinks`` to the Pipeline and
    ``publish`` as its ``on_snapshot``; call :meth:`close` at the end (closes open flights)."""

    def __init__(
        self,
        settings: Settings,
        store: Any,
        *,
        detect: bool = True,
        rules: Path | None = None,
        annotations: list[Path] | None = None,
        web: str | None = None,
    ) -> None:
        from tailwatch.reference.identity import Annotations

        self.settings = settings
        self.store = store
        self.alerts: list[Any] = []
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
            # the rules of the session: edited through the API, re-read when the file changes
            self.rules = RuleService(rules, ruleset, engine=self.engine,
                                     dispatcher=self.dispatcher)
        self.detection = None
        if detect and store is not None:
            from tailwatch.history.detection import detection_sink

            self.detection = detection_sink(store, annotations=self.annotations,
                                            on_events=self._events)
        self.state = self.server = None
        self.url = ""
        if web:
            from tailwatch.serve.identity import IdentityResolver
            from tailwatch.serve.server import ServerThread
            from tailwatch.serve.state import LiveState

            host, port = parse_address(web)
            self.state = LiveState(store=store,
                                   identity=IdentityResolver(annotations=self.annotations))
            self.state.rules = self.rules
            self.server = ServerThread(self.state, settings.serve.model_copy(
                update={"host": host, "port": port}))
            self.url = self.server.start()
            log.info("web map and API on %s", self.url)

    @property
    def sinks(self) -> list[Any]:
        return [self.detection] if self.detection is not None else []

    def publish(self, snapshot: Any) -> None:
        if self.state is not None:
            self.state.publish(snapshot)

    def _events(self, events: Any) -> None:
        if self.engine is None:
            return
        if self.rules is not None:
            self.rules.maybe_refresh()  # a hand edit of the rules file takes effect
        fired = self.engine.evaluate_events(events)
        for a in fired:
            log.warning("ALERT %s: %s %s at %s", a.rule_name, a.icao24, a.what, a.time_iso)
        self.alerts += fired
        if fired and self.dispatcher is not None:
            self.dispatcher.submit(fired)  # delivered by `tailwatch alerts deliver`

    def close(self) -> None:
        if self.detection is not None:
            self.detection.flush()
        if self.server is not None:
            self.server.stop()
        if self.dispatcher is not None:
            self.dispatcher.outbox.close()
