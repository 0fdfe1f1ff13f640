"""Local sinks: the ``tailwatch.alert`` logger, the console, a JSON-lines file."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TextIO

from tailwatch.alert.model import Alert
from tailwatch.alert.rules import FileSinkConfig, RuleSet
from tailwatch.alert.settings import AlertSettings
from tailwatch.alert.sinks.base import DeliveryError
from tailwatch.core.errors import ConfigError

__all__ = ["ConsoleSink", "FileSink", "LogSink", "check_file_sinks", "file_sink_dir",
           "file_sink_path"]

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


def file_sink_dir(settings: AlertSettings, data_dir: str | Path) -> Path:
    """The directory file sinks write in (``alerts.file_sink_dir``, else ``alerts/`` in the
    data directory)."""
    return Path(settings.file_sink_dir or Path(data_dir) / "alerts").expanduser()


def file_sink_path(path: str | Path, base: str | Path, name: str = "") -> Path:
    """Where a file sink configured with ``path`` writes: ``path`` relative to ``base``, or
    absolute inside it. Raises :class:`ConfigError` when it leads outside ``base`` (after
    ``..`` and symbolic links are resolved)."""
    root = Path(base).expanduser().resolve()
    p = Path(path).expanduser()
    target = (p if p.is_absolute() else root / p).resolve()
    if target == root or not target.is_relative_to(root):
        who = f"file sink {name!r}" if name else "file sink"
        raise ConfigError(f"{who}: {str(path)!r} is outside the file sink directory {root} "
                          "(setting alerts.file_sink_dir): give a file name inside it")
    return target


def check_file_sinks(ruleset: RuleSet, base: str | Path) -> None:
    """Every file sink of ``ruleset`` writes inside ``base`` (else ConfigError)."""
    for name, cfg in ruleset.sinks.items():
        if isinstance(cfg, FileSinkConfig):
            file_sink_path(cfg.path, base, name)


class FileSink:
    """Appends ``alert.to_json()`` lines (flushed and fsynced: an alert written is kept).

    With ``base`` (the file sink directory), the path is resolved inside it and checked
    again before each write, so that a symbolic link put in its place later cannot lead
    the alerts out of it (a permanent delivery error)."""

    def __init__(self, name: str, path: str | Path, base: str | Path | None = None) -> None:
        self.name = name
        self.base = None if base is None else Path(base).expanduser()
        self.configured = str(path)
        self.path = (Path(path).expanduser() if self.base is None
                     else file_sink_path(path, self.base, name))

    def send(self, alert: Alert) -> None:
        if self.base is not None:
            try:
                self.path = file_sink_path(self.configured, self.base, self.name)
            except ConfigError as e:
                raise DeliveryError(str(e), permanent=True) from e
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(alert.to_json() + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise DeliveryError(f"{self.path}: {e}") from e
