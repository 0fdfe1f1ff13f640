"""Build the web map's third-party assets into the package: ``python -m tailwatch.serve.build_web``.

Steps (the results are committed, so a fresh clone needs neither node nor npm):

1. ``npm ci`` in ``web/`` (pinned by web/package-lock.json); ``--skip-npm`` reuses an existing
   ``web/node_modules``.
2. Copy MapLibre GL JS (its CSP build: the worker is a file of its own, no ``blob:`` workers)
   and its licence into ``src/tailwatch/serve/static/vendor/``.
3. Convert Natural Earth 1:50m countries from npm ``world-atlas`` (TopoJSON) to GeoJSON,
   split every polygon at ±180° (PyPI ``antimeridian``, needed only here), round coordinates
   to 3 decimals, and write ``static/data/countries.geojson``.

The app's own files (``static/index.html``, ``app.css`` and the plain scripts ``util.js``,
``glaircraft.js``, ``binfeed.js``, ``table.js``, ``investigate.js``, ``playback.js``,
``panel.js``, ``app.js``, ``layers.js``; docs/map.md) are sources, not build products: no
bundler, no transpiler.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["build", "topojson_features"]

ROOT = Path(__file__).resolve().parents[3]
WEB = ROOT / "web"
STATIC = Path(__file__).resolve().parent / "static"
VENDOR_FILES = {
    "maplibre-gl/dist/maplibre-gl-csp.js": "maplibre-gl-csp.js",
    "maplibre-gl/dist/maplibre-gl-csp-worker.js": "maplibre-gl-csp-worker.js",
    "maplibre-gl/dist/maplibre-gl.css": "maplibre-gl.css",
    "maplibre-gl/LICENSE.txt": "LICENSE.maplibre-gl.txt",
    "world-atlas/LICENSE": "LICENSE.world-atlas.txt",
}
COUNTRIES = "world-atlas/countries-50m.json"
DECIMALS = 3


def _arc_points(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Every arc as absolute (lon, lat) points (delta-decoded, de-quantised)."""
    tr = topology.get("transform")
    out = []
    for arc in topology["arcs"]:
        pts = []
        x = y = 0.0
        for p in arc:
            if tr:
                x += p[0]
                y += p[1]
                pts.append((x * tr["scale"][0] + tr["translate"][0],
                            y * tr["scale"][1] + tr["translate"][1]))
            else:
                pts.append((float(p[0]), float(p[1])))
        out.append(pts)
    return out


def _ring(indices: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    ring: list[tuple[float, float]] = []
    for i in indices:
        pts = arcs[i] if i >= 0 else arcs[~i][::-1]
        ring.extend(pts if not ring else pts[1:])
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    return ring


def topojson_features(topology: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The GeoJSON features of object ``name`` of a TopoJSON topology (polygons only)."""
    arcs = _arc_points(topology)
    features = []
    for g in topology["objects"][name]["geometries"]:
        kind = g.get("type")
        if kind == "Polygon":
            coords: Any = [_ring(r, arcs) for r in g["arcs"]]
        elif kind == "MultiPolygon":
            coords = [[_ring(r, arcs) for r in poly] for poly in g["arcs"]]
        else:
            continue
        features.append({
            "type": "Feature",
            "id": g.get("id"),
            "properties": {"name": (g.get("properties") or {}).get("name")},
            "geometry": {"type": kind, "coordinates": coords},
        })
    return features


def _round(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, DECIMALS)
    if isinstance(obj, (list, tuple)):
        return [_round(x) for x in obj]
    return obj


def _split_antimeridian(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import antimeridian  # build-time only (PyPI antimeridian)

    out = []
    for f in features:
        # world-atlas winds exterior rings clockwise (d3's spherical convention)
        fixed = antimeridian.fix_geojson(f, fix_winding=True)
        geom = fixed["geometry"]
        geom["coordinates"] = _round(geom["coordinates"])
        out.append({"type": "Feature", "id": f.get("id"), "properties": f["properties"],
                    "geometry": geom})
    return out


def build(skip_npm: bool = False, static: Path = STATIC, web: Path = WEB) -> list[Path]:
    """Run the build; returns the files written."""
    modules = web / "node_modules"
    if not skip_npm:
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is not installed: install Node.js, or use --skip-npm with "
                             "an existing web/node_modules")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=web, check=True)
    if not modules.is_dir():
        raise SystemExit(f"{modules} is missing: run without --skip-npm")
    written: list[Path] = []
    vendor = static / "vendor"
    vendor.mkdir(parents=True, exist_ok=True)
    for src, dst in VENDOR_FILES.items():
        shutil.copyfile(modules / src, vendor / dst)
        written.append(vendor / dst)
    topology = json.loads((modules / COUNTRIES).read_text())
    features = _split_antimeridian(topojson_features(topology, "countries"))
    data = static / "data"
    data.mkdir(parents=True, exist_ok=True)
    out = data / "countries.geojson"
    out.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                              separators=(",", ":")))
    written.append(out)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--skip-npm", action="store_true", help="reuse web/node_modules")
    args = ap.parse_args(argv)
    for p in build(skip_npm=args.skip_npm):
        print(f"{p.relative_to(ROOT)}  {p.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
