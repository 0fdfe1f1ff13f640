"""Where alerts go: signed webhooks, Apprise (email, chat, push, MQTT), log, console, file."""

from __future__ import annotations

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
from tailwatch.alert.sinks.basic import ConsoleSink, FileSink, LogSink
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
    "sign_webhook",
    "verify_webhook",
]


def build_sink(name: str, cfg: SinkConfig, settings: AlertSettings) -> Sink:
    """The sink a configuration describes (secrets from the environment where named)."""
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
        return FileSink(name, cfg.path)
    raise TypeError(f"unknown sink configuration {type(cfg).__name__}")


def build_sinks(ruleset: RuleSet, settings: AlertSettings) -> dict[str, Sink]:
    return {name: build_sink(name, cfg, settings) for name, cfg in ruleset.sinks.items()}
