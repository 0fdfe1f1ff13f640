"""Alert rules: the model (pydantic), and loading it from TOML, YAML or JSON.

A rules document holds named geofences, delivery sinks and rules::

    geofences:
      caracas: {airport: SVMI, radius_nm: 30}
    sinks:
      newsroom: {type: webhook, url: "https://example.org/hook", secret_env: TW_HOOK_SECRET}
    rules:
      - id: il62-caracas
        match:
          all:
            - registration: RA-86496
            - enters: caracas

Every key of a :class:`Condition` that is set must hold (an implicit *all*); ``all``, ``any``
and ``not`` combine conditions. The keys, what they read and the stream they apply to are
listed in docs/alerts.md. :func:`load_rules` reads a file or a text; the API posts the same
structure as JSON (:meth:`RuleSet.model_validate`).

YAML is read with the YAML 1.2 core schema's booleans and integers: ``NO`` is the string
"NO" (Norway), not false; ``0700`` is the string "0700", not the octal number 448; ``22:00``
is a string, not 1320.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from tailwatch.core.errors import ConfigError
from tailwatch.core.schema import EVENT_TYPES

__all__ = [
    "EVENT_ONLY_KEYS",
    "POSITION_ONLY_KEYS",
    "AltitudeBand",
    "AppriseSinkConfig",
    "Condition",
    "ConsoleSinkConfig",
    "DailyWindow",
    "FileSinkConfig",
    "Geofence",
    "LogSinkConfig",
    "Regex",
    "Rule",
    "RuleSet",
    "SinkConfig",
    "TimeWindow",
    "WebhookSinkConfig",
    "load_rules",
    "normalise_registration",
    "parse_duration_s",
]

EVENT_ONLY_KEYS = frozenset({"event", "airport", "airport_country"})
"""Condition keys that only events have."""
POSITION_ONLY_KEYS = frozenset({"enters", "leaves", "on_ground"})
"""Condition keys that only positions have (enters/leaves keep per-airframe state)."""

_EVENT_ALIASES = {
    "take_off": "takeoff",
    "touchdown": "landing",
    "land": "landing",
    "stop": "stopover",
    "touch_go": "touch_and_go",
    "touchandgo": "touch_and_go",
    "goaround": "go_around",
}
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|sec|m|min|h|d|w)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400,
                   "w": 604800}  # fmt: skip
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


# --------------------------------------------------------------------------- value parsers


def _reject_bool(v: Any, what: str) -> None:
    if isinstance(v, bool):
        raise ValueError(
            f"{what}: got the boolean {v}; quote the value (e.g. \"NO\" for Norway)"
        )


def parse_duration_s(v: Any) -> float:
    """Seconds from a number or a string such as ``"90"``, ``"30m"``, ``"6h"``, ``"2d"``."""
    _reject_bool(v, "duration")
    if isinstance(v, int | float):
        s = float(v)
    elif isinstance(v, str):
        m = _DURATION.match(v)
        if m is None:
            raise ValueError(f"not a duration: {v!r} (use seconds or e.g. 30m, 6h, 2d)")
        s = float(m.group(1)) * _DURATION_UNITS[(m.group(2) or "").lower()]
    else:
        raise ValueError(f"not a duration: {v!r}")
    if not math.isfinite(s) or s < 0:
        raise ValueError(f"duration must be >= 0: {v!r}")
    return s


class Regex(BaseModel):
    """A regular expression (Python syntax, searched, case-insensitive)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    regex: str

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"bad regular expression {v!r}: {e}") from e
        return v


def _as_text_list(v: Any) -> list[Any]:
    items = v if isinstance(v, list | tuple) else [v]
    out: list[Any] = []
    for x in items:
        _reject_bool(x, "text")
        if isinstance(x, int | float):
            x = str(x)
        if isinstance(x, str) and not x.strip():
            raise ValueError("empty pattern")
        out.append(x.strip() if isinstance(x, str) else x)
    if not out:
        raise ValueError("empty list of patterns")
    return out


Text = Annotated[list[str | Regex], BeforeValidator(_as_text_list)]
"""One or more patterns: strings are case-insensitive globs (``*``, ``?``, ``[...]``),
``{regex: ...}`` a regular expression."""


def _as_icaos(v: Any) -> list[int]:
    items = v if isinstance(v, list | tuple) else [v]
    out = []
    for x in items:
        _reject_bool(x, "icao24")
        if isinstance(x, int):
            raise ValueError(f"icao24 {x!r}: write the address as a hex string, e.g. '1551e0'")
        s = str(x).strip().lower().removeprefix("0x")
        if not re.fullmatch(r"[0-9a-f]{1,6}", s):
            raise ValueError(f"not a 24-bit hex address: {x!r}")
        out.append(int(s, 16))
    if not out:
        raise ValueError("empty list of addresses")
    return out


def _hex_list(v: list[int]) -> list[str]:
    return [f"{x:06x}" for x in v]


Icaos = Annotated[list[int], BeforeValidator(_as_icaos), PlainSerializer(_hex_list)]


def _as_squawks(v: Any) -> list[int]:
    items = v if isinstance(v, list | tuple) else [v]
    out = []
    for x in items:
        _reject_bool(x, "squawk")
        s = str(x).strip()
        if not re.fullmatch(r"[0-7]{1,4}", s):
            raise ValueError(f"not a squawk (1-4 octal digits, quote it in YAML): {x!r}")
        out.append(int(s))
    if not out:
        raise ValueError("empty list of squawks")
    return out


def _squawk_strings(v: list[int]) -> list[str]:
    return [f"{x:04d}" for x in v]


Squawks = Annotated[list[int], BeforeValidator(_as_squawks), PlainSerializer(_squawk_strings)]


def _as_events(v: Any) -> list[str]:
    items = v if isinstance(v, list | tuple) else [v]
    out = []
    for x in items:
        if not isinstance(x, str):
            raise ValueError(f"event type must be a string: {x!r}")
        key = re.sub(r"[\s\-]+", "_", x.strip().lower())
        key = _EVENT_ALIASES.get(key, key)
        if key not in EVENT_TYPES:
            raise ValueError(
                f"unknown event type {x!r}; expected one of {', '.join(EVENT_TYPES)} "
                "(geofence crossings are the 'enters' and 'leaves' conditions)"
            )
        out.append(key)
    if not out:
        raise ValueError("empty list of event types")
    return out


EventTypes = Annotated[list[str], BeforeValidator(_as_events)]


def normalise_registration(reg: str) -> str:
    """Upper case without dashes and spaces: 'ra-86496' → 'RA86496'."""
    return reg.strip().upper().replace("-", "").replace(" ", "")


# --------------------------------------------------------------------------- geometry, time


class Geofence(BaseModel):
    """A circle around a point or an airport, or a polygon of ``[lat, lon]`` vertices.

    Polygons are tested in plain latitude/longitude (edges are rhumb-ish straight lines in
    that plane, fine for areas up to a few hundred km); one crossing the antimeridian is
    unwrapped to continuous longitudes.
    """

    model_config = ConfigDict(extra="forbid")

    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    airport: str | None = None
    radius_nm: float | None = Field(None, gt=0)
    radius_km: float | None = Field(None, gt=0)
    polygon: list[tuple[float, float]] | None = None

    @model_validator(mode="after")
    def _shape(self) -> Geofence:
        point = self.lat is not None or self.lon is not None
        shapes = int(point) + int(self.airport is not None) + int(self.polygon is not None)
        if shapes != 1:
            raise ValueError("a geofence is exactly one of: lat+lon+radius, airport+radius, "
                             "polygon")
        if point and (self.lat is None or self.lon is None):
            raise ValueError("a point needs both lat and lon")
        if self.polygon is not None:
            if self.radius_nm is not None or self.radius_km is not None:
                raise ValueError("a polygon takes no radius")
            if len(self.polygon) < 3:
                raise ValueError("a polygon needs at least 3 vertices")
            for lat, lon in self.polygon:
                if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                    raise ValueError(f"polygon vertex out of range: [{lat}, {lon}] "
                                     "(vertices are [lat, lon])")
        else:
            if (self.radius_nm is None) == (self.radius_km is None):
                raise ValueError("a circle needs radius_nm or radius_km (one of them)")
        if self.airport is not None:
            from tailwatch.reference.airports import airport

            try:
                airport(self.airport)
            except KeyError as e:
                raise ValueError(f"unknown airport ICAO code {self.airport!r}") from e
            self.airport = self.airport.strip().upper()
        return self

    @property
    def radius_m(self) -> float:
        if self.radius_nm is not None:
            return self.radius_nm * 1852.0
        if self.radius_km is not None:
            return self.radius_km * 1000.0
        return math.nan

    def center(self) -> tuple[float, float]:
        """(lat, lon) of a circle's centre (an airport's reference point)."""
        if self.airport is not None:
            from tailwatch.reference.airports import airport

            a = airport(self.airport)
            return a.lat_deg, a.lon_deg
        if self.lat is None or self.lon is None:
            raise ValueError("a polygon has no centre")
        return self.lat, self.lon

    def describe(self) -> str:
        if self.polygon is not None:
            return f"polygon of {len(self.polygon)} vertices"
        r = f"{self.radius_nm:g} NM" if self.radius_nm is not None else f"{self.radius_km:g} km"
        where = self.airport if self.airport is not None else f"{self.lat:.4f},{self.lon:.4f}"
        return f"{r} around {where}"


GeofenceRef = str | Geofence
"""A geofence, or the name of one in the document's ``geofences``."""


class AltitudeBand(BaseModel):
    """Barometric altitude between ``min`` and ``max`` feet (either may be left out)."""

    model_config = ConfigDict(extra="forbid")
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _order(self) -> AltitudeBand:
        if self.min is None and self.max is None:
            raise ValueError("an altitude band needs min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("altitude band: min > max")
        return self


class DailyWindow(BaseModel):
    """A time of day range; ``start`` > ``end`` wraps over midnight (22:00-06:00)."""

    model_config = ConfigDict(extra="forbid")
    start: dt.time
    end: dt.time


class TimeWindow(BaseModel):
    """When a rule applies: absolute bounds and/or times of day and weekdays in ``tz``."""

    model_config = ConfigDict(extra="forbid")
    after: dt.datetime | None = None
    before: dt.datetime | None = None
    daily: DailyWindow | None = None
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] | None = None
    tz: str = "UTC"

    @field_validator("weekdays", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list):
            return [str(x).strip().lower()[:3] for x in v]
        return v

    @field_validator("tz")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r}") from e
        return v

    @model_validator(mode="after")
    def _any(self) -> TimeWindow:
        if self.after is None and self.before is None and self.daily is None and (
            self.weekdays is None
        ):
            raise ValueError("a time window needs after, before, daily or weekdays")
        return self

    def bounds_s(self) -> tuple[float, float]:
        """(after, before) as UNIX seconds (naive datetimes are read in ``tz``)."""
        def conv(d: dt.datetime | None, default: float) -> float:
            if d is None:
                return default
            if d.tzinfo is None:
                d = d.replace(tzinfo=ZoneInfo(self.tz))
            return d.timestamp()

        return conv(self.after, -math.inf), conv(self.before, math.inf)

    def weekday_numbers(self) -> list[int]:
        return [_WEEKDAYS.index(w) for w in self.weekdays or []]


# --------------------------------------------------------------------------- conditions


class Condition(BaseModel):
    """What a rule matches. Every key that is set must hold; see docs/alerts.md."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    all_: list[Condition] | None = Field(None, alias="all")
    any_: list[Condition] | None = Field(None, alias="any")
    not_: Condition | None = Field(None, alias="not")

    icao24: Icaos | None = None
    registration: Text | None = None
    typecode: Text | None = None
    operator: Text | None = None
    country: Text | None = None
    military: bool | None = None
    interesting: bool | None = None
    callsign: Text | None = None
    squawk: Squawks | None = None
    altitude_ft: AltitudeBand | None = None
    on_ground: bool | None = None
    within: GeofenceRef | None = None
    gnss_level: Literal["low", "high"] | None = None
    enters: GeofenceRef | None = None
    leaves: GeofenceRef | None = None
    event: EventTypes | None = None
    airport: Text | None = None
    airport_country: Text | None = None
    time: TimeWindow | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not self.set_keys():
            raise ValueError("empty condition: it would match everything")
        for name in ("all_", "any_"):
            v = getattr(self, name)
            if v is not None and not v:
                raise ValueError(f"empty '{name.rstrip('_')}' list")
        return self

    def set_keys(self) -> list[str]:
        """The keys set on this condition (combinators as all/any/not)."""
        return [
            (k.rstrip("_"))
            for k in type(self).model_fields
            if getattr(self, k) is not None
        ]

    def walk(self) -> Iterator[Condition]:
        """This condition and every nested one."""
        yield self
        for sub in (self.all_ or []) + (self.any_ or []):
            yield from sub.walk()
        if self.not_ is not None:
            yield from self.not_.walk()

    def all_keys(self) -> set[str]:
        return {k for c in self.walk() for k in c.set_keys()} - {"all", "any", "not"}

    def geofence_refs(self) -> set[str]:
        return {
            g
            for c in self.walk()
            for g in (c.within, c.enters, c.leaves)
            if isinstance(g, str)
        }


# --------------------------------------------------------------------------- sinks


def _check_whsec(secret: str) -> str:
    if not secret.startswith("whsec_"):
        raise ValueError("a webhook secret is 'whsec_' followed by base64 (Standard Webhooks)")
    try:
        key = base64.b64decode(secret[6:], validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError("the webhook secret after 'whsec_' is not valid base64") from e
    if not 24 <= len(key) <= 64:
        raise ValueError("the webhook secret must hold 24 to 64 bytes")
    return secret


class WebhookSinkConfig(BaseModel):
    """POST each alert as JSON, signed as Standard Webhooks (HMAC-SHA256)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["webhook"]
    url: str
    secret: str | None = Field(None, repr=False)
    secret_env: str | None = None
    timeout_s: float | None = Field(None, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"a webhook URL is http(s)://host/...: {v!r}")
        return v

    @field_validator("secret")
    @classmethod
    def _secret(cls, v: str | None) -> str | None:
        return None if v is None else _check_whsec(v)

    @model_validator(mode="after")
    def _one_secret(self) -> WebhookSinkConfig:
        if (self.secret is None) == (self.secret_env is None):
            raise ValueError("a webhook needs secret or secret_env (one of them)")
        return self

    def resolve_secret(self) -> str:
        if self.secret is not None:
            return self.secret
        assert self.secret_env is not None
        value = os.environ.get(self.secret_env, "")
        if not value:
            raise ConfigError(f"environment variable {self.secret_env} (webhook secret) is "
                              "not set")
        try:
            return _check_whsec(value)
        except ValueError as e:
            raise ConfigError(f"{self.secret_env}: {e}") from e


class AppriseSinkConfig(BaseModel):
    """Notify through Apprise (email, Telegram, Slack, Discord, ntfy, MQTT, ...)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["apprise"]
    url: str | None = Field(None, repr=False)
    url_env: str | None = None

    @model_validator(mode="after")
    def _one_url(self) -> AppriseSinkConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("an apprise sink needs url or url_env (one of them)")
        return self

    def resolve_url(self) -> str:
        if self.url is not None:
            return self.url
        assert self.url_env is not None
        value = os.environ.get(self.url_env, "")
        if not value:
            raise ConfigError(f"environment variable {self.url_env} (Apprise URL) is not set")
        return value


class LogSinkConfig(BaseModel):
    """Write alerts to the ``tailwatch.alert`` logger."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["log"]
    level: Literal["debug", "info", "warning", "error"] = "warning"


class ConsoleSinkConfig(BaseModel):
    """Print one line per alert on standard output."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["console"]


class FileSinkConfig(BaseModel):
    """Append each alert as a JSON line to a file."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["file"]
    path: str


SinkConfig = Annotated[
    WebhookSinkConfig | AppriseSinkConfig | LogSinkConfig | ConsoleSinkConfig | FileSinkConfig,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------------- rules


class Rule(BaseModel):
    """One alert rule."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_ID)
    name: str = ""
    description: str = ""
    enabled: bool = True
    stream: Literal["auto", "events", "positions"] = "auto"
    match: Condition
    cooldown: Annotated[float, BeforeValidator(parse_duration_s)] = 3600.0
    severity: Literal["info", "warning", "critical"] = "info"
    sinks: list[str] | None = None
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _stream(self) -> Rule:
        keys = self.match.all_keys()
        ev = sorted(keys & EVENT_ONLY_KEYS)
        pos = sorted(keys & POSITION_ONLY_KEYS)
        if ev and pos:
            raise ValueError(
                f"rule {self.id}: event conditions {ev} and position conditions {pos} cannot "
                "be combined (events and positions are separate streams)"
            )
        if self.stream == "events" and pos:
            raise ValueError(f"rule {self.id}: {pos} only apply to positions")
        if self.stream == "positions" and ev:
            raise ValueError(f"rule {self.id}: {ev} only apply to events")
        return self

    @property
    def cooldown_s(self) -> float:
        return float(self.cooldown)

    @property
    def effective_stream(self) -> Literal["events", "positions"]:
        """Events when the rule says so or names an event-only key, else positions."""
        if self.stream != "auto":
            return self.stream
        return "events" if self.match.all_keys() & EVENT_ONLY_KEYS else "positions"

    @property
    def title(self) -> str:
        return self.name or self.id


class RuleSet(BaseModel):
    """A rules document: geofences, sinks and rules."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    geofences: dict[str, Geofence] = Field(default_factory=dict)
    sinks: dict[str, SinkConfig] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> RuleSet:
        seen: set[str] = set()
        for r in self.rules:
            if r.id in seen:
                raise ValueError(f"duplicate rule id {r.id!r}")
            seen.add(r.id)
            missing = sorted(r.match.geofence_refs() - set(self.geofences))
            if missing:
                raise ValueError(f"rule {r.id}: unknown geofence(s) {missing}")
            unknown = sorted(set(r.sinks or []) - set(self.sinks))
            if unknown:
                raise ValueError(f"rule {r.id}: unknown sink(s) {unknown}")
        for name in self.sinks:
            if not re.fullmatch(_ID, name):
                raise ValueError(f"bad sink name {name!r}")
        return self

    def geofence(self, ref: GeofenceRef) -> Geofence:
        return self.geofences[ref] if isinstance(ref, str) else ref

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def enabled_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]

    def sinks_of(self, rule: Rule) -> list[str]:
        """Sinks a rule delivers to: its own list, or every sink of the document."""
        return list(rule.sinks) if rule.sinks is not None else list(self.sinks)


# --------------------------------------------------------------------------- loading


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core booleans and integers (no yes/no/on/off, no octal 0700,
    no sexagesimal 22:00)."""


_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in (_BOOL, _INT)]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Yaml12Loader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)


def _parse_text(text: str, fmt: str, where: str) -> Any:
    errors: list[str] = []
    if fmt in ("auto", "json") and text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            if fmt == "json":
                raise ConfigError(f"{where}: bad JSON: {e}") from e
            errors.append(f"JSON: {e}")
    if fmt in ("auto", "toml"):
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            if fmt == "toml":
                raise ConfigError(f"{where}: bad TOML: {e}") from e
            errors.append(f"TOML: {e}")
    if fmt in ("auto", "yaml"):
        try:
            return yaml.load(text, Loader=_Yaml12Loader)  # a SafeLoader
        except yaml.YAMLError as e:
            if fmt == "yaml":
                raise ConfigError(f"{where}: bad YAML: {e}") from e
            errors.append(f"YAML: {e}")
    raise ConfigError(f"{where}: neither TOML nor YAML: " + "; ".join(errors))


def _rule_id_at(data: Any, loc: tuple[Any, ...]) -> str | None:
    """The id of the rule an error location ``rules.<i>...`` points into, if it has one."""
    if len(loc) < 2 or loc[0] != "rules" or not isinstance(loc[1], int):
        return None
    rules = data.get("rules") if isinstance(data, Mapping) else None
    if isinstance(rules, list) and 0 <= loc[1] < len(rules):
        rid = rules[loc[1]].get("id") if isinstance(rules[loc[1]], Mapping) else None
        return str(rid) if rid is not None else None
    return None


def _format_errors(e: ValidationError, data: Any = None) -> str:
    """One line per problem: its place (``rules.1.match.squawk``, with the rule's id when
    ``data``, the validated document, gives it) and the message."""
    lines = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"] if not str(x).startswith("function-"))
        rid = _rule_id_at(data, tuple(err["loc"]))
        where = f"{loc}{f' (rule {rid})' if rid else ''}: " if loc else ""
        lines.append(f"  {where}{err['msg']}")
    return "\n".join(lines)


def load_rules(
    source: str | bytes | Path,
    *,
    format: Literal["auto", "toml", "yaml", "json"] = "auto",
) -> RuleSet:
    """Read a rules document from a file (a :class:`~pathlib.Path`, or a string naming a
    ``.toml``/``.yaml``/``.yml``/``.json`` file) or from its text.

    The text is TOML, YAML or JSON (``format="auto"``: by the file's extension, else tried
    in that order). A document that is a list is taken as the list of rules. Raises
    :class:`~tailwatch.core.errors.ConfigError` with every problem found.
    """
    where = "<rules>"
    fmt: str = format
    if isinstance(source, str) and "\n" not in source and re.search(
        r"\.(toml|ya?ml|json)$", source.strip(), re.IGNORECASE
    ):
        source = Path(source.strip())
    if isinstance(source, Path):
        where = str(source)
        try:
            raw = source.read_bytes()
        except OSError as e:
            raise ConfigError(f"cannot read rules {source}: {e}") from e
        if fmt == "auto":
            ext = source.suffix.lower()
            fmt = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}.get(
                ext, "auto"
            )
    else:
        raw = source.encode() if isinstance(source, str) else source
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{where}: not UTF-8: {e}") from e
    data = _parse_text(text, fmt, where)
    return rules_from_data(data, where)


def rules_from_data(data: Any, where: str = "<rules>") -> RuleSet:
    """Validate an already parsed document (a mapping, or a list of rules)."""
    if data is None:
        data = {}
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: a rules document is a mapping with 'rules'")
    try:
        return RuleSet.model_validate(dict(data))
    except ValidationError as e:
        raise ConfigError(f"{where}: invalid rules:\n{_format_errors(e, data)}") from e
