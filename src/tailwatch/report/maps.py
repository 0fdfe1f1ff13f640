"""Pictures for evidence reports: the route on an offline base map, and the altitude and
speed profile. matplotlib with the Agg backend; no network."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import itertools

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.collections import PolyCollection

GAP_S = 600.0  # positions further apart than this are drawn as separate segments


@dataclass(frozen=True, slots=True)
class Place:
    """A labelled point on the map (airport, stop, inferred stop)."""

    lat: float
    lon: float
    label: str
    inferred: bool = False


@dataclass(frozen=True, slots=True)
class Leg:
    """An unseen leg, drawn dashed along the great circle through its via points."""

    points: tuple[tuple[float, float], ...]  # (lat, lon) from start to end


def countries_path() -> Path | None:
    """The Natural Earth countries GeoJSON shipped with the web map, if present."""
    base = resources.files("tailwatch.serve") / "static"
    for name in ("countries.geojson", "countries-110m.geojson", "land.geojson"):
        p = Path(str(base / name))
        if p.exists():
            return p
    found = sorted(Path(str(base)).rglob("*countries*.geojson")) if Path(str(base)).exists() \
        else []
    return found[0] if found else None


def _polygons(geojson: dict[str, Any]) -> list[npt.NDArray[np.float64]]:
    polys: list[npt.NDArray[np.float64]] = []
    for feat in geojson.get("features", []):
        geom = feat.get("geometry") or {}
        if geom.get("type") == "Polygon":
            rings = [geom["coordinates"][0]]
        elif geom.get("type") == "MultiPolygon":
            rings = [p[0] for p in geom["coordinates"]]
        else:
            continue
        polys += [np.asarray(r, dtype=np.float64) for r in rings if len(r) > 2]
    return polys


def great_circle(lat1: float, lon1: float, lat2: float, lon2: float, n: int = 100
                 ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Points along the great circle (spherical interpolation of unit vectors)."""
    p1, l1, p2, l2 = np.radians([lat1, lon1, lat2, lon2])
    a = np.array([np.cos(p1) * np.cos(l1), np.cos(p1) * np.sin(l1), np.sin(p1)])
    b = np.array([np.cos(p2) * np.cos(l2), np.cos(p2) * np.sin(l2), np.sin(p2)])
    omega = np.arccos(np.clip(a @ b, -1.0, 1.0))
    f = np.linspace(0.0, 1.0, n)
    if omega < 1e-9:
        v = np.outer(1 - f, a) + np.outer(f, b)
    else:
        v = (np.outer(np.sin((1 - f) * omega), a) + np.outer(np.sin(f * omega), b)) / np.sin(omega)
    lat = np.degrees(np.arctan2(v[:, 2], np.hypot(v[:, 0], v[:, 1])))
    lon = np.degrees(np.arctan2(v[:, 1], v[:, 0]))
    return lat, lon


def segments(t: npt.NDArray[np.float64], gap_s: float = GAP_S) -> list[slice]:
    """Runs of positions without a gap longer than ``gap_s``."""
    if t.shape[0] == 0:
        return []
    cuts = np.flatnonzero(np.diff(t) > gap_s) + 1
    bounds = [0, *cuts.tolist(), t.shape[0]]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


def route_map(
    out: Path,
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    t: npt.NDArray[np.float64],
    *,
    title: str,
    places: Sequence[Place] = (),
    legs: Sequence[Leg] = (),
    note: str = "",
) -> bool:
    """Draw the route; returns whether a base map was drawn."""
    fig, ax = plt.subplots(figsize=(12, 7), dpi=110)
    all_lat = np.concatenate([lat, [p.lat for p in places],
                              *[np.asarray([q[0] for q in g.points]) for g in legs]])
    all_lon = np.concatenate([lon, [p.lon for p in places],
                              *[np.asarray([q[1] for q in g.points]) for g in legs]])
    ok = np.isfinite(all_lat) & np.isfinite(all_lon)
    if not ok.any():
        all_lat, all_lon = np.array([0.0]), np.array([0.0])
    else:
        all_lat, all_lon = all_lat[ok], all_lon[ok]
    mean_lat = float(np.clip(np.mean(all_lat), -70, 70))
    aspect = 1.0 / np.cos(np.radians(mean_lat))
    lon0, lon1 = float(all_lon.min()), float(all_lon.max())
    lat0, lat1 = float(all_lat.min()), float(all_lat.max())
    pad = 0.08 * max(lat1 - lat0, lon1 - lon0) + 0.5
    lon0, lon1, lat0, lat1 = lon0 - pad, lon1 + pad, lat0 - pad, lat1 + pad
    ratio = 1.7  # width / height of the axes on the page
    width, height = lon1 - lon0, (lat1 - lat0) * aspect
    if width < ratio * height:  # widen in longitude to fill the page
        extra = (ratio * height - width) / 2
        lon0, lon1 = lon0 - extra, lon1 + extra
    else:
        extra = (width / ratio - height) / aspect / 2
        lat0, lat1 = lat0 - extra, lat1 + extra
    ax.set_xlim(lon0, lon1)
    ax.set_ylim(max(lat0, -90.0), min(lat1, 90.0))
    ax.set_aspect(aspect)
    ax.set_facecolor("#dbe9f4")
    basemap = countries_path()
    if basemap is not None:
        polys = _polygons(json.loads(basemap.read_text()))
        ax.add_collection(PolyCollection(polys, facecolors="#f4f1ea", edgecolors="#b9b2a6",
                                         linewidths=0.5, zorder=1))
    ax.grid(color="white", linewidth=0.6, zorder=0)
    for i, sl in enumerate(segments(t)):
        ax.plot(lon[sl], lat[sl], "-", color="#c0392b", linewidth=2.2, zorder=3,
                label="seen (positions received)" if i == 0 else None)
    for i, leg in enumerate(legs):
        path_lat, path_lon = [], []
        for (a_lat, a_lon), (b_lat, b_lon) in zip(leg.points[:-1], leg.points[1:], strict=True):
            g_lat, g_lon = great_circle(a_lat, a_lon, b_lat, b_lon)
            path_lat.append(g_lat)
            path_lon.append(g_lon)
        ax.plot(np.concatenate(path_lon), np.concatenate(path_lat), "--", color="#7f8c8d",
                linewidth=1.8, zorder=2, label="inferred (not seen)" if i == 0 else None)
    for p in places:
        ax.plot(p.lon, p.lat, "o", markersize=7, zorder=4,
                color="#7f8c8d" if p.inferred else "#2c3e50", markerfacecolor="white"
                if p.inferred else "#2c3e50")
        ax.annotate(p.label, (p.lon, p.lat), xytext=(6, 6), textcoords="offset points",
                    fontsize=9, zorder=5,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#7f8c8d",
                          "alpha": 0.85})
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    ax.set_title(title, fontsize=12)
    ax.legend(loc="lower left", fontsize=9)
    note = "; ".join(x for x in (note, "base map Natural Earth (public domain)" if basemap
                                   else "no base map available") if x)
    fig.text(0.01, 0.01, note, fontsize=7, color="#555555")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return basemap is not None


def profile(
    out: Path,
    t: npt.NDArray[np.float64],
    altitude_ft: npt.NDArray[np.float64],
    gs_kt: npt.NDArray[np.float64],
    *,
    title: str,
    marks: Sequence[tuple[float, str]] = (),
) -> None:
    """Altitude and ground speed against UTC time; gaps are left open."""
    times = [datetime.fromtimestamp(float(x), tz=UTC) for x in t]
    alt = np.asarray(altitude_ft, dtype=np.float64).copy()
    gs = np.asarray(gs_kt, dtype=np.float64).copy()
    if t.shape[0] > 1:
        gap = np.flatnonzero(np.diff(t) > GAP_S)
        alt[gap] = np.nan
        gs[gap] = np.nan
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(12, 6), dpi=110, sharex=True)
    a1.plot(times, alt, color="#2c3e50", linewidth=1.2)
    a1.set_ylabel("altitude (ft, baro)")
    a2.plot(times, gs, color="#c0392b", linewidth=1.2)
    a2.set_ylabel("ground speed (kt)")
    a2.set_xlabel("time (UTC)")
    for ax in (a1, a2):
        ax.grid(alpha=0.4)
        for when, _label in marks:
            ax.axvline(datetime.fromtimestamp(when, tz=UTC), color="#7f8c8d", linestyle=":")
    for when, label in marks:
        a1.annotate(label, (datetime.fromtimestamp(when, tz=UTC), a1.get_ylim()[1]),
                    xytext=(3, -12), textcoords="offset points", fontsize=8, rotation=90,
                    va="top")
    a2.xaxis.set_major_formatter(
        mdates.DateFormatter("%d %b %H:%M", tz=UTC)  # type: ignore[no-untyped-call]
    )
    fig.autofmt_xdate()
    a1.set_title(title, fontsize=12)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
