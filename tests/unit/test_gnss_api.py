"""``tailwatch gnss`` and ``/api/gnss`` over a store holding simulated interference."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import h3
import numpy as np
import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tailwatch.cli.gnss_cmd import register
from tailwatch.gnss.synthetic import Zone, flights
from tailwatch.serve.gnss_api import gnss_router
from tailwatch.store.base import Store, open_store

T0 = 1_700_006_400.0
JAM = Zone("jamming", 55.0, 19.0, 60.0)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cols, _ = flights(12, T0, 7200, lat0=55.0, lon0=15.0, spread_deg=1.0, zones=(JAM,),
                      track_range_deg=(70, 110), seed=7)
    cols.pop("true_lat")
    cols.pop("true_lon")
    path = tmp_path_factory.mktemp("gnss") / "h.duckdb"
    store = open_store(str(path))
    store.write("positions", cols)
    store.close()
    return path


def _cli(*args: str) -> tuple[int, str]:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _main() -> None:  # a group, as in tailwatch's main app
        pass

    res = CliRunner().invoke(app, ["gnss", *args])
    return res.exit_code, res.output


def test_cli_computes_then_prints_one_row_per_cell(db: Path) -> None:
    code, out = _cli("--db", str(db), "--json", "--since", str(int(T0)), "--until",
                     str(int(T0 + 7200)))
    assert code == 0, out
    rows = json.loads(out[out.index("["):])
    assert rows and set(rows[0]) == {"h3", "lat", "lon", "aircraft", "degraded", "share",
                                     "spoofed", "level"}
    assert all(h3.get_resolution(r["h3"]) == 4 for r in rows)
    high = [r for r in rows if r["level"] == "high"]
    assert high and all(r["degraded"] >= 2 for r in high)
    assert any(r["level"] == "none" for r in rows)
    code, table = _cli("--db", str(db), "--res", "5")
    assert code == 0 and "high" in table
    code, out = _cli("--db", str(db), "--res", "7")
    assert code != 0


def test_cli_on_a_missing_store_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    code, out = _cli("--db", str(tmp_path / "none.duckdb"))
    assert code == 1 and "no history store" in out


@pytest.fixture()
def client(db: Path) -> Iterator[TestClient]:
    store: Store = open_store(str(db))
    app = FastAPI()
    app.include_router(gnss_router(lambda: store))
    with TestClient(app) as c:
        yield c
    store.close()


def test_api_answers_geojson_hexagons(client: TestClient) -> None:
    r = client.get("/api/gnss", params={"since": T0, "until": T0 + 7200, "res": 4})
    assert r.status_code == 200
    doc = r.json()
    assert doc["type"] == "FeatureCollection" and doc["features"]
    f = doc["features"][0]
    ring = f["geometry"]["coordinates"][0]
    assert f["geometry"]["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) == 7
    lat, lon = h3.cell_to_latlng(f["properties"]["h3"])
    assert abs(np.mean([p[0] for p in ring[:-1]]) - lon) < 0.5  # lon, lat order
    assert abs(np.mean([p[1] for p in ring[:-1]]) - lat) < 0.5
    levels = {x["properties"]["level"] for x in doc["features"]}
    assert "high" in levels
    flagged = client.get("/api/gnss", params={"since": T0, "until": T0 + 7200,
                                              "level": "high"}).json()["features"]
    assert flagged and {x["properties"]["level"] for x in flagged} == {"high"}
    # the default range ends where the stored hexagons end
    assert len(client.get("/api/gnss").json()["features"]) == len(doc["features"])


def test_api_lists_the_aircraft_of_a_cell(client: TestClient) -> None:
    doc = client.get("/api/gnss", params={"since": T0, "until": T0 + 7200,
                                          "level": "high"}).json()
    cell = doc["features"][0]["properties"]
    r = client.get(f"/api/gnss/cells/{cell['h3']}", params={"since": T0, "until": T0 + 7200})
    assert r.status_code == 200
    body = r.json()
    assert len(body["aircraft_list"]) == cell["aircraft"]
    assert sum(a["degraded"] for a in body["aircraft_list"]) == cell["degraded"]
    assert all(len(a["icao24"]) == 6 for a in body["aircraft_list"])


@pytest.mark.parametrize("params", [{"res": 7}, {"res": "x"}, {"since": "yesterday"},
                                    {"since": T0 + 10, "until": T0}, {"level": "red"},
                                    {"since": T0, "until": T0 + 90 * 86400}])
def test_api_refuses_bad_parameters(client: TestClient, params: dict[str, object]) -> None:
    r = client.get("/api/gnss", params=params)
    assert r.status_code in (400, 422)


def test_api_cell_refuses_bad_cells(client: TestClient) -> None:
    assert client.get("/api/gnss/cells/zzz").status_code == 400
    fine = h3.latlng_to_cell(55.0, 19.0, 8)
    assert client.get(f"/api/gnss/cells/{fine}").status_code == 400
    far = h3.latlng_to_cell(-40.0, 100.0, 4)
    assert client.get(f"/api/gnss/cells/{far}", params={"since": T0, "until": T0 + 7200}
                      ).status_code == 404


def test_api_without_store_is_empty() -> None:
    app = FastAPI()
    app.include_router(gnss_router(lambda: None))
    with TestClient(app) as c:
        assert c.get("/api/gnss").json()["features"] == []
