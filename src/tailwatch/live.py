"""What runs beside a live or replayed pipeline: flight/event detection into the store,
watchlist alerts on the events, and the web map / API serving the live snapshot.

Used by ``tailwatch run`` and ``tailwatch replay`` (and ``tailwatch serve`` for the server).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tailwatch.config import Settings
from tailwatch.core.errors import StoreError
from tailwatch.ingest.urls import parse_address

log = logging.getLogger("tailwatch.live")


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
            self._restore_alert_state()
            # the rules of the session: edited through the API, re-read when the file changes
            self.rules = RuleService(rules, ruleset, engine=self.engine,
                                     dispatcher=self.dispatcher)
        self.detection = None
        if detect and store is not None:
            from tailwatch.history.detection import detection_sink

            self.detection = detection_sink(store, annotations=self.annotations,
                                            on_events=self.on_events)
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
        """Evaluate the event rules on detected events; queue what fires."""
        if self.engine is None:
            return
        if self.rules is not None:
            self.rules.maybe_refresh()  # a hand edit of the rules file takes effect
        fired = self.engine.evaluate_events(events)
        for a in fired:
            log.warning("ALERT %s: %s %s at %s", a.rule_name, a.icao24, a.what, a.time_iso)
        self.alerts += fired
        if fired and self.dispatcher is not None:  # delivered by `tailwatch alerts deliver`
            self.dispatcher.submit(fired, self.engine.state_of(fired))


    def close(self) -> None:
        if self.detection is not None:
            self.detection.flush()
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
