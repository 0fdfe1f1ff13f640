"""Airports, runways and great-circle helpers (tailwatch.reference.{airports,runways,geo}).

Oracles: published aerodrome reference points (French and Belgian AIP), OurAirports' own
published headings and partial coordinates, brute-force distance matrices, and real flights
(traffic's noisy landing/take-off at Zurich, AFR34ZG Paris CDG → Toulouse).

What the real flights show (from their positions and tracks, checked against the runway
thresholds): DLH4TR (3c664e, 2019-11-11) lands at LSZH on runway 14 (track 137°, the last
position ~500 m before the threshold at 1,675 ft); AFR181L (3946e4, same day) taxis along
runway 28 from the east, lines up at the 28 threshold and takes off on 28 (track 276°);
AFR34ZG (393322, 2024-07-06) takes off from LFPG 26R and lands at LFBO on 32R.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tailwatch.core.errors import FormatError
from tailwatch.reference import airports as ap
from tailwatch.reference import geo
from tailwatch.reference import runways as rw

DATA = Path(__file__).resolve().parents[1] / "data"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "airports"
RUNWAYS_2022 = SHARED / "ourairports_runways_20221011.csv.gz"
AIRPORTS_2022 = SHARED / "ourairports_airports_20221011.csv.gz"
RUNWAYS_2026 = SHARED / "ourairports_runways_20260822.csv.gz"

needs_2022 = pytest.mark.skipif(
    not RUNWAYS_2022.exists() or not AIRPORTS_2022.exists(),
    reason=f"OurAirports 2022 source files not found in {SHARED}",
)
needs_2026 = pytest.mark.skipif(
    not RUNWAYS_2026.exists(),
    reason=f"{RUNWAYS_2026.name} ([repository] data) not found in {SHARED}",
)


def dms(d: int, m: int, s: float) -> float:
    return d + m / 60.0 + s / 3600.0


# Aerodrome reference points published in the AIP (France: AD 2 LFPG/LFBO; Belgium: EBBR).
ARP = {
    "LFPG": (dms(49, 0, 35), dms(2, 32, 52)),
    "LFBO": (dms(43, 38, 6), dms(1, 22, 4)),
    "EBBR": (dms(50, 54, 5), dms(4, 29, 4)),
}


# --------------------------------------------------------------------------- geo


def test_distances_on_the_sphere() -> None:
    r = geo.EARTH_RADIUS_M
    assert geo.distance_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(r * math.pi / 180.0, rel=1e-12)
    assert geo.distance_m(0.0, 0.0, 0.0, 90.0) == pytest.approx(r * math.pi / 2.0, rel=1e-12)
    assert geo.distance_m(10.0, 20.0, -10.0, -160.0) == pytest.approx(r * math.pi, rel=1e-12)
    # 1 m apart, 20,000 km from home: no cancellation either way
    assert geo.distance_m(0.0, 0.0, 0.0, math.degrees(1.0 / r)) == pytest.approx(1.0, rel=1e-9)
    assert geo.distance_m(0.0, 0.0, 0.0, 180.0 - math.degrees(1.0 / r)) == pytest.approx(
        r * math.pi - 1.0, rel=1e-12
    )
    assert geo.distance_nm(0.0, 0.0, 1.0 / 60.0, 0.0) == pytest.approx(
        r * math.pi / 180.0 / 60.0 / 1852.0, rel=1e-9
    )
    # across the antimeridian and vectorised
    d = geo.distance_m([0.0, 0.0], [179.5, -179.5], [0.0, 0.0], [-179.5, 179.5])
    assert d == pytest.approx([r * math.radians(1.0)] * 2, rel=1e-9)
    assert np.isnan(geo.distance_m(np.nan, 0.0, 0.0, 0.0))


def test_bearing_destination_and_track_offsets() -> None:
    assert geo.initial_bearing_deg(0.0, 0.0, 0.0, 1.0) == pytest.approx(90.0)
    assert geo.initial_bearing_deg(0.0, 0.0, 1.0, 0.0) == pytest.approx(0.0)
    assert geo.initial_bearing_deg(0.0, 0.0, 0.0, -1.0) == pytest.approx(270.0)
    assert geo.initial_bearing_deg(10.0, 0.0, -10.0, 0.0) == pytest.approx(180.0)
    assert geo.angle_diff_deg([350.0, 10.0, 180.0], [10.0, 350.0, 0.0]) == pytest.approx(
        [-20.0, 20.0, -180.0]
    )
    rng = np.random.default_rng(7)
    lat = rng.uniform(-80, 80, 500)
    lon = rng.uniform(-180, 180, 500)
    brg = rng.uniform(0, 360, 500)
    dist = rng.uniform(10.0, 2_000_000.0, 500)
    lat2, lon2 = geo.destination_deg(lat, lon, brg, dist)
    assert geo.distance_m(lat, lon, lat2, lon2) == pytest.approx(dist, rel=1e-9)
    np.testing.assert_allclose(
        geo.angle_diff_deg(geo.initial_bearing_deg(lat, lon, lat2, lon2), brg), 0.0, atol=1e-7
    )
    assert np.all((lon2 >= -180.0) & (lon2 < 180.0))
    # a point 100 m to the right of a track, 700 m along it
    a_lat, a_lon = 43.619, 1.372
    b_lat, b_lon = geo.destination_deg(a_lat, a_lon, 323.0, 3000.0)
    p_lat, p_lon = geo.destination_deg(*geo.destination_deg(a_lat, a_lon, 323.0, 700.0), 53.0, 100)
    along, cross = geo.track_offsets_m(a_lat, a_lon, b_lat, b_lon, p_lat, p_lon)
    assert along == pytest.approx(700.0, abs=0.01)
    assert cross == pytest.approx(100.0, abs=0.01)
    p_lat, p_lon = geo.destination_deg(a_lat, a_lon, 143.0 - 90.0, -250.0)  # 250 m left, behind 0
    along, cross = geo.track_offsets_m(a_lat, a_lon, b_lat, b_lon, p_lat, p_lon)
    assert cross == pytest.approx(-250.0, abs=0.01)
    assert along == pytest.approx(0.0, abs=0.01)


# --------------------------------------------------------------------------- airports


def test_lfpg_and_lfbo() -> None:
    for icao, iata in (("LFPG", "CDG"), ("LFBO", "TLS")):
        a = ap.airport(icao.lower())
        assert (a.icao, a.iata, a.country) == (icao, iata, "FR")
        assert geo.distance_m(a.lat_deg, a.lon_deg, *ARP[icao]) < 2_000.0
        assert a.position_source == "airportsdata"
    assert ap.airport("LFBO").elevation_ft == pytest.approx(499.0, abs=20.0)  # AIP: 499 ft
    with pytest.raises(KeyError):
        ap.airport("ZZZZ")


@pytest.mark.parametrize(
    ("lat", "lon", "icao"),
    [
        (49.0097, 2.5479, "LFPG"),
        (10.6012, -66.9912, "SVMI"),
        (55.8783, 38.0617, "UUMU"),
        (35.4011, 35.9487, "OSLK"),
    ],
)
def test_nearest_airport(lat: float, lon: float, icao: str) -> None:
    t = ap.airports()
    idx, dist_nm = ap.nearest_airports(lat, lon, max_distance_nm=5.0)
    assert idx.shape == (1,)
    assert t.icao[idx[0]] == icao
    assert dist_nm[0] == pytest.approx(
        geo.distance_nm(lat, lon, t.lat_deg[idx[0]], t.lon_deg[idx[0]])[()], abs=1e-6
    )


def test_nearest_airports_against_brute_force() -> None:
    t = ap.airports()
    rng = np.random.default_rng(42)
    n = 150
    pick = rng.integers(0, len(t), n)
    lat0, lon0 = t.lat_deg[pick], t.lon_deg[pick]
    lat, lon = geo.destination_deg(lat0, lon0, rng.uniform(0, 360, n), rng.uniform(0, 60e3, n))
    # the hard places: the antimeridian (Fiji, Chukotka), the poles, the equator
    extra_lat = np.array([-17.8, 64.7, -89.9, 89.5, 0.0, -16.7, np.nan])
    extra_lon = np.array([179.99, -179.9, 10.0, 0.0, -180.0, -179.9, 0.0])
    lat = np.concatenate([lat, extra_lat])
    lon = np.concatenate([lon, extra_lon])
    d_all = geo.distance_nm(lat[:, None], lon[:, None], t.lat_deg[None, :], t.lon_deg[None, :])
    d_all = np.where(np.isnan(d_all), np.inf, d_all)
    near = np.argpartition(d_all, 3, axis=1)[:, :3]
    near = np.take_along_axis(near, np.argsort(np.take_along_axis(d_all, near, 1), 1), 1)
    for radius_nm, k in ((30.0, 3), (400.0, 2)):
        idx, dist = ap.nearest_airports(lat, lon, max_distance_nm=radius_nm, k=k)
        assert idx.shape == dist.shape == (lat.size, k)
        best = np.take_along_axis(d_all, near[:, :k], axis=1)
        np.testing.assert_array_equal(idx, np.where(best <= radius_nm, near[:, :k], -1))
        np.testing.assert_allclose(dist, np.where(best <= radius_nm, best, np.nan), atol=1e-6)
    assert idx[-1].tolist() == [-1, -1]  # NaN point
    assert (idx[-7:-1, 0] >= 0).sum() >= 2  # Fiji and Chukotka have airports within 400 nm


def test_nearest_airports_where_mask() -> None:
    t = ap.airports()
    # on LFPG's 26R threshold: nearest with an IATA code is LFPG; without LFPG, another one
    lat, lon = 48.99879837036133, 2.610179901123047
    idx, _ = ap.nearest_airports(lat, lon, max_distance_nm=10, where=t.iata != "")
    assert t.icao[idx] == "LFPG"
    idx2, d2 = ap.nearest_airports(lat, lon, max_distance_nm=30, where=t.icao != "LFPG", k=2)
    assert idx2[0, 0] >= 0 and "LFPG" not in t.icao[idx2[0]]
    assert d2[0, 0] <= d2[0, 1]
    with pytest.raises(ValueError):
        ap.nearest_airports(lat, lon, max_distance_nm=10, where=np.ones(3, dtype=bool))


def test_airport_positions_fixed_from_runways() -> None:
    raw = ap.airportsdata_airports()
    fixed = ap.airports()
    i = int(fixed.indices_of(["EBBR"])[0])
    # airportsdata has EBBR's DMS digits as decimal degrees (50.5405, 4.2904)
    assert geo.distance_m(raw.lat_deg[i], raw.lon_deg[i], *ARP["EBBR"]) > 30_000
    assert geo.distance_m(fixed.lat_deg[i], fixed.lon_deg[i], *ARP["EBBR"]) < 3_000
    assert ap.airport("EBBR").position_source == "ourairports-runways"
    # a point on the threshold of Brussels 25L is at Brussels, not 40 km away
    idx, _ = ap.nearest_airports(50.89889907836914, 4.5233001708984375, max_distance_nm=10)
    assert fixed.icao[idx] == "EBBR"
    # airports whose runways disagree (UUMU: 12R/30L is placed near Belgorod in the 2022
    # data) or agree with airportsdata stay where airportsdata puts them
    for icao in ("UUMU", "LFPG", "SVMI", "OSLK"):
        j = int(fixed.indices_of([icao])[0])
        assert (fixed.lat_deg[j], fixed.lon_deg[j]) == (raw.lat_deg[j], raw.lon_deg[j])
    assert 20 <= int((fixed.position_source == ap.POSITION_RUNWAYS).sum()) <= 200


# --------------------------------------------------------------------------- runways


def idents(icao: str) -> set[str]:
    return {i for r in rw.runways_of(icao) for i in r.idents}


def end_of(icao: str, ident: str) -> int:
    e = rw.default_runways().ends
    (hit,) = np.flatnonzero((e.airport_ident == icao) & (e.ident == ident))
    return int(hit)


def test_runways_of() -> None:
    assert idents("LFPG") == {"26R", "08L", "26L", "08R", "27L", "09R", "27R", "09L"}
    assert idents("LFBO") == {"14L", "32R", "14R", "32L"}
    assert idents("lszh") == {"10", "28", "14", "32", "16", "34"}
    (r,) = [r for r in rw.runways_of("LFBO") if r.le.ident == "14R"]
    assert (r.he.ident, r.length_ft, r.surface, r.closed) == ("32L", 11483.0, "ASP", False)
    assert geo.distance_m(r.he.lat_deg, r.he.lon_deg, *ARP["LFBO"]) < 3_000
    assert rw.runways_of("QQQQQQ") == []
    # idents that look like numbers stay strings
    assert idents("EBBR") >= {"01", "19", "07L", "25R"}


def test_runway_bearings_match_published_headings() -> None:
    t = rw.default_runways()
    e = t.ends
    for icao in ("LFPG", "LFBO", "LSZH", "SVMI", "OSLK", "EBBR"):
        for k in np.flatnonzero(e.airport_ident == icao):
            row = e.runway_row[k]
            side = "le" if t.le_ident[row] == e.ident[k] else "he"
            published = getattr(t, f"{side}_heading_deg")[row]
            assert abs(geo.angle_diff_deg(e.bearing_deg[k], published)) < 1.5, (icao, e.ident[k])
            length_m = t.length_ft[row] * 0.3048
            assert e.length_m[k] == pytest.approx(length_m, rel=0.05)


def on_axis(icao: str, ident: str, along_m: float, right_m: float = 0.0) -> tuple[float, float]:
    """A point ``along_m`` from the threshold of ``ident`` along its direction of travel."""
    e = rw.default_runways().ends
    k = end_of(icao, ident)
    lat, lon = geo.destination_deg(e.lat_deg[k], e.lon_deg[k], e.bearing_deg[k], along_m)
    if right_m:
        lat, lon = geo.destination_deg(lat, lon, e.bearing_deg[k] + 90.0, right_m)
    return float(lat), float(lon)


def test_match_runway_lfbo_32l() -> None:
    t = rw.default_runways()
    (row,) = [i for i in t.rows_of("LFBO") if t.he_ident[i] == "32L"]
    # OurAirports' 32L threshold: 43.61899948120117, 1.3720999956130981
    assert (t.he_lat_deg[row], t.he_lon_deg[row]) == pytest.approx((43.619, 1.3721), abs=1e-4)
    lat, lon = on_axis("LFBO", "32L", -2000.0)  # 2 km out on final for 32L
    ident, offset_m, angle = rw.match_runway("LFBO", lat, lon, 323.0)
    assert ident.tolist() == ["32L"]
    assert abs(offset_m[0]) < 1.0
    assert abs(angle[0]) < 1.5
    # the same point flown the other way is the climb-out of a take-off from 14R
    assert rw.match_runway("LFBO", lat, lon, 143.0)[0].tolist() == ["14R"]
    # across the runway, or far away: nothing
    ident, offset_m, angle = rw.match_runway("LFBO", [lat, lat + 0.3], [lon, lon], [233.0, 323.0])
    assert ident.tolist() == ["", ""]
    assert np.isnan(offset_m).all() and np.isnan(angle).all()
    # 32R is 770 m to the east: a point 60 m right of 32L's axis is still 32L
    lat2, lon2 = on_axis("LFBO", "32L", 800.0, right_m=60.0)
    m = rw.match_runway_ends("LFBO", lat2, lon2, 325.0)
    assert m.runway_ident.tolist() == ["32L"]
    assert m.offset_m[0] == pytest.approx(60.0, abs=0.5)
    assert m.along_m[0] == pytest.approx(800.0, abs=0.5)


def test_match_runway_parallel_runways_and_many_airports() -> None:
    e = rw.default_runways().ends
    codes, lats, lons, tracks, expect = [], [], [], [], []
    for icao in ("LFPG", "LFBO", "LSZH", "SVMI", "OSLK"):
        for k in np.flatnonzero(e.airport_ident == icao):
            for along in (-1500.0, 300.0):
                lat, lon = on_axis(icao, str(e.ident[k]), along, right_m=20.0)
                codes.append(icao)
                lats.append(lat)
                lons.append(lon)
                tracks.append(float(e.bearing_deg[k]) + 3.0)
                expect.append(str(e.ident[k]))
    ident, offset_m, angle = rw.match_runway(np.array(codes), lats, lons, tracks)
    assert ident.tolist() == expect
    np.testing.assert_allclose(offset_m, 20.0, atol=0.5)
    np.testing.assert_allclose(angle, 3.0, atol=1e-6)
    with pytest.raises(ValueError):
        rw.match_runway(["LFPG", "LFBO"], lats[:3], lons[:3], tracks[:3])


def test_closed_runways_are_skipped_unless_asked() -> None:
    e = rw.default_runways().ends
    closed = np.flatnonzero(e.closed)[:60]
    assert closed.size == 60
    lat, lon = geo.destination_deg(e.lat_deg[closed], e.lon_deg[closed], e.bearing_deg[closed],
                                   -800.0)  # fmt: skip
    args = (e.airport_ident[closed], lat, lon, e.bearing_deg[closed])
    default = rw.match_runway_ends(*args)
    assert not np.isin(default.end_index, closed).any()
    with_closed = rw.match_runway_ends(*args, include_closed=True)
    assert (with_closed.end_index == closed).mean() > 0.8


def test_derived_threshold_against_the_partial_coordinates() -> None:
    # 57XA 12/30 in the 2022 data: the 12 end has a latitude (29.859119415283203) but no
    # longitude; 30 is complete with heading 302 and the runway is 1,092 ft long. The 12 end
    # is derived from 30; its latitude must agree with the one OurAirports does give.
    e = rw.default_runways().ends
    k = end_of("57XA", "12")
    assert e.derived[k]
    assert e.lat_deg[k] == pytest.approx(29.859119415283203, abs=0.0003)  # ~30 m
    assert e.length_m[k] == pytest.approx(1092 * 0.3048, rel=1e-6)
    assert not e.derived[end_of("LFBO", "32L")]


def test_aliases_reach_airports_by_gps_code() -> None:
    # 02MT is the GPS code of OurAirports' US-1094 (airportsdata knows it as 02MT)
    (r,) = rw.runways_of("02MT")
    assert r.airport_ident == "US-1094"
    assert ap.airport("02MT").country == "US"


# --------------------------------------------------------------------------- real flights


def test_noisy_landing_lszh_14() -> None:
    rows = json.loads(gzip.decompress((DATA / "traffic_noisy_landing.json.gz").read_bytes()))
    assert {r["callsign"] for r in rows} == {"DLH4TR"}
    lat = np.array([r["latitude"] for r in rows])
    lon = np.array([r["longitude"] for r in rows])
    track = np.array([r["track"] for r in rows])
    altitude = np.array([r["altitude"] for r in rows])
    t = ap.airports()
    idx, dist = ap.nearest_airports(lat[-1], lon[-1], max_distance_nm=10)
    assert t.icao[idx] == "LSZH" and dist[0] < 3.0
    last = slice(-30, None)  # the last 30 s: 2,500 → 1,675 ft, 4.6 to 0.5 km out
    assert altitude[last].max() < 2500
    m = rw.match_runway_ends("LSZH", lat[last], lon[last], track[last])
    assert set(m.runway_ident.tolist()) == {"14"}
    assert np.all(m.along_m < 0)  # still short of the threshold
    assert np.abs(m.offset_m).max() < 50
    # further out, the aircraft is not yet on the final approach course
    first = rw.match_runway("LSZH", lat[:30], lon[:30], track[:30])[0]
    assert set(first.tolist()) == {""}


def load_takeoff() -> dict[str, npt.NDArray[np.float64]]:
    cols = json.loads(gzip.decompress((DATA / "traffic_noisy_takeoff.json.gz").read_bytes()))
    keys = sorted(cols["timestamp"], key=int)
    out = {
        k: np.array([np.nan if cols[k][i] is None else cols[k][i] for i in keys], dtype=float)
        for k in ("timestamp", "latitude", "longitude", "track", "altitude")
    }
    out["onground"] = np.array([cols["onground"][i] for i in keys], dtype=float)
    assert set(cols["callsign"].values()) == {"AFR181L"}
    return out


def test_noisy_takeoff_lszh_28() -> None:
    f = load_takeoff()
    has_track = np.flatnonzero(np.isfinite(f["track"]))
    first = has_track[:40]  # the first 40 s after lift-off: 1,725 → 4,700 ft
    ident, offset_m, _ = rw.match_runway("LSZH", f["latitude"][first], f["longitude"][first],
                                         f["track"][first])  # fmt: skip
    assert set(ident.tolist()) == {"28"}
    assert np.abs(offset_m).max() < 60
    # the ground roll, with the track taken from the positions: from the start of the roll
    lat, lon = f["latitude"], f["longitude"]
    start = 216  # the aircraft stands at the 28 threshold until then
    assert geo.distance_m(lat[start], lon[start], *on_axis("LSZH", "28", 0.0)) < 200
    roll = np.arange(start + 5, has_track[0])
    track = geo.initial_bearing_deg(lat[start], lon[start], lat[roll], lon[roll])
    assert set(rw.match_runway("LSZH", lat[roll], lon[roll], track)[0].tolist()) == {"28"}


def test_afr34zg_lfpg_26r_to_lfbo_32r() -> None:
    rows = []
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        for line in fh:
            if '"latitude"' in line:
                r = json.loads(line)
                rows.append((r["timestamp"], r["latitude"], r["longitude"], r["bds"] == "05"))
    rows.sort()
    lat = np.array([r[1] for r in rows])
    lon = np.array([r[2] for r in rows])
    airborne = np.flatnonzero([r[3] for r in rows])
    tab = ap.airports()
    idx, _ = ap.nearest_airports(lat[airborne[[0, -1]]], lon[airborne[[0, -1]]], max_distance_nm=5)
    assert tab.icao[idx].tolist() == ["LFPG", "LFBO"]
    for code, sel, ident in (("LFPG", airborne[3:23], "26R"), ("LFBO", airborne[-20:], "32R")):
        track = geo.initial_bearing_deg(lat[sel - 3], lon[sel - 3], lat[sel], lon[sel])
        assert set(rw.match_runway(code, lat[sel], lon[sel], track)[0].tolist()) == {ident}


# --------------------------------------------------------------------------- loading


@needs_2022
def test_packaged_data_is_the_2022_source() -> None:
    packaged = rw.default_runways()
    fresh = rw.load_runways(RUNWAYS_2022, airports_path=AIRPORTS_2022)
    assert len(packaged) == len(fresh) == 43_951
    for name in ("id", "airport_ident", "le_ident", "he_ident", "closed", "lighted",
                 "alias_code", "alias_ident"):  # fmt: skip
        np.testing.assert_array_equal(getattr(packaged, name), getattr(fresh, name), name)
    for name in ("length_ft", "le_lat_deg", "le_lon_deg", "he_lat_deg", "he_lon_deg",
                 "he_heading_deg", "le_displaced_threshold_ft", "he_elevation_ft"):  # fmt: skip
        np.testing.assert_array_equal(getattr(packaged, name), getattr(fresh, name), name)
    assert packaged.surface.tolist() == fresh.surface.tolist()
    # and the source itself, read independently
    with gzip.open(RUNWAYS_2022, "rt", encoding="utf-8") as fh:
        src = {r["id"]: r for r in csv.DictReader(fh)}
    i = int(np.flatnonzero(packaged.id == 235934)[0])  # LFBO 14R/32L
    assert float(src["235934"]["he_latitude_deg"]) == packaged.he_lat_deg[i]
    assert src["235934"]["he_ident"] == packaged.he_ident[i]


def test_npz_round_trip_and_package_size(tmp_path: Path) -> None:
    packaged_file = Path(rw.__file__).parent / "data" / rw.PACKAGE_DATA
    assert packaged_file.stat().st_size < 2_000_000
    t = rw.default_runways()
    out = tmp_path / "r.npz"
    t.save_npz(out)
    back = rw.load_runways(out)
    assert len(back) == len(t) and back.source == t.source
    np.testing.assert_array_equal(back.le_lat_deg, t.le_lat_deg)
    np.testing.assert_array_equal(back.ends.ident, t.ends.ident)


def test_load_runways_csv_bad_values(tmp_path: Path) -> None:
    header = (
        '"id","airport_ref","airport_ident","length_ft","width_ft","surface","lighted","closed",'
        '"le_ident","le_latitude_deg","le_longitude_deg","le_elevation_ft","le_heading_degT",'
        '"le_displaced_threshold_ft","he_ident","he_latitude_deg","he_longitude_deg",'
        '"he_elevation_ft","he_heading_degT","he_displaced_threshold_ft"'
    )
    lfbo = [  # the two LFBO rows of the 2022 file, the second with a broken length
        '235935,4070,"LFBO",9843,148,"ASP",1,0,"14L",43.63740158081055,1.3576200008392334,490,'
        '143,,"32R",43.6156005859375,1.3802200555801392,497,323,',
        '235934,4070,"LFBO",11483x,148,"ASP",1,0,"14R",43.644100189208984,1.3459299802780151,'
        '488,143,,"32L",43.61899948120117,1.3720999956130981,497,323,',
        '1,1,"XXXX",100,10,"ASP",0,0,"01",91.5,0,,,,"19",0,0,,,',
    ]
    path = tmp_path / "runways.csv"
    path.write_text("\n".join([header, *lfbo]) + "\n", encoding="utf-8")
    t = rw.load_runways(path)
    assert len(t) == 3
    assert t.rejects is not None
    assert t.rejects["bad_number"] == 1 and t.rejects["position_out_of_range"] == 1
    (r,) = [r for r in rw.runways_of("LFBO", table=t) if r.le.ident == "14R"]
    assert math.isnan(r.length_ft)
    assert {str(i) for i in t.ends.ident[t.ends.airport_ident == "LFBO"]} == {
        "14L", "32R", "14R", "32L"
    }  # fmt: skip
    assert rw.runways_of("XXXX", table=t)[0].le.ident == "01"
    lat, lon = on_axis("LFBO", "32L", -1000.0)
    assert rw.match_runway("LFBO", lat, lon, 323.0, table=t)[0].tolist() == ["32L"]
    bad = tmp_path / "bad.csv"
    bad.write_text('"a","b"\n1,2\n', encoding="utf-8")
    with pytest.raises(FormatError):
        rw.load_runways(bad)


@needs_2026
def test_newer_ourairports_file() -> None:
    newer = rw.load_runways(RUNWAYS_2026)
    assert len(newer) == 48_184
    assert not newer.rejects
    assert idents("LFBO") == {i for r in rw.runways_of("LFBO", table=newer) for i in r.idents}
    # UUMU 12R/30L: placed near Belgorod in 2022, at Chkalovsky in 2026
    uumu = ap.airport("UUMU")
    for table, near in ((rw.default_runways(), False), (newer, True)):
        (r,) = [r for r in rw.runways_of("UUMU", table=table) if r.le.ident == "12R"]
        d = geo.distance_m(r.le.lat_deg, r.le.lon_deg, uumu.lat_deg, uumu.lon_deg)
        assert (d < 5_000) == near
    e = newer.ends
    (k,) = np.flatnonzero((e.airport_ident == "UUMU") & (e.ident == "12R"))
    lat, lon = geo.destination_deg(e.lat_deg[k], e.lon_deg[k], e.bearing_deg[k], -3000.0)
    assert rw.match_runway("UUMU", lat, lon, e.bearing_deg[k], table=newer)[0].tolist() == ["12R"]
    try:
        rw.set_default_runways(newer)
        assert rw.default_runways() is newer
        assert rw.match_runway("UUMU", lat, lon, e.bearing_deg[k])[0].tolist() == ["12R"]
    finally:
        rw.set_default_runways(None)
    assert rw.default_runways() is not newer
