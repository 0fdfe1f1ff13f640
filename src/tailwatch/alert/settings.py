"""Settings of alert delivery (meant to become the ``alerts`` section of tailwatch.config)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AlertSettings(BaseModel):
    """How alerts are delivered. Rules and sinks themselves live in a rules file."""

    allow_private_webhooks: bool = Field(
        False,
        description="Allow webhook and Apprise targets whose host resolves to a loopback, "
        "private, link-local, metadata or otherwise non-public address (SSRF guard).",
    )
    webhook_timeout_s: float = Field(
        10.0, gt=0, description="Timeout of one webhook attempt (connect, then each read)."
    )
    max_attempts: int = Field(
        12, ge=1, description="Delivery attempts per alert and sink before giving up."
    )
    backoff_base_s: float = Field(
        10.0, gt=0, description="Delay before the first retry; doubles at each failure."
    )
    backoff_max_s: float = Field(3600.0, gt=0, description="Longest delay between retries.")
    file_sink_dir: str = Field(
        "",
        description="The directory file sinks write in: a sink's path is taken relative to "
        "it, and a path that leads outside it (absolute elsewhere, '..', a symbolic link "
        "out) is refused, in rules files and through the rules API. Empty: alerts/ in the "
        "data directory.",
    )
    outbox: str = Field(
        "",
        description="SQLite file holding alerts and pending deliveries. Empty: alerts.sqlite "
        "in the data directory.",
    )
