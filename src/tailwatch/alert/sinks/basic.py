"""Local sinks: the ``tailwatch.alert`` logger, the console, a JSON-lines file."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TextIO

from tailwatch.alert.model import Alert
from tailwatch.alert.sinks.base import DeliveryError

__all__ = ["ConsoleSink", "FileSink", "LogSink"]

log = logging.getLogger("tailwatch.alert")
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}  # fmt: skip


class LogSink:
    def __init__(self, name: str, level: str = "warning") -> None:
        self.name = name
        self.level = _LEVELS[level]

    def send(self, alert: Alert) -> None:
        log.log(self.level, "%s [%s] %s", alert.title(), alert.id, alert.time_iso,
                extra={"alert": alert.to_dict()})


class ConsoleSink:
    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        self.name = name
        self.stream = stream

    def send(self, alert: Alert) -> None:
        out = self.stream or sys.stdout
        out.write(f"{alert.time_iso} {alert.severity.upper():8} {alert.title()}  [{alert.id}]\n")
        out.flush()


class FileSink:
    """Appends ``alert.to_json()`` lines (flushed and fsynced: an alert written is kept)."""

    def __init__(self, name: str, path: str | Path) -> None:
        self.name = name
        self.path = Path(path).expanduser()

    def send(self, alert: Alert) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(alert.to_json() + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise DeliveryError(f"{self.path}: {e}") from e
