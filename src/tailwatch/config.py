"""Settings, declared once: default, type and help for each, read from a TOML file and from
``TAILWATCH_*`` environment variables (nested with ``__``, e.g. ``TAILWATCH_SERVE__PORT``).

Precedence (highest first): explicit arguments, environment variables, the TOML file named by
``--config`` or ``TAILWATCH_CONFIG``, then ``$XDG_CONFIG_HOME/tailwatch/config.toml``, then
the defaults below. docs/configuration.md is generated from this module
(``tailwatch config --markdown``) and a test checks it is current.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from tailwatch.alert.settings import AlertSettings
from tailwatch.core.errors import ConfigError
from tailwatch.gnss.params import GnssParams


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


def default_data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "tailwatch"


def default_config_file() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "tailwatch" / "config.toml"


class DecodeSettings(BaseModel):
    fix_errors: bool = Field(
        True, description="Correct single-bit errors in DF17/18 (never two-bit)."
    )
    batch_size: int = Field(65536, ge=1, description="Frames per batch read from files.")


class StoreSettings(BaseModel):
    db: str = Field(
        "",
        description="History store: a DuckDB file path, clickhouse+chdb:///path or "
        "clickhouse://host:8123/db. Empty: tailwatch.duckdb in the data directory.",
    )
    duckdb_memory_limit: str = Field(
        "2GB", description="Cap of DuckDB's memory in run, replay, import and db (DuckDB spills "
        "to disk past it), e.g. '4GB'; empty: DuckDB's default (up to 80 % of the RAM, which a "
        "long live run fills).",
    )


class ServeSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(8080, ge=0, le=65535, description="HTTP port.")
    token: str = Field("", description="Token required for anything that writes or administers.")
    cors_origins: list[str] = Field(default_factory=list, description="CORS allow-list.")
    show_pia_ladd: bool = Field(
        False, description="Show PIA/LADD-flagged aircraft in public views."
    )
    tile_url: str = Field(
        "", description="Raster tile URL template for the map (empty: offline base map only)."
    )
    rate_per_s: float = Field(
        50.0, gt=0, description="Requests per second each client address may make, sustained "
        "(websocket connections count as requests); past it: 429."
    )
    burst: int = Field(200, ge=1, description="Requests a client address may make at once.")
    max_body_bytes: int = Field(
        64 * 1024, ge=0, description="Largest request body of a write (bytes); past it: 413."
    )
    max_query_bytes: int = Field(
        8 * 1024, ge=0, description="Longest query string (bytes); past it: 414."
    )
    max_clients_tracked: int = Field(
        10_000, ge=1, description="Client addresses whose request rate is remembered "
        "(least recently seen forgotten first)."
    )
    ws_queue: int = Field(
        8, ge=1, description="Live-feed messages a websocket client may lag behind before it "
        "is dropped."
    )
    max_ws_clients: int = Field(256, ge=0, description="Most websocket clients at once.")
    max_connections: int = Field(
        2048, ge=1, description="Open connections at most; past it the oldest idle one is "
        "closed to make room (only when all are busy is a new one refused)."
    )
    max_connections_per_client: int = Field(
        128, ge=1, description="Open connections of one client address at most; past it that "
        "address's oldest idle connection is closed to make room."
    )
    header_timeout_s: float = Field(
        10.0, gt=0, description="A connection whose request headers are not complete this "
        "long after it opened (or after its last answer) is closed."
    )
    idle_timeout_s: float = Field(
        15.0, gt=0, description="A keep-alive connection idle this long after an answer is "
        "closed."
    )
    max_header_bytes: int = Field(
        16 * 1024, ge=1024, description="Largest request line and headers (bytes); past it "
        "the request is refused (400) and the connection closed."
    )


class ReferenceSettings(BaseModel):
    aircraft_db_url: str = Field(
        "https://raw.githubusercontent.com/wiedehopf/tar1090-db/csv/aircraft.csv.gz",
        description="Where `tailwatch db update` downloads the aircraft database.",
    )
    annotations: str = Field(
        "", description="Local annotations file (CSV or TOML) that adds facts per airframe."
    )


class OpenSkySettings(BaseModel):
    client_id: str = Field("", description="OpenSky OAuth2 client id.")
    client_secret: str = Field("", description="OpenSky OAuth2 client secret.")


class AggregatorSettings(BaseModel):
    api_key: str = Field(
        "", description="API key for ADSBx-v2-style aggregator APIs that need one."
    )
    api_key_header: str = Field(
        "api-auth",
        description="HTTP header carrying the key (ADS-B Exchange: api-auth; RapidAPI: "
        "X-RapidAPI-Key; others: x-api-key).",
    )
    api_key_hosts: list[str] = Field(
        default_factory=lambda: ["adsbexchange.com"],
        description="Hosts (and their subdomains) the key is sent to; never any other.",
    )


class Settings(BaseSettings):
    """Every tailwatch setting."""

    model_config = SettingsConfigDict(
        env_prefix="TAILWATCH_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Field(default_factory=default_data_dir, description="Data directory.")
    log_level: str = Field("INFO", description="Logging level.")
    decode: DecodeSettings = Field(default_factory=DecodeSettings)  # type: ignore[arg-type]
    store: StoreSettings = Field(default_factory=StoreSettings)  # type: ignore[arg-type]
    serve: ServeSettings = Field(default_factory=ServeSettings)  # type: ignore[arg-type]
    reference: ReferenceSettings = Field(default_factory=ReferenceSettings)  # type: ignore[arg-type]
    opensky: OpenSkySettings = Field(default_factory=OpenSkySettings)  # type: ignore[arg-type]
    alerts: AlertSettings = Field(default_factory=AlertSettings)  # type: ignore[arg-type]
    aggregator: AggregatorSettings = Field(
        default_factory=AggregatorSettings)  # type: ignore[arg-type]
    gnss: GnssParams = Field(default_factory=GnssParams)  # type: ignore[arg-type]

    def db_url(self) -> str:
        return self.store.db or str(self.data_dir / "tailwatch.duckdb")


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from the TOML file (explicit, $TAILWATCH_CONFIG, or the XDG default when it
    exists), environment variables and ``overrides``."""
    explicit = path or os.environ.get("TAILWATCH_CONFIG")
    file = Path(explicit) if explicit else default_config_file()
    data: dict[str, Any] = {}
    if file.exists():
        try:
            data = tomllib.loads(file.read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"cannot read settings file {file}: {e}") from e
    elif explicit:
        raise ConfigError(f"settings file {file} does not exist")
    env = Settings()  # environment variables over defaults
    merged = _merge(data, env.model_dump(exclude_unset=True))
    merged = _merge(merged, overrides)
    try:
        return Settings.model_validate(merged)
    except ValidationError as e:
        raise ConfigError(f"invalid settings: {e}") from e


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def settings_markdown() -> str:
    """docs/configuration.md's table of settings, generated from the declarations."""
    lines = [
        "| setting | environment variable | default | meaning |",
        "|---|---|---|---|",
    ]

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, f in model.model_fields.items():
            ann = f.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, f"{prefix}{name}.")
                continue
            key = f"{prefix}{name}"
            env = "TAILWATCH_" + key.upper().replace(".", "__")
            if f.default_factory is not None:
                default = "(computed)" if name == "data_dir" else repr(f.default_factory())  # type: ignore[call-arg]
            else:
                default = repr(f.default)
            lines.append(f"| `{key}` | `{env}` | `{default}` | {f.description or ''} |")

    walk(Settings, "")
    return "\n".join(lines) + "\n"
