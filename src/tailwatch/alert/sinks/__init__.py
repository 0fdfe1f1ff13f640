"""Where alerts go: signed webhooks, Apprise (email, chat, push, MQTT), log, console, file."""

from __future__ import annotations

from pathlib import Path

from tailwatch.alert.rules import (
    AppriseSinkConfig,
    ConsoleSinkConfig,
    FileSinkConfig,
    LogSinkConfig,
    RuleSet,
    SinkConfig,
    WebhookSinkConfig,
)
from tailwatch.alert.settings import AlertSettings
from tailwatch.alert.sinks.base import DeliveryError, Sink
from tailwatch.alert.sinks.basic import (
    ConsoleSink,
    FileSink,
    LogSink,
    check_file_sinks,
    file_sink_dir,
    file_sink_path,
)
from tailwatch.alert.sinks.webhook import WebhookSink, sign_webhook, verify_webhook

__all__ = [
    "ConsoleSink",
    "DeliveryError",
    "FileSink",
    "LogSink",
    "Sink",
    "WebhookSink",
    "build_sink",
    "build_sinks",
    "check_file_sinks",
    "file_sink_dir",
    "file_sink_path",
    "sign_webhook",
    "verify_webhook",
]


def build_sink(name: str, cfg: SinkConfig, settings: AlertSettings,
               data_dir: str | Path | None = None) -> Sink:
    """The sink a configuration describes (secrets from the environment where named). A
    file sink writes inside :func:`file_sink_dir` (ConfigError when its path leads out);
    without ``data_dir`` (and no ``alerts.file_sink_dir``), the default data directory's."""
    if isinstance(cfg, WebhookSinkConfig):
        return WebhookSink(
            name,
            cfg.url,
            cfg.resolve_secret(),
            timeout_s=cfg.timeout_s or settings.webhook_timeout_s,
            allow_private=settings.allow_private_webhooks,
            headers=cfg.headers,
        )
    if isinstance(cfg, AppriseSinkConfig):
        from tailwatch.alert.sinks.apprise_sink import AppriseSink

        return AppriseSink(name, cfg.resolve_url(),
                           allow_private=settings.allow_private_webhooks)  # fmt: skip
    if isinstance(cfg, LogSinkConfig):
        return LogSink(name, cfg.level)
    if isinstance(cfg, ConsoleSinkConfig):
        return ConsoleSink(name)
    if isinstance(cfg, FileSinkConfig):
        return FileSink(name, cfg.path, base=file_sink_dir(settings, _data_dir(data_dir)))
    raise TypeError(f"unknown sink configuration {type(cfg).__name__}")


def build_sinks(ruleset: RuleSet, settings: AlertSettings,
                data_dir: str | Path | None = None) -> dict[str, Sink]:
    return {name: build_sink(name, cfg, settings, data_dir)
            for name, cfg in ruleset.sinks.items()}


def _data_dir(data_dir: str | Path | None) -> Path:
    if data_dir is not None:
        return Path(data_dir)
    from tailwatch.config import default_data_dir

    return default_data_dir()


def default_file_sink_dir() -> Path:
    """The file sink directory of the current settings (for callers without settings)."""
    from tailwatch.config import load_settings

    s = load_settings()
    return file_sink_dir(s.alerts, s.data_dir)
