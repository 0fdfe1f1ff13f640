"""The web map in a real browser (Debian's Chromium driven by Playwright), fully offline, on a
live replay of real recordings (tests/browser/_live_world.py: AFR34ZG tracked by tailwatch and
ten aircraft of the Zurich sample live with it; no receiver position configured).

Run with ``pytest -m peer tests/browser``. Set-up: ``apt-get install -y chromium`` and
``pip install playwright`` (no ``playwright install``: the system Chromium is used). The test
fails, with the reason, when either is missing. Screenshots go to a temporary folder, or to
$TAILWATCH_SCREENSHOTS when set (``make screenshots`` sets it to docs/screenshots/): running
the tests never changes a tracked file.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _live_world import World, build_world

from tailwatch.config import ServeSettings
from tailwatch.serve.map_api import router
from tailwatch.serve.server import ServerThread

pytestmark = pytest.mark.peer

CHROMIUM = os.environ.get("TAILWATCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]


def _require_browser() -> Any:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run 'apt-get install -y chromium' "
                    "(or set TAILWATCH_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is not installed: pip install playwright "
                    "(the system Chromium is used; no 'playwright install')")
    return sync_playwright


@pytest.fixture(scope="module")
def server() -> Iterator[dict[str, Any]]:
    world = build_world()
    thread = ServerThread(world.state, ServeSettings(host="127.0.0.1", port=0))
    app = thread.server.config.app
    if not any(getattr(r, "path", "") == "/api/map/search" for r in app.routes):
        app.include_router(router)  # until create_app mounts the map's router itself
    url = thread.start()
    try:
        yield {"url": url, "world": world}
    finally:
        thread.stop()


def _query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_web_map_offline(server: dict[str, Any], tmp_path: Path) -> None:
    sync_playwright = _require_browser()
    shots = Path(os.environ.get("TAILWATCH_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    world: World = server["world"]
    url = server["url"]
    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 800})
        try:
            page = ctx.pages[0] if ctx.pages else ctx.new_page()

            def watch(pg: Any) -> None:
                pg.on("request", lambda r: requests.append(r.url))
                pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
                pg.on("console", lambda m: problems.append(f"console: {m.text}")
                      if m.type == "error" else None)

            watch(page)
            t_start = time.monotonic()
            page.goto(url + "/", wait_until="load")

            # the first view holds every live aircraft (no receiver: it opens on the traffic)
            n_live = len(world.live)
            page.wait_for_function(f"() => window.tailwatch && tailwatch.count() >= {n_live}",
                                   timeout=30_000)
            page.wait_for_function(f"() => tailwatch.rendered() === {n_live}", timeout=60_000)
            print(f"first render after {time.monotonic() - t_start:.1f} s")
            page.wait_for_timeout(300)
            page.screenshot(path=str(shots / "map.png"))

            # the table lists them, and sorts by a column both ways
            assert sorted(page.evaluate("tailwatch.tableRows()")) == sorted(world.live)
            assert page.locator("[data-testid=ac-table] tbody tr[data-hex]").count() == n_live
            page.click("[data-testid=ac-table] th[data-col=alt]")
            alts = page.evaluate("tailwatch.tableRows().map((h) => { const a = "
                                 "tailwatch.state.aircraft.get(h); return a.alt_baro === "
                                 "'ground' ? 0 : (a.alt_baro ?? null); })")
            known = [a for a in alts if a is not None]
            assert known == sorted(known) and alts[: len(known)] == known  # unknown last
            page.click("[data-testid=ac-table] th[data-col=alt]")
            alts = page.evaluate("tailwatch.tableRows().map((h) => { const a = "
                                 "tailwatch.state.aircraft.get(h); return a.alt_baro === "
                                 "'ground' ? 0 : (a.alt_baro ?? null); })")
            known = [a for a in alts if a is not None]
            assert known == sorted(known, reverse=True) and known[0] == 22600  # AFR34ZG
            first_row = page.locator("[data-testid=ac-table] tbody tr[data-hex]").first
            assert first_row.get_attribute("data-hex") == "393322"
            # the aircraft whose positions come from multilateration is marked as such
            from tailwatch.core.schema import SOURCE_LABELS

            mlat = {f"{int(a):06x}" for a in world.positions["icao24"][
                world.positions["source"] == SOURCE_LABELS.index("mlat")]} & set(world.live)
            assert len(mlat) == 1
            row = page.locator(f"[data-testid=ac-table] tr[data-hex='{mlat.pop()}']")
            assert "mlat" in (row.get_attribute("class") or "") and "MLAT" in row.inner_text()

            # filtering narrows the list and the map, and goes into the URL
            page.fill("[data-testid=table-filter]", "SWR")
            page.wait_for_function("() => tailwatch.tableRows().length === 3", timeout=5_000)
            assert page.evaluate("tailwatch.rendered()") == 3
            page.wait_for_function("() => location.search.includes('filter=SWR')",
                                   timeout=5_000)
            page.fill("[data-testid=table-filter]", "")
            page.wait_for_function(f"() => tailwatch.tableRows().length === {n_live}",
                                   timeout=5_000)

            # keyboard: j / k walk the list, u cycles the units, ? shows the shortcuts
            page.locator("#map canvas").first.focus()
            page.keyboard.press("j")
            page.wait_for_function("() => tailwatch.state.selected.length === 1", timeout=5_000)
            first = page.evaluate("tailwatch.state.selected[0]")
            page.keyboard.press("j")
            page.wait_for_function(f"() => tailwatch.state.selected[0] !== '{first}'",
                                   timeout=5_000)
            page.keyboard.press("k")
            page.wait_for_function(f"() => tailwatch.state.selected[0] === '{first}'",
                                   timeout=5_000)
            page.keyboard.press("u")
            assert page.input_value("#units") == "metric"
            page.keyboard.press("u")
            page.keyboard.press("u")
            assert page.input_value("#units") == "aviation"
            page.keyboard.press("?")
            assert page.is_visible("#keys")
            page.keyboard.press("Escape")
            assert not page.is_visible("#keys") and page.evaluate("tailwatch.state.selected") == []

            # a click on a row selects; the URL follows the selection
            page.locator("[data-testid=ac-table] tr[data-hex='393322']").click()
            page.wait_for_function("() => location.search.includes('icao=393322')",
                                   timeout=5_000)
            assert page.evaluate("tailwatch.state.selected") == ["393322"]

            # a click on the aircraft on the map opens its panel with its identity
            page.evaluate("() => { tailwatch.select(null); tailwatch.map.jumpTo({center: "
                          "tailwatch.positionOf('393322'), zoom: 8}); }")
            page.wait_for_timeout(600)
            x, y = page.evaluate(
                "() => { const p = tailwatch.map.project(tailwatch.positionOf('393322'));"
                " const r = tailwatch.map.getCanvas().getBoundingClientRect();"
                " return [p.x + r.left, p.y + r.top]; }")
            page.mouse.click(x, y)
            page.wait_for_function(
                "() => document.querySelector('[data-testid=facts]')"
                ".textContent.includes('F-GMZC')", timeout=10_000)
            text = page.locator("[data-testid=facts]").inner_text()
            assert "A321" in text and "Air France" in text and "1000" in text
            assert page.locator("[data-testid=panel-title]").inner_text() == "AFR34ZG"
            page.locator("[data-testid=exports] a").first.wait_for(timeout=10_000)
            # its track of the day from the store is drawn
            sel = (world.positions["icao24"] == 0x393322) & np.isfinite(world.positions["lat"])
            buckets = np.unique(np.floor(world.positions["t"][sel] / 2)).shape[0]
            page.wait_for_function("() => tailwatch.storedTrack() > 0", timeout=10_000)
            # one position per 2 s of the day's track
            assert page.evaluate("tailwatch.storedTrack()") == buckets
            page.wait_for_timeout(300)
            page.screenshot(path=str(shots / "panel.png"))

            # itinerary with the report button
            page.click("[data-testid=btn-itinerary]")
            page.wait_for_function("() => document.querySelector('[data-testid=btn-report]')",
                                   timeout=10_000)
            href = page.get_attribute("[data-testid=btn-report]", "href")
            assert href and href.startswith("/api/map/report/393322.zip?")
            itin = page.locator("[data-testid=itinerary]").inner_text()
            # the 620 s gap (positions thinned to one per 30 s: 620-680 s)
            assert "LFPG → LFBO" in itin and re.search(r"not seen 1[01] min", itin)
            page.wait_for_timeout(400)
            page.screenshot(path=str(shots / "itinerary.png"))

            # search finds live aircraft by registration, and stored ones
            page.fill("[data-testid=search]", "F-GMZC")
            page.locator("[data-testid=results] li[data-hex='393322']").wait_for(timeout=5_000)
            page.fill("[data-testid=search]", world.stored_only)
            stored = page.locator(
                f"[data-testid=results] li.stored[data-hex='{world.stored_only}']")
            stored.wait_for(timeout=10_000)
            page.screenshot(path=str(shots / "search.png"))
            stored.click()  # selected, with its itinerary from the store (not live)
            page.wait_for_function(
                "() => /[1-9][0-9]* stored positions/.test(document.querySelector("
                "'[data-testid=itinerary]')?.textContent || '')", timeout=10_000)
            page.fill("[data-testid=search]", "")
            page.keyboard.press("Escape")

            # the events feed: the take-off, a click goes to its place, ▶ to its time
            page.click("[data-testid=tab-events]")
            ev = page.locator("[data-testid=event]").first
            ev.wait_for(timeout=10_000)
            assert "take-off" in ev.inner_text()
            ev.click()
            lon, lat = page.evaluate("() => tailwatch.map.getCenter().toArray()")
            assert abs(lat - 49.0097) < 0.01 and abs(lon - 2.5479) < 0.01
            page.wait_for_function("() => tailwatch.storedTrack() > 0", timeout=10_000)
            page.wait_for_timeout(300)
            page.screenshot(path=str(shots / "events.png"))
            ev.locator("button").click()
            page.wait_for_function("() => tailwatch.state.mode === 'playback'", timeout=15_000)
            t_pb = page.evaluate("tailwatch.state.playback.t")
            assert abs(t_pb - world.takeoff_t) < 1

            # playback moves the aircraft to where the stored track says it was
            pos = world.positions
            afr = pos["icao24"] == 0x393322
            t, la, lo = pos["t"][afr], pos["lat"][afr], pos["lon"][afr]
            page.evaluate("(t) => tailwatch.setPlaybackTime(t)", world.takeoff_t + 200)
            page.wait_for_timeout(200)
            pos_b = page.evaluate("() => tailwatch.positionOf('393322')")
            k = int(np.searchsorted(t, world.takeoff_t + 200, side="right") - 1)
            assert abs(pos_b[1] - la[k]) < 0.05 and abs(pos_b[0] - lo[k]) < 0.05
            page.evaluate("() => { tailwatch.map.jumpTo({center: "
                          "tailwatch.positionOf('393322'), zoom: 9}); }")
            page.wait_for_timeout(500)
            page.screenshot(path=str(shots / "playback.png"))
            page.click("#pb-live")

            # heatmap of the view, units, light map
            page.evaluate("() => { tailwatch.map.jumpTo({center: [5.5, 48], zoom: 5.3}); }")
            page.click("[data-testid=tab-filters]")
            page.select_option("#hm-hours", "6")
            page.check("[data-testid=layer-heatmap]")
            page.wait_for_function(
                "() => /[1-9][0-9,]* positions in view/.test("
                "document.querySelector('[data-testid=heatmap-info]').textContent)",
                timeout=15_000)
            page.select_option("#units", "metric")
            page.click("[data-testid=tab-list]")
            page.wait_for_function("() => document.querySelector('[data-testid=ac-table]')"
                                   ".textContent.includes(' m')", timeout=5_000)
            page.click("#theme")
            page.wait_for_timeout(600)
            page.screenshot(path=str(shots / "heatmap-light.png"))
            page.click("#theme")
            page.click("[data-testid=tab-filters]")
            page.uncheck("[data-testid=layer-heatmap]")
            page.select_option("#units", "aviation")

            # a deep link selects an aircraft and places the view; filters come from the URL
            page.goto(url + "/?icao=393322&lat=48.1&lon=2.15&zoom=8.5&filterCallSign=AFR",
                      wait_until="load")
            page.wait_for_function("() => window.tailwatch && tailwatch.state.selected[0] "
                                   "=== '393322' && tailwatch.frames() > 0", timeout=30_000)
            page.wait_for_function("() => document.querySelector('[data-testid=panel-title]')"
                                   "?.textContent === 'AFR34ZG'", timeout=10_000)
            lon, lat = page.evaluate("() => tailwatch.map.getCenter().toArray()")
            assert abs(lat - 48.1) < 0.01 and abs(lon - 2.15) < 0.01
            assert abs(page.evaluate("tailwatch.map.getZoom()") - 8.5) < 0.01
            page.wait_for_function("() => tailwatch.shown() === 1", timeout=5_000)
            q = _query(page)
            assert q["icao"] == ["393322"] and q["filterCallSign"] == ["AFR"]

            # readable on a phone: the panel becomes a bottom sheet under the map
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(600)
            box = page.locator("#side").bounding_box()
            assert box is not None and box["width"] == 390 and box["y"] > 300
            assert page.evaluate("tailwatch.rendered()") == 1  # AFR34ZG on the small map
            page.screenshot(path=str(shots / "phone.png"))

            # the binary feed of big worlds (forced here on the small one): same picture
            page.set_viewport_size({"width": 1280, "height": 800})
            page.goto(url + "/?feed=bin", wait_until="load")
            page.wait_for_function(f"() => window.tailwatch && tailwatch.feed() === 'bin' && "
                                   f"tailwatch.rendered() === {n_live}", timeout=30_000)
            assert sorted(page.evaluate("tailwatch.tableRows()")) == sorted(world.live)
            afr = world.positions["icao24"] == 0x393322
            last = int(np.flatnonzero(afr & np.isfinite(world.positions["lat"]))[-1])
            lon, lat = page.evaluate("tailwatch.positionOf('393322')")
            assert abs(lat - world.positions["lat"][last]) < 1e-4
            assert abs(lon - world.positions["lon"][last]) < 1e-4
            page.click("[data-testid=tab-list]")
            page.fill("[data-testid=table-filter]", "SWR")
            page.wait_for_function("() => tailwatch.tableRows().length === 3", timeout=5_000)
            assert page.evaluate("tailwatch.rendered()") == 3
            assert any("/api/map/positions.bin" in u for u in requests)
        finally:
            ctx.close()

    outside = [u for u in requests
               if urlsplit(u).scheme in ("http", "https", "ws", "wss")
               and urlsplit(u).hostname != "127.0.0.1"]
    assert not outside, f"requests left 127.0.0.1: {outside[:5]}"
    assert any(u.endswith("/static/data/countries.geojson") for u in requests)
    assert not problems, problems
