"""The headless demo (the README's main command) on the built-in data."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from tailwatch.demo import Demo, DemoResult, latest_flights, summary, unseen_spans

IL62, AN124, AFR = 0x1551E0, 0x154073, 0x393322


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Demo, DemoResult, str]:
    out = tmp_path_factory.mktemp("demo")
    console = Console(record=True, width=140)
    d = Demo(out / "demo.duckdb", console)
    result = d.run()
    d.close()
    return d, result, console.export_text()


def _legs(result: DemoResult, icao24: int) -> list[tuple[str, str]]:
    return [(f["origin"], f["destination"]) for f in latest_flights(result)
            if int(f["icao24"]) == icao24]


@pytest.mark.slow
def test_the_airlift_is_reconstructed(demo: tuple[Demo, DemoResult, str]) -> None:
    d, result, text = demo
    for airframe in (IL62, AN124):
        ident = d.identities.get(airframe)
        assert ident["country"] == "Russia" and ident["military"]
        legs = _legs(result, airframe)
        assert ("UUMU", "OSLK") in legs and ("OSLK", "SVMI") in legs, legs
        kinds = {(e["type"], e["airport"]) for e in result.events if int(e["icao24"]) == airframe}
        assert {("takeoff", "UUMU"), ("landing", "OSLK"), ("stopover", "OSLK"),
                ("takeoff", "OSLK"), ("landing", "SVMI")} <= kinds
        # the Atlantic crossing is out of coverage: a long unseen span inside OSLK → SVMI
        oslk_svmi = next(f for f in latest_flights(result)
                         if int(f["icao24"]) == airframe and f["origin"] == "OSLK")
        gaps = [(a, b) for a, b in unseen_spans(result, airframe)
                if oslk_svmi["first_seen"] <= a and b <= oslk_svmi["last_seen"]]
        assert gaps and max(b - a for a, b in gaps) > 8 * 3600
    # the An-124 leaves Caracas on the 24th
    assert any(origin == "SVMI" for origin, _ in _legs(result, AN124))
    fired = {(int(a.icao24, 16), a.rule_id) for a in result.alerts}
    assert fired == {(IL62, "ru-mil-latam-landing"), (AN124, "ru-mil-latam-landing")}
    assert "ALERT" in text and "itinerary UUMU → OSLK → SVMI" in text


@pytest.mark.slow
def test_the_real_recording_shows_lfpg_to_lfbo(demo: tuple[Demo, DemoResult, str]) -> None:
    d, result, _ = demo
    assert ("LFPG", "LFBO") in _legs(result, AFR)
    lines = "\n".join(summary(result, d.identities))
    assert "LFPG" in lines and "RA-86496" in lines and "Alerts[/]: 2" in lines
    c = result.counters
    assert c["frames"] == c["messages"] + sum(c["decode_rejects"].values())


@pytest.mark.slow
def test_the_demo_store_answers_sql(demo: tuple[Demo, DemoResult, str]) -> None:
    _d, result, _ = demo
    from tailwatch.store.base import open_store

    store = open_store(result.db)
    try:
        rows = store.query(
            "SELECT icao24, count(*) AS n FROM events WHERE type = 'landing' "
            "AND airport = 'SVMI' AND icao24 IN ('1551e0', '154073') GROUP BY icao24"
        ).to_pylist()
    finally:
        store.close()
    assert {r["icao24"] for r in rows} == {"1551e0", "154073"}
    assert Path(result.db).exists()


@pytest.mark.slow
def test_evidence_report_of_the_il62_from_the_demo_store(
    demo: tuple[Demo, DemoResult, str], tmp_path: Path
) -> None:
    import matplotlib.image as mpimg
    import numpy as np

    from tailwatch.cli.main import main

    _, result, _ = demo
    out = tmp_path / "report"
    code = main(["report", "--db", result.db, "--icao24", "1551e0", "--since", "2019-03-22",
                 "--until", "2019-03-24", "--annotations",
                 str(Path(__file__).parents[2] / "src/tailwatch/data/demo/annotations.toml"),
                 "--out", str(out)])
    assert code == 0
    md = (out / "summary.md").read_text()
    assert "RA-86496" in md and "Ilyushin Il-62M" in md
    for airport in ("UUMU", "OSLK", "SVMI"):
        assert airport in md
    assert "on the ground at OSLK" in md and "out of coverage" in md
    img = mpimg.imread(out / "route.png")
    assert len(np.unique((img[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 50
