"""One URL syntax for every feed source (see docs/sources.md).

=====================================================  ==========================================
URL                                                    what tailwatch does
=====================================================  ==========================================
``beast+tcp://host:30005``                             connects, reads Beast binary
``beast+listen://127.0.0.1:30004``                     listens; receivers push Beast to it
``avr+tcp://host:30002``, ``avr+listen://…:30001``     the same for AVR text (``*…;`` lines)
``sbs+tcp://host:30003``, ``sbs+listen://…``           the same for SBS/BaseStation CSV
``readsb+http://host/data/aircraft.json``              polls a readsb/dump1090 aircraft.json
``opensky+https://opensky-network.org/api/states/all`` polls OpenSky's REST states (bbox params)
``adsbx+https://api.adsb.lol/v2/point/lat/lon/r``      polls an ADSBx-v2-style aggregator API
``file:///path/rec.bin?format=beast&speed=10``         replays a file as if it were live
=====================================================  ==========================================

Query parameters that tailwatch reads itself (and strips before any HTTP request):

* ``rx=name`` — the receiver's name (default: derived from the URL); ``lat=``, ``lon=`` — its
  position (degrees), used for surface and range checks; ``alt_m=`` — its antenna's height
  above the WGS84 ellipsoid (metres), which multilateration needs (docs/mlat.md);
* ``interval=S`` — poll period of HTTP sources (never below the API's minimum);
* ``redistribute=1`` — allow re-serving a state-vector source's positions where its terms do
  not forbid it (they do for OpenSky, ADS-B Exchange and airplanes.live: refused);
* ``format=`` and ``speed=`` (``1``, ``10``, ``max``) — file sources;
* ``time=feed`` — SBS sources: trust the feed's own date/time fields (default: arrival time,
  because BaseStation times carry no time zone).

Every source is a receiver: it gets a uint16 id (1, 2, … in the order given) and a 64-bit id
(the first 8 bytes of BLAKE2b of its name) for the Beast receiver-id extension.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from tailwatch.core.errors import ConfigError

__all__ = [
    "API_POLICIES",
    "ApiPolicy",
    "SourceSpec",
    "parse_address",
    "parse_source_url",
    "receiver_id64",
]

Kind = Literal["beast", "avr", "sbs", "readsb", "opensky", "adsbx", "file"]
Mode = Literal["connect", "listen", "poll", "file"]

FRAME_KINDS = frozenset({"beast", "avr", "file"})
STREAM_KINDS = frozenset({"beast", "avr", "sbs"})
POLL_KINDS = frozenset({"readsb", "opensky", "adsbx"})
_OWN_PARAMS = frozenset({"rx", "lat", "lon", "alt_m", "interval", "redistribute", "format",
                         "speed", "time", "token_url"})
_FILE_FORMATS = ("auto", "beast", "avr", "hexcsv", "jsonl")


@dataclass(frozen=True, slots=True)
class ApiPolicy:
    """What a public API allows: poll periods and whether its data may be re-served."""

    host_suffix: str
    min_interval_s: float
    default_interval_s: float
    #: False: the terms forbid re-serving (never allowed); None: the user decides with
    #: ``redistribute=1`` (off by default); True: allowed (with attribution).
    redistribute: bool | None
    attribution: str
    terms: str


#: Known public APIs. Intervals follow their published limits: OpenSky anonymous users get
#: 400 credits a day (one small-box query every 216 s) and 10 s resolution; airplanes.live
#: asks for at most one request per second; adsb.lol has dynamic limits (we stay at 5 s).
API_POLICIES: tuple[ApiPolicy, ...] = (
    ApiPolicy("opensky-network.org", 10.0, 300.0, False, "The OpenSky Network",
              "https://opensky-network.org/about/terms-of-use (no redistribution)"),
    ApiPolicy("adsbexchange.com", 1.0, 5.0, False, "ADS-B Exchange",
              "https://www.adsbexchange.com/legal-and-privacy/ (no redistribution)"),
    ApiPolicy("airplanes.live", 1.0, 5.0, False, "airplanes.live",
              "https://airplanes.live/api-guide/ (non-commercial use, no redistribution)"),
    ApiPolicy("adsb.lol", 1.0, 5.0, True, "adsb.lol (ODbL 1.0)",
              "https://api.adsb.lol/docs (data under ODbL: attribute, share alike)"),
)
_UNKNOWN_API = ApiPolicy("", 0.2, 5.0, None, "", "unknown: re-served only with redistribute=1")


def receiver_id64(name: str) -> int:
    """The 64-bit receiver id of a named source (BLAKE2b, first 8 bytes, never 0)."""
    v = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")
    return v or 1


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A parsed source URL."""

    url: str
    kind: Kind
    mode: Mode
    name: str
    host: str = ""
    port: int = 0
    path: str = ""  # file path
    http_url: str = ""  # the URL actually requested (poll sources), own params stripped
    lat: float = math.nan
    lon: float = math.nan
    alt_m: float = math.nan  # antenna height above the WGS84 ellipsoid (MLAT)
    interval_s: float = 0.0
    redistribute: bool = True
    attribution: str = ""
    file_format: str = "auto"
    speed: float = 1.0  # file sources: 0 = as fast as possible
    feed_time: bool = False
    params: dict[str, str] = field(default_factory=dict)

    @property
    def carries_frames(self) -> bool:
        """True when the source yields raw frames (Beast, AVR, files), False for decoded
        feeds (SBS) and state vectors (readsb JSON, OpenSky, aggregators)."""
        return self.kind in FRAME_KINDS

    @property
    def id64(self) -> int:
        return receiver_id64(self.name)

    @property
    def position(self) -> tuple[float, float] | None:
        if math.isnan(self.lat) or math.isnan(self.lon):
            return None
        return (self.lat, self.lon)


def parse_address(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``host:port``, ``:port``, ``port`` or ``[v6]:port`` → (host, port)."""
    s = text.strip()
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        port_s = rest.lstrip(":")
    elif s.count(":") == 1:
        host, _, port_s = s.partition(":")
    elif s.isdigit():
        host, port_s = "", s
    else:
        raise ConfigError(f"not an address (host:port): {text!r}")
    try:
        port = int(port_s)
    except ValueError as e:
        raise ConfigError(f"bad port in {text!r}") from e
    if not 0 <= port <= 65535:
        raise ConfigError(f"port out of range in {text!r}")
    return (host or default_host), port


def _policy(host: str) -> ApiPolicy:
    h = host.lower()
    for p in API_POLICIES:
        if h == p.host_suffix or h.endswith("." + p.host_suffix):
            return p
    return _UNKNOWN_API


def _float(params: dict[str, str], key: str, url: str) -> float:
    v = params.get(key)
    if v is None or v == "":
        return math.nan
    try:
        return float(v)
    except ValueError as e:
        raise ConfigError(f"{key}={v!r} is not a number in {url}") from e


def _flag(params: dict[str, str], key: str) -> bool | None:
    v = params.get(key)
    if v is None:
        return None
    return v.lower() in ("1", "true", "yes", "on")


def parse_source_url(url: str) -> SourceSpec:
    """Parse a source URL (see the module docstring); raises :class:`ConfigError`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    lat = _float(params, "lat", url)
    lon = _float(params, "lon", url)
    if not math.isnan(lat) and not -90 <= lat <= 90:
        raise ConfigError(f"lat={lat} out of range in {url}")
    if not math.isnan(lon) and not -180 <= lon <= 180:
        raise ConfigError(f"lon={lon} out of range in {url}")
    alt_m = _float(params, "alt_m", url)
    if not math.isnan(alt_m) and not -500 <= alt_m <= 10_000:
        raise ConfigError(f"alt_m={alt_m} out of range (-500..10000 m) in {url}")
    rx = params.get("rx", "")
    redistribute = _flag(params, "redistribute")
    if scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f"file URLs name a local path (file:///path): {url}")
        if not path:
            raise ConfigError(f"no path in {url}")
        fmt = params.get("format", "auto")
        if fmt not in _FILE_FORMATS:
            raise ConfigError(f"format={fmt!r} in {url}; expected one of {_FILE_FORMATS}")
        speed_s = params.get("speed", "1")
        if speed_s == "max":
            speed = 0.0
        else:
            try:
                speed = float(speed_s)
            except ValueError as e:
                raise ConfigError(f"speed={speed_s!r} in {url}: a number or 'max'") from e
            if not speed > 0:
                raise ConfigError(f"speed must be > 0 (or 'max') in {url}")
        return SourceSpec(url, "file", "file", rx or os.path.basename(path), path=path,
                          lat=lat, lon=lon, alt_m=alt_m, file_format=fmt, speed=speed,
                          redistribute=redistribute is not False, params=params)
    kind_s, _, transport = scheme.partition("+")
    if kind_s in ("beast", "avr", "sbs"):
        if transport not in ("tcp", "listen"):
            raise ConfigError(f"{kind_s} sources are {kind_s}+tcp:// (connect) or "
                              f"{kind_s}+listen:// (accept pushes): {url}")
        host = parts.hostname or ("127.0.0.1" if transport == "listen" else "")
        if not host:
            raise ConfigError(f"no host in {url}")
        try:
            port = parts.port
        except ValueError as e:
            raise ConfigError(f"bad port in {url}") from e
        if port is None:
            raise ConfigError(f"no port in {url}")
        mode: Mode = "connect" if transport == "tcp" else "listen"
        name = rx or f"{kind_s}:{host}:{port}"
        return SourceSpec(url, kind_s, mode, name, host=host, port=port,  # type: ignore[arg-type]
                          lat=lat, lon=lon, alt_m=alt_m,
                          feed_time=params.get("time") == "feed",
                          redistribute=redistribute is not False, params=params)
    if kind_s in ("readsb", "opensky", "adsbx"):
        if transport not in ("http", "https"):
            raise ConfigError(f"{kind_s} sources are {kind_s}+https:// or {kind_s}+http://: "
                              f"{url}")
        host = parts.hostname or ""
        if not host:
            raise ConfigError(f"no host in {url}")
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                           if k not in _OWN_PARAMS])
        http_url = urlunsplit((transport, parts.netloc, parts.path, query, ""))
        if kind_s == "readsb":
            policy = ApiPolicy(host, 0.2, 1.0, None, "", "your own receiver")
            allowed = redistribute is not False  # your own receiver: re-served unless told
        else:
            policy = _policy(host)
            if policy.redistribute is False and redistribute:
                raise ConfigError(
                    f"{host}'s terms forbid re-serving its data ({policy.terms}); "
                    f"remove redistribute=1 from {url}"
                )
            allowed = bool(policy.redistribute) if redistribute is None else redistribute
            allowed = allowed and policy.redistribute is not False
        interval = _float(params, "interval", url)
        if math.isnan(interval):
            interval = policy.default_interval_s
        interval = max(interval, policy.min_interval_s)
        name = rx or f"{kind_s}:{host}"
        return SourceSpec(url, kind_s, "poll", name, host=host,  # type: ignore[arg-type]
                          port=parts.port or (443 if transport == "https" else 80),
                          http_url=http_url, lat=lat, lon=lon, alt_m=alt_m, interval_s=interval,
                          redistribute=allowed, attribution=policy.attribution, params=params)
    raise ConfigError(
        f"unknown source URL {url!r}: expected beast+tcp://, beast+listen://, avr+tcp://, "
        "avr+listen://, sbs+tcp://, readsb+http(s)://, opensky+https://, adsbx+https:// "
        "or file:///"
    )
