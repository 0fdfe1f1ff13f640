"""What every sink implements, and how a failed delivery is reported."""

from __future__ import annotations

from typing import Protocol

from tailwatch.alert.model import Alert
from tailwatch.core.errors import TailwatchError

__all__ = ["DeliveryError", "Sink"]


class DeliveryError(TailwatchError):
    """A delivery attempt failed. ``permanent``: do not retry (a refused or malformed
    target); ``retry_after_s``: the receiver asked to wait at least this long."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after_s = retry_after_s


class Sink(Protocol):
    """Delivers one alert; raises :class:`DeliveryError` on failure (then it is retried)."""

    name: str

    def send(self, alert: Alert) -> None: ...
