"""Delivery: alerts go into the outbox, a dispatcher sends them to their sinks with retries.

``Dispatcher.submit(alerts)`` stores the alerts and queues one delivery per sink of their
rule (every sink of the rules document when the rule names none). ``run_once()`` attempts
every due delivery; a failure is retried after ``backoff_base_s · 2^(n-1)`` seconds
(n = failed attempts so far, capped at ``backoff_max_s``, minus up to 25 % jitter, and never
sooner than a ``Retry-After`` the receiver sent), until ``max_attempts``. Because the
schedule lives in the outbox, a restarted dispatcher carries on where the last one stopped.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from tailwatch.alert.model import Alert
from tailwatch.alert.outbox import Outbox
from tailwatch.alert.rules import RuleSet
from tailwatch.alert.settings import AlertSettings
from tailwatch.alert.sinks import Sink, build_sinks
from tailwatch.alert.sinks.base import DeliveryError
from tailwatch.alert.state import EngineState

__all__ = ["Dispatcher", "outbox_path"]

log = logging.getLogger("tailwatch.alert")


def outbox_path(settings: AlertSettings, data_dir: str | Path) -> Path:
    return Path(settings.outbox) if settings.outbox else Path(data_dir) / "alerts.sqlite"


class Dispatcher:
    """Sends the outbox's pending deliveries (see the module docstring)."""

    def __init__(
        self,
        outbox: Outbox,
        sinks: Mapping[str, Sink],
        settings: AlertSettings | None = None,
        *,
        ruleset: RuleSet | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.outbox = outbox
        self.sinks = dict(sinks)
        self.settings = settings or AlertSettings()
        self.ruleset = ruleset
        self.clock = clock
        self.rng = rng or random.Random()
        self.stats: Counter[str] = Counter()

    @classmethod
    def from_rules(
        cls, ruleset: RuleSet, settings: AlertSettings, data_dir: str | Path
    ) -> Dispatcher:
        sinks = build_sinks(ruleset, settings, data_dir)
        return cls(Outbox(outbox_path(settings, data_dir)), sinks, settings, ruleset=ruleset)

    @property
    def lease_s(self) -> float:
        """How long a claimed delivery is reserved: connect + write + read timeouts, + 1 s."""
        return 3.0 * self.settings.webhook_timeout_s + 1.0

    def backoff_s(self, failures: int) -> float:
        """Delay after the ``failures``-th failed attempt (1, 2, ...)."""
        s = self.settings
        full = min(s.backoff_max_s, s.backoff_base_s * 2.0 ** max(failures - 1, 0))
        return full * (1.0 - 0.25 * self.rng.random())

    def _sinks_for(self, alert: Alert) -> list[str]:
        if self.ruleset is None:
            return list(self.sinks)
        try:
            rule = self.ruleset.rule(alert.rule_id)
        except KeyError:
            return list(self.sinks)
        return self.ruleset.sinks_of(rule)

    def submit(self, alerts: Iterable[Alert], state: EngineState | None = None) -> list[Alert]:
        """Store alerts and queue their deliveries; returns the ones not stored before.
        ``state`` (the engine's :meth:`~tailwatch.alert.engine.AlertEngine.state_of` the
        alerts) is stored in the same transaction."""
        new = self.outbox.add(alerts, self._sinks_for, self.clock(), state)
        self.stats["submitted"] += len(new)
        return new

    def run_once(self, limit: int = 100) -> Counter[str]:
        """One pass over the due deliveries; returns counts of delivered/retry/failed/refused."""
        done: Counter[str] = Counter()
        names = sorted(self.sinks)
        for c in self.outbox.claim(self.clock(), self.lease_s, names, limit):
            sink = self.sinks[c.sink]
            try:
                sink.send(c.alert)
            except DeliveryError as e:
                failures = c.attempts + 1
                if e.permanent:
                    self.outbox.failed(c.alert.id, c.sink, str(e), None, refused=True)
                    done["refused"] += 1
                    log.error("alert %s to %s refused: %s", c.alert.id, c.sink, e)
                elif failures >= self.settings.max_attempts:
                    self.outbox.failed(c.alert.id, c.sink, str(e), None)
                    done["failed"] += 1
                    log.error("alert %s to %s failed after %d attempts: %s", c.alert.id,
                              c.sink, failures, e)  # fmt: skip
                else:
                    delay = max(self.backoff_s(failures), e.retry_after_s or 0.0)
                    self.outbox.failed(c.alert.id, c.sink, str(e), self.clock() + delay)
                    done["retry"] += 1
                    log.warning("alert %s to %s: %s; retry in %.1f s", c.alert.id, c.sink, e,
                                delay)  # fmt: skip
                continue
            except Exception as e:  # a sink bug must not stop the others; retried like failures
                self.outbox.failed(c.alert.id, c.sink, f"{type(e).__name__}: {e}",
                                   self.clock() + self.backoff_s(c.attempts + 1))  # fmt: skip
                done["retry"] += 1
                log.exception("alert %s to %s: unexpected error", c.alert.id, c.sink)
                continue
            self.outbox.delivered(c.alert.id, c.sink, self.clock())
            done["delivered"] += 1
        self.stats.update(done)
        return done

    def run(
        self,
        *,
        stop: threading.Event | None = None,
        until_idle: bool = False,
        max_s: float | None = None,
        poll_s: float = 1.0,
    ) -> Counter[str]:
        """Deliver until ``stop`` is set, or (``until_idle``) nothing is pending, or
        ``max_s`` seconds have passed. Sleeps until the next due delivery, at most
        ``poll_s`` (new alerts may be submitted meanwhile)."""
        stop = stop or threading.Event()
        start = time.monotonic()
        total: Counter[str] = Counter()
        names = sorted(self.sinks)
        while not stop.is_set():
            total.update(self.run_once())
            if until_idle and not self.outbox.pending(names):
                break
            if max_s is not None and time.monotonic() - start >= max_s:
                break
            due = self.outbox.next_due(names)
            wait = poll_s if due is None else min(poll_s, max(0.0, due - self.clock()))
            if max_s is not None:
                wait = min(wait, max(0.0, max_s - (time.monotonic() - start)))
            stop.wait(max(wait, 0.01))
        return total
