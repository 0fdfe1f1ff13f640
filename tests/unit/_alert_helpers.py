"""Shared builders for the alert tests: the documented rule files, synthetic positions and
events (numpy), and the identity resolver of the scenario."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tailwatch.alert import RuleSet, load_rules
from tailwatch.alert.model import Alert
from tailwatch.core.schema import EVENT_FIELDS, POSITION_FIELDS, empty_columns
from tailwatch.reference.airports import airport
from tailwatch.reference.geo import destination_deg
from tailwatch.reference.identity import Annotation, Annotations, identify_many

DOCS = Path(__file__).parents[2] / "docs" / "alerts.md"
_BLOCK = re.compile(r"<!-- rules: (?P<name>[\w.-]+) -->\n```(?P<lang>\w+)\n(?P<body>.*?)\n```",
                    re.DOTALL)  # fmt: skip


def doc_rule_files() -> dict[str, str]:
    """The rule files shown in docs/alerts.md, by file name."""
    return {m["name"]: m["body"] + "\n" for m in _BLOCK.finditer(DOCS.read_text())}


def write_doc_rules(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, body in doc_rule_files().items():
        p = tmp_path / name
        p.write_text(body)
        out[name] = p
    return out


T0 = 1_750_000_000.0  # 2025-06-15T15:06:40Z
PARIS = (48.8566, 2.3522)
IL62, RA_CIVIL, DE_7700, ES_7700, FR_7600, US_MIL = (
    0x1551E0, 0x155001, 0x3C6444, 0x4CA123, 0x3C4B26, 0xAE1234
)  # fmt: skip

ANNOTATIONS = Annotations(
    [Annotation(icao24=IL62, typecode="IL62", operator="Russian Air Force", military=True)]
)


def resolver(addresses: np.ndarray, callsigns: np.ndarray | None) -> pa.Table:
    return identify_many(addresses, callsigns, annotations=ANNOTATIONS)


# --------------------------------------------------------------------------- builders


def track(
    icao: int, t0: float, n: int, dt_s: float, start: tuple[float, float], bearing_deg: float,
    speed_kt: float, *, squawk: int = 1000, altitude_ft: float = 30000.0,
    callsign: bytes = b"",
) -> dict[str, np.ndarray]:  # fmt: skip
    """Positions of one aircraft flying a great circle at constant speed."""
    c = empty_columns(POSITION_FIELDS, n)
    t = t0 + dt_s * np.arange(n)
    dist_m = speed_kt * 1852.0 / 3600.0 * (t - t0)
    lat, lon = destination_deg(start[0], start[1], bearing_deg, dist_m)
    c["t"][:] = t
    c["icao24"][:] = icao
    c["lat"][:] = lat
    c["lon"][:] = lon
    c["altitude_ft"][:] = altitude_ft
    c["squawk"][:] = squawk
    c["callsign"][:] = callsign
    c["on_ground"][:] = 0
    return c


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(out["t"], kind="stable")
    return {k: v[order] for k, v in out.items()}


def take(cols: dict[str, np.ndarray], idx: Any) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in cols.items()}


def events(rows: list[tuple[float, int, str, str, dict[str, Any]]]) -> dict[str, np.ndarray]:
    """Event columns from (t, icao24, type, airport, details) rows."""
    n = len(rows)
    c = empty_columns(EVENT_FIELDS, n)
    c["t"][:] = [r[0] for r in rows]
    c["icao24"][:] = [r[1] for r in rows]
    for name, values in (
        ("flight_id", [f"{r[1]:06x}-{int(r[0]) // 86400}" for r in rows]),
        ("type", [r[2] for r in rows]),
        ("airport", [r[3] for r in rows]),
        ("details", [json.dumps(r[4]) for r in rows]),
    ):
        arr = np.empty(n, dtype=object)
        arr[:] = values
        c[name] = arr
    for i, r in enumerate(rows):
        if r[3]:
            a = airport(r[3])
            c["lat"][i], c["lon"][i] = a.lat_deg, a.lon_deg
    return c


def doc_ruleset(tmp_path: Path) -> RuleSet:
    """The three documented rule files merged into one document."""
    merged: dict[str, Any] = {"geofences": {}, "sinks": {}, "rules": []}
    for p in write_doc_rules(tmp_path).values():
        d = load_rules(p).model_dump(mode="json", by_alias=True, exclude_none=True)
        for k in ("geofences", "sinks"):
            merged[k].update(d[k])
        merged["rules"].extend(d["rules"])
    return RuleSet.model_validate(merged)


def scenario() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Positions and events: the Il-62's trip to Caracas and Havana, a 7700 near Paris,
    and distractors."""
    svmi = airport("SVMI")
    pos = concat([
        # the Il-62 approaching Caracas: 40 positions over 40 min (the watch fires once)
        track(IL62, T0, 40, 60.0, (svmi.lat_deg + 2.0, svmi.lon_deg), 180.0, 250.0,
              callsign=b"RSD321"),
        # a German aircraft squawking 7700 20 NM from Paris for 50 min, every 30 s
        track(DE_7700, T0 + 5.0, 101, 30.0, destination_deg(*PARIS, 90.0, 20 * 1852.0),
              0.0, 5.0, squawk=7700),
        # distractors: 7700 500 NM away, 7600 near Paris, a Russian civil aircraft
        track(ES_7700, T0, 50, 30.0, (40.47, -3.56), 90.0, 200.0, squawk=7700),
        track(FR_7600, T0, 50, 30.0, PARIS, 45.0, 100.0, squawk=7600),
        track(RA_CIVIL, T0, 50, 30.0, (55.97, 37.41), 270.0, 250.0),
    ])  # fmt: skip
    ev = events([
        (T0 - 3600.0, IL62, "first_seen", "", {}),
        (T0 - 3000.0, IL62, "takeoff", "SVMI", {}),  # not a landing
        (T0 + 3600.0, IL62, "landing", "SVMI", {"runway": "10"}),  # fires
        (T0 + 3600.0, RA_CIVIL, "landing", "SVMI", {}),  # not military
        (T0 + 4000.0, US_MIL, "landing", "MUHA", {}),  # not Russian
        (T0 + 9000.0, IL62, "landing", "UUEE", {}),  # not Latin America
        (T0 + 18000.0, IL62, "inferred_stop", "MUHA", {"reason": "gap"}),  # fires
    ])  # fmt: skip
    return pos, ev


def keyset(alerts: list[Alert]) -> set[tuple[str, str, str, float]]:
    return {(a.rule_id, a.icao24, a.what, round(a.t, 3)) for a in alerts}


@contextmanager
def rules_session(tmp_path: Path, rules_text: str, token: str) -> Iterator[Any]:
    """A live session with these rules (written to a file), the web server on a free
    loopback port and the token; closed at the end."""
    from tailwatch.config import ServeSettings, Settings
    from tailwatch.live import LiveSession

    path = tmp_path / "rules.toml"
    path.write_text(rules_text)
    settings = Settings(data_dir=tmp_path / "data", serve=ServeSettings(token=token))
    s = LiveSession(settings, None, detect=False, rules=path, web="127.0.0.1:0")
    try:
        yield s
    finally:
        s.close()
