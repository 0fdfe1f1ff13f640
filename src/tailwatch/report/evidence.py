"""Evidence reports a journalist can publish: pictures, data files, and a summary that says
what was seen, what was inferred and why, with the SHA-256 of every file.

Input is one airframe's history (positions, flights, events, identity) gathered from the store
by :func:`gather`; :func:`write_report` writes the files.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tailwatch import __version__
from tailwatch.core.schema import SOURCE_LABELS
from tailwatch.report.maps import Leg, Place, profile, route_map, segments


def iso(t: float | None) -> str:
    if t is None or t != t:
        return "—"
    return datetime.fromtimestamp(float(t), tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@dataclass
class ReportInput:
    """One airframe's history for a report. ``positions`` are numpy columns of
    core.schema.POSITION_FIELDS sorted by time; flights and events are row dicts with times
    in UTC seconds; ``identity`` maps field → value (registration, typecode, …)."""

    icao24: str
    positions: dict[str, np.ndarray]
    flights: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    identity: dict[str, Any] = field(default_factory=dict)
    receivers: list[str] = field(default_factory=list)


def _airport_place(icao: str, label: str, inferred: bool = False) -> Place | None:
    from tailwatch.reference.airports import airport

    if not icao:
        return None
    try:
        a = airport(icao)
    except KeyError:
        return None
    return Place(a.lat_deg, a.lon_deg, f"{icao} {a.name}\n{label}", inferred)


def _places(inp: ReportInput) -> list[Place]:
    places: dict[str, Place] = {}
    for f in inp.flights:
        for key, tkey, verb in (("origin", "takeoff_t", "dep"), ("destination", "landing_t",
                                                                 "arr")):
            icao = f.get(key) or ""
            t = f.get(tkey)
            label = f"{verb} {iso(t)[5:16]}" if t and t == t else f"{verb} (not seen)"
            conf = f.get(f"{key}_confidence")
            inferred = not (t and t == t) and conf is not None and conf < 1.0
            p = _airport_place(icao, label, inferred)
            if p is not None:
                prev = places.get(icao)
                if prev is not None and not prev.inferred:
                    label = prev.label.split("\n", 1)[1] + "\n" + label
                    p = Place(p.lat, p.lon, f"{icao} {p.label.split(chr(10))[0][5:]}\n{label}",
                              inferred and prev.inferred)
                places[icao] = p
    for e in inp.events:
        if e.get("type") == "inferred_stop" and e.get("airport"):
            p = _airport_place(e["airport"], "probable stop (inferred)", True)
            if p is not None and e["airport"] not in places:
                places[e["airport"]] = p
    return list(places.values())


def _legs(inp: ReportInput) -> list[Leg]:
    """Dashed legs across every gap between seen segments, via inferred stops in the gap."""
    t = inp.positions["t"]
    lat, lon = inp.positions["lat"], inp.positions["lon"]
    segs = segments(t)
    stops = [e for e in inp.events if e.get("type") == "inferred_stop"]
    legs = []
    for a, b in itertools.pairwise(segs):
        t0, t1 = float(t[a.stop - 1]), float(t[b.start])
        via = [(float(e["lat"]), float(e["lon"])) for e in stops
               if e.get("lat") == e.get("lat") and t0 <= float(e.get("t", t0)) <= t1]
        pts = ((float(lat[a.stop - 1]), float(lon[a.stop - 1])), *via,
               (float(lat[b.start]), float(lon[b.start])))
        legs.append(Leg(pts))
    return legs


def _name(inp: ReportInput) -> str:
    idn = inp.identity
    parts = [idn.get("registration") or "", f"({inp.icao24})", idn.get("description")
             or idn.get("typecode") or ""]
    flags = [x for x in (idn.get("country"), "military" if idn.get("military") else "") if x]
    return " ".join(p for p in parts if p) + (f" — {', '.join(flags)}" if flags else "")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_report(inp: ReportInput, out_dir: Path) -> dict[str, str]:
    """Write the report's files into ``out_dir``; returns file name → SHA-256."""
    from tailwatch.serve.export import export_track

    out_dir.mkdir(parents=True, exist_ok=True)
    cols = inp.positions
    t = np.asarray(cols["t"], dtype=np.float64)
    name = _name(inp)
    places = _places(inp)
    legs = _legs(inp)
    basemap = route_map(out_dir / "route.png", np.asarray(cols["lat"]), np.asarray(cols["lon"]),
                        t, title=name, places=places, legs=legs,
                        note=f"tailwatch {__version__}; seen legs solid, inferred legs dashed")
    marks = [(float(e["t"]), f"{e['type']} {e.get('airport') or ''}".strip())
             for e in inp.events if e.get("type") in ("takeoff", "landing")]
    profile(out_dir / "profile.png", t, np.asarray(cols["altitude_ft"], np.float64),
            np.asarray(cols["gs_kt"], np.float64), title=name, marks=marks)
    meta = {"icao24": inp.icao24, "registration": inp.identity.get("registration"),
            "typecode": inp.identity.get("typecode")}
    for fmt, fname in (("geojson", "track.geojson"), ("kml", "track.kml"), ("csv", "track.csv")):
        (out_dir / fname).write_bytes(export_track(cols, fmt, meta))
    files = ["route.png", "profile.png", "track.geojson", "track.kml", "track.csv"]
    digests = {f: _sha256(out_dir / f) for f in files}
    summary = _summary(inp, name, places, legs, digests, basemap)
    (out_dir / "summary.md").write_text(summary.markdown())
    (out_dir / "summary.html").write_text(summary.html())
    return digests


@dataclass
class _Summary:
    title: str
    sections: list[tuple[str, list[str] | tuple[list[str], list[list[str]]]]]

    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for heading, body in self.sections:
            out += [f"## {heading}", ""]
            if isinstance(body, tuple):
                header, rows = body
                out.append("| " + " | ".join(header) + " |")
                out.append("|" + "---|" * len(header))
                out += ["| " + " | ".join(r) + " |" for r in rows]
            else:
                out += body
            out.append("")
        return "\n".join(out)

    def html(self) -> str:
        out = ["<!doctype html><html><head><meta charset='utf-8'>",
               f"<title>{html.escape(self.title)}</title>",
               "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
               "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
               "img{max-width:100%}</style></head><body>",
               f"<h1>{html.escape(self.title)}</h1>",
               "<img src='route.png' alt='route'><img src='profile.png' alt='profile'>"]
        for heading, body in self.sections:
            out.append(f"<h2>{html.escape(heading)}</h2>")
            if isinstance(body, tuple):
                header, rows = body
                out.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header)
                           + "</tr>")
                out += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                        for r in rows]
                out.append("</table>")
            else:
                out += [f"<p>{html.escape(line.lstrip('- '))}</p>" for line in body if line]
        out.append("</body></html>")
        return "\n".join(out)


def _summary(inp: ReportInput, name: str, places: Sequence[Place], legs: Sequence[Leg],
             digests: dict[str, str], basemap: bool) -> _Summary:
    cols = inp.positions
    t = np.asarray(cols["t"], np.float64)
    idn = inp.identity
    ident_rows = [[k, str(idn.get(k) or "—"), str((idn.get("sources") or {}).get(k, ""))]
                  for k in ("registration", "typecode", "description", "operator", "country",
                            "military")]
    flight_rows = []
    for f in inp.flights:
        flight_rows.append([
            f.get("callsign") or "—",
            f"{f.get('origin') or '?'} {_conf(f.get('origin_confidence'))}",
            iso(f.get("takeoff_t")) if f.get("takeoff_t") == f.get("takeoff_t") else
            f"first seen {iso(f.get('first_seen'))}",
            f.get("takeoff_runway") or "—",
            f"{f.get('destination') or '?'} {_conf(f.get('destination_confidence'))}",
            iso(f.get("landing_t")) if f.get("landing_t") == f.get("landing_t") else
            f"last seen {iso(f.get('last_seen'))}",
            f.get("landing_runway") or "—",
        ])
    inferred = []
    for e in inp.events:
        if e.get("type") in ("inferred_stop", "stopover", "leave_coverage", "enter_coverage"):
            details = e.get("details") or "{}"
            inferred.append(f"- {iso(e.get('t'))} {e['type']} {e.get('airport') or ''}: "
                            f"{details if isinstance(details, str) else json.dumps(details)}")
    segs = segments(t)
    seen = [f"- seen {iso(t[s.start])} → {iso(t[s.stop - 1])} ({s.stop - s.start} positions)"
            for s in segs]
    stopovers = [e for e in inp.events if e.get("type") == "stopover"]
    gaps = [_gap_line(float(t[a.stop - 1]), float(t[b.start]), stopovers)
            for a, b in itertools.pairwise(segs)]
    src = Counter(SOURCE_LABELS[int(s)] for s in np.asarray(cols["source"]).tolist()
                  if 0 <= int(s) < len(SOURCE_LABELS))
    data = [f"- {len(t)} positions from {iso(t[0]) if len(t) else '—'} to "
            f"{iso(t[-1]) if len(t) else '—'}",
            "- sources: " + (", ".join(f"{k} {v}" for k, v in src.most_common()) or "—"),
            "- receivers: " + (", ".join(inp.receivers) or "not recorded"),
            "- base map: Natural Earth (public domain)" if basemap else
            "- base map: none available (graticule only)"]
    files = (["file", "SHA-256"], [[f, d] for f, d in digests.items()])
    alternatives = (["time (UTC)", "event", "airport", "runway", "seen", "confidence",
                     "runner-up", "why it lost"], alternative_rows(inp.events))
    return _Summary(
        f"Evidence report: {name}",
        [
            ("Aircraft", (["field", "value", "source"], ident_rows)),
            ("Flights", (["callsign", "from", "departure (UTC)", "runway", "to",
                          "arrival (UTC)", "runway"], flight_rows)),
            ("What was seen", seen),
            ("What was inferred and why", gaps + inferred or ["- nothing was inferred"]),
            ("How sure: each airport and runway with its runner-up", alternatives),
            ("Data", data),
            ("Files", files),
            ("About", [f"- generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%SZ')} by "
                       f"tailwatch {__version__}; all times UTC"]),
        ],
    )


def alternative_rows(events: Sequence[dict[str, Any]]) -> list[list[str]]:
    """One row per take-off, landing, touch-and-go, go-around and inferred stop: its airport
    and runway, whether the ground contact was seen, the confidence, and the runner-up
    (airport or runway) with the reason it lost, from the event's details."""
    rows = []
    for e in events:
        if e.get("type") not in ("takeoff", "landing", "touch_and_go", "go_around",
                                 "inferred_stop"):
            continue
        raw = e.get("details") or "{}"
        try:
            d = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except (TypeError, ValueError):
            d = {}
        alts = [a for a in (d.get("runway_runner_up"), d.get("runner_up"))
                if isinstance(a, dict)]
        ru = "; ".join(
            f"{a.get('airport') or ''}{(' ' + a['runway']) if a.get('runway') else ''}".strip()
            for a in alts) or "—"
        why = "; ".join(str(a.get("why_lost") or "") for a in alts if a.get("why_lost")) or "—"
        conf = d.get("confidence", d.get("stop_confidence"))
        rows.append([
            iso(e.get("t")), str(e.get("type")), str(e.get("airport") or "—"),
            str(d.get("runway") or "—"),
            "no" if d.get("seen") is False or e.get("type") == "inferred_stop" else "yes",
            f"{conf:.2f}" if isinstance(conf, (int, float)) else "—", ru, why,
        ])
    return rows


def _conf(c: Any) -> str:
    if c is None or c != c or c >= 1.0:
        return ""
    return f"(confidence {c:.2f})"


def _gap_line(t0: float, t1: float, stopovers: Sequence[dict[str, Any]]) -> str:
    hours = (t1 - t0) / 3600
    for e in stopovers:
        try:
            d = json.loads(e.get("details") or "{}")
        except (TypeError, ValueError):
            d = {}
        arr, dep = d.get("arrival_t"), d.get("departure_t")
        if arr is not None and dep is not None and arr - 900 <= t0 and t1 <= dep + 900:
            return (f"- not seen for {hours:.1f} h between {iso(t0)} and {iso(t1)}: on the "
                    f"ground at {e.get('airport')} (stopover seen landing and taking off)")
    return (f"- not seen for {hours:.1f} h between {iso(t0)} and {iso(t1)}: out of coverage; "
            "drawn dashed along the great circle")


def gather(
    store: Any,
    *,
    icao24: str | None = None,
    flight_id: str | None = None,
    since: float | None = None,
    until: float | None = None,
    annotations: Any = None,
) -> ReportInput:
    """One airframe's history from a store: by flight id, or by address and time window."""
    from tailwatch.core.errors import TailwatchError
    from tailwatch.reference.identity import identify_many
    from tailwatch.store.base import to_columns

    if flight_id:
        flights = store.flights(icao24=flight_id[:6]).to_pylist()
        match = [f for f in flights if f["flight_id"] == flight_id]
        if not match:
            raise TailwatchError(f"no flight {flight_id!r} in the store")
        icao24 = match[0]["icao24"]
        since = match[0]["first_seen"].timestamp()
        until = match[0]["last_seen"].timestamp()
    if not icao24:
        raise TailwatchError("a report needs --flight ID or --icao24 HEX")
    icao24 = icao24.lower()
    cols = to_columns("positions", store.positions(icao24=icao24, since=since, until=until))
    if len(cols["t"]) == 0:
        raise TailwatchError(f"no positions of {icao24} in that window")
    order = np.argsort(cols["t"], kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    lo, hi = float(cols["t"][0]), float(cols["t"][-1])

    def rows(table: Any) -> list[dict[str, Any]]:
        out = []
        for r in table.to_pylist():
            out.append({k: (v.timestamp() if isinstance(v, datetime) else v)
                        for k, v in r.items()})
        return out

    flights = [f for f in rows(store.flights(icao24=icao24))
               if f["last_seen"] >= lo and f["first_seen"] <= hi]
    events = [e for e in rows(store.events(icao24=icao24)) if lo <= e["t"] <= hi]
    ident = identify_many(np.array([int(icao24, 16)], dtype=np.uint32),
                          annotations=annotations).to_pylist()[0]
    ident["sources"] = {k[: -len("_source")]: v for k, v in ident.items()
                        if k.endswith("_source") and v}
    ident["sources"]["military"] = ident.get("military_rule") or ""
    return ReportInput(icao24, cols, flights, events, ident)
