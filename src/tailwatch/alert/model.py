"""An alert: what fired, on which airframe, when, with the evidence, under a stable id."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Alert", "alert_id"]

AlertKind = Literal["event", "position"]


def alert_id(rule_id: str, icao24: int, kind: str, key: str) -> str:
    """Stable id of an alert: the same rule on the same airframe and the same event (or the
    same position time) gives the same id, in any process, before and after a restart."""
    h = hashlib.sha256(f"{rule_id}\x1f{icao24:06x}\x1f{kind}\x1f{key}".encode()).hexdigest()
    return f"alert_{h[:24]}"


def _iso(t: float) -> str | None:
    if not math.isfinite(t):
        return None
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


@dataclass(frozen=True, slots=True)
class Alert:
    """One fired alert (few: plain Python objects)."""

    id: str
    rule_id: str
    rule_name: str
    severity: str
    kind: AlertKind
    what: str  #: event type, "enters", "leaves" or "position"
    t: float  #: time of the event or position, UNIX seconds
    icao24: str  #: lowercase hex
    evidence: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    tags: tuple[str, ...] = ()

    @property
    def time_iso(self) -> str | None:
        return _iso(self.t)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "severity": self.severity,
            "kind": self.kind,
            "what": self.what,
            "t": self.t,
            "time": self.time_iso,
            "icao24": self.icao24,
            "tags": list(self.tags),
            "evidence": self.evidence,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Alert:
        return cls(
            id=str(d["id"]),
            rule_id=str(d["rule_id"]),
            rule_name=str(d.get("rule_name") or d["rule_id"]),
            severity=str(d.get("severity", "info")),
            kind="event" if d.get("kind") == "event" else "position",
            what=str(d.get("what", "")),
            t=float(d["t"]) if d.get("t") is not None else math.nan,
            icao24=str(d["icao24"]),
            evidence=dict(d.get("evidence") or {}),
            tags=tuple(d.get("tags") or ()),
        )

    # --- human-readable forms (notifications, console) ------------------------------------

    @property
    def aircraft_label(self) -> str:
        a = self.evidence.get("aircraft") or {}
        parts = [a.get("registration") or self.icao24.upper()]
        if a.get("typecode"):
            parts.append(str(a["typecode"]))
        if a.get("operator"):
            parts.append(str(a["operator"]))
        if a.get("military"):
            parts.append("military")
        return " ".join(str(p) for p in parts)

    def title(self) -> str:
        return f"{self.rule_name}: {self.aircraft_label} {self._what_text()}"

    def _what_text(self) -> str:
        row = self.evidence.get("row") or {}
        if self.kind == "event":
            apt = row.get("airport")
            return f"{self.what}{' at ' + apt if apt else ''}"
        if self.what in ("enters", "leaves"):
            return f"{self.what} {self.evidence.get('geofence', 'the geofence')}"
        bits = []
        if row.get("squawk"):
            bits.append(f"squawk {row['squawk']}")
        if row.get("callsign"):
            bits.append(str(row["callsign"]))
        return " ".join(bits) if bits else "seen"

    def text(self) -> str:
        """A few lines for a notification body."""
        row = self.evidence.get("row") or {}
        a = self.evidence.get("aircraft") or {}
        lines = [self.title(), f"time: {self.time_iso}"]
        ident = ", ".join(
            f"{k} {a[k]}" for k in ("registration", "typecode", "operator", "country") if a.get(k)
        )
        lines.append(f"aircraft: {self.icao24}" + (f" ({ident})" if ident else ""))
        lat, lon = row.get("lat"), row.get("lon")
        if lat is not None and lon is not None:
            alt = row.get("altitude_ft")
            lines.append(f"position: {lat:.4f}, {lon:.4f}"
                         + (f" at {alt:.0f} ft" if alt is not None else ""))
        lines.append(f"rule: {self.rule_id} ({self.severity}); alert id {self.id}")
        return "\n".join(lines)
