"""Watchlists and alerts: rules (TOML/YAML/JSON), vectorised evaluation over events and
positions, stable alert ids with evidence, and delivery (signed webhooks, Apprise, log,
console, file) through a persistent outbox. See docs/alerts.md.

The names below are imported on first use, so that a delivery process does not load the
evaluation machinery (numba) and the reverse.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tailwatch.alert.delivery import Dispatcher, outbox_path
    from tailwatch.alert.engine import AlertEngine
    from tailwatch.alert.model import Alert, alert_id
    from tailwatch.alert.outbox import Outbox
    from tailwatch.alert.rules import Condition, Geofence, Rule, RuleSet, load_rules
    from tailwatch.alert.service import RuleService
    from tailwatch.alert.settings import AlertSettings

_WHERE = {
    "Alert": "model",
    "AlertEngine": "engine",
    "AlertSettings": "settings",
    "Condition": "rules",
    "Dispatcher": "delivery",
    "Geofence": "rules",
    "Outbox": "outbox",
    "Rule": "rules",
    "RuleService": "service",
    "RuleSet": "rules",
    "alert_id": "model",
    "load_rules": "rules",
    "outbox_path": "delivery",
}

__all__ = [
    "Alert",
    "AlertEngine",
    "AlertSettings",
    "Condition",
    "Dispatcher",
    "Geofence",
    "Outbox",
    "Rule",
    "RuleService",
    "RuleSet",
    "alert_id",
    "load_rules",
    "outbox_path",
]


def __getattr__(name: str) -> Any:
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"tailwatch.alert.{mod}"), name)
