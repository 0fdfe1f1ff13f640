"""The web map in a real browser (Debian's Chromium driven by Playwright), fully offline.

Run with ``pytest -m peer tests/browser``. Set-up: ``apt-get install -y chromium`` and
``pip install playwright`` (no ``playwright install``: the system Chromium is used). The test
fails, with the reason, when either is missing. Screenshots go to a temporary folder, or to
$TAILWATCH_SCREENSHOTS when set (``make screenshots`` sets it to docs/screenshots/): running
the tests never changes a tracked file.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from _serve_replay import replay, t0

from tailwatch.config import ServeSettings
from tailwatch.reference.aircraft_db import AircraftDB, AircraftRecord
from tailwatch.serve import IdentityResolver, LiveState, ReceiverInfo
from tailwatch.serve.server import ServerThread
from tailwatch.store import open_store

pytestmark = pytest.mark.peer

ROOT = Path(__file__).resolve().parents[2]
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
    T = t0() + 1800
    snaps, pos = replay([T])
    store = open_store(":memory:")
    store.write("positions", pos.columns)
    db = AircraftDB.from_records([
        AircraftRecord("393322", "F-GMZC", "A321", "AIRBUS A-321", "Air France", 0, None,
                       "test-db"),
    ])
    state = LiveState(store=store, identity=IdentityResolver(db=db),
                      receiver=ReceiverInfo(id="cdg", name="Paris CDG", lat=49.0097,
                                            lon=2.5479))
    state.publish(snaps[0])
    thread = ServerThread(state, ServeSettings(host="127.0.0.1", port=0))
    url = thread.start()
    try:
        yield {"url": url, "T": T, "positions": pos.columns}
    finally:
        thread.stop()


def test_web_map_offline(server: dict[str, Any], tmp_path: Path) -> None:
    sync_playwright = _require_browser()
    SHOTS = Path(os.environ.get("TAILWATCH_SCREENSHOTS") or tmp_path / "shots")
    SHOTS.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 800})
        try:
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("console", lambda m: problems.append(f"console: {m.text}")
                    if m.type == "error" else None)
            t_start = time.monotonic()
            page.goto(server["url"] + "/", wait_until="load")

            # the map loads, the aircraft appears and is drawn
            page.wait_for_function("() => window.tailwatch && window.tailwatch.count() >= 1",
                                   timeout=30_000)
            page.wait_for_function("() => window.tailwatch.rendered() >= 1", timeout=60_000)
            print(f"first render after {time.monotonic() - t_start:.1f} s")
            page.wait_for_timeout(500)
            page.screenshot(path=str(SHOTS / "map.png"))

            # a click on the aircraft opens the panel with its identity
            page.evaluate("() => { tailwatch.map.jumpTo({center: tailwatch.positionOf('393322'), "
                          "zoom: 8}); }")
            page.wait_for_timeout(800)
            # its callsign is drawn beside it from zoom 7 (system font: no glyph server)
            page.wait_for_function(
                "() => tailwatch.map.queryRenderedFeatures({layers: ['aircraft-labels']})"
                ".some((f) => f.properties.label === 'AFR34ZG')", timeout=10_000)
            x, y = page.evaluate(
                "() => { const p = tailwatch.map.project(tailwatch.positionOf('393322'));"
                " const r = tailwatch.map.getCanvas().getBoundingClientRect();"
                " return [p.x + r.left, p.y + r.top]; }")
            page.mouse.click(x, y)
            facts = page.locator("[data-testid=facts]")
            facts.wait_for(timeout=10_000)
            page.wait_for_function(
                "() => document.querySelector('[data-testid=facts]')"
                ".textContent.includes('F-GMZC')",
                timeout=10_000)
            text = facts.inner_text()
            assert "A321" in text and "France" in text and "1000" in text
            assert page.locator("[data-testid=panel-title]").inner_text() == "AFR34ZG"
            page.locator("[data-testid=exports] a").first.wait_for(timeout=10_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(SHOTS / "panel.png"))

            # search finds it by registration
            page.evaluate("() => { tailwatch.state.selected = null; }")
            page.fill("[data-testid=search]", "F-GMZC")
            hit = page.locator("[data-testid=results] li[data-hex='393322']")
            hit.wait_for(timeout=5_000)
            page.screenshot(path=str(SHOTS / "search.png"))
            hit.click()
            page.wait_for_function("() => tailwatch.state.selected === '393322'", timeout=5_000)

            # playback moves it
            page.click("[data-testid=tab-playback]")
            first, last = float(server["positions"]["t"][0]), server["T"]
            page.evaluate(
                "([a, b]) => { const f = (s) => { const d = new Date(s * 1000); "
                "const z = (n) => String(n).padStart(2, '0'); return `${d.getFullYear()}-"
                "${z(d.getMonth() + 1)}-${z(d.getDate())}T${z(d.getHours())}:"
                "${z(d.getMinutes())}:${z(d.getSeconds())}`; };"
                " document.querySelector('#pb-from').value = f(a);"
                " document.querySelector('#pb-to').value = f(b); }", [first - 1, last])
            page.select_option("[data-testid=pb-scope]", "selected")  # just this aircraft
            page.click("[data-testid=pb-load]")
            page.wait_for_function("() => tailwatch.state.mode === 'playback'", timeout=15_000)
            assert any("/api/history?" in u and "icao24=393322" in u for u in requests)
            t_a = first + 1500
            t_b = first + 1700
            page.evaluate("(t) => { tailwatch.setPlaybackTime(t); }", t_a)
            page.wait_for_timeout(300)
            pos_a = page.evaluate("() => tailwatch.positionOf('393322')")
            page.evaluate("(t) => { tailwatch.setPlaybackTime(t); }", t_b)
            page.wait_for_timeout(300)
            pos_b = page.evaluate("() => tailwatch.positionOf('393322')")
            assert pos_a is not None and pos_b is not None
            # it moved, and to where the stored track says it was
            t = server["positions"]["t"]
            k = int(np.searchsorted(t, t_b, side="right") - 1)
            assert pos_a != pos_b
            assert abs(pos_b[1] - server["positions"]["lat"][k]) < 0.05
            assert abs(pos_b[0] - server["positions"]["lon"][k]) < 0.05
            page.evaluate("() => { tailwatch.map.jumpTo({center: tailwatch.positionOf('393322'), "
                          "zoom: 7}); }")
            page.wait_for_timeout(800)
            page.screenshot(path=str(SHOTS / "playback.png"))

            # playback of the area in view: the request carries the map's bounding box
            page.select_option("[data-testid=pb-scope]", "area")
            with page.expect_response(lambda r: "/api/history?" in r.url and "box=" in r.url,
                                      timeout=15_000) as area:
                page.click("[data-testid=pb-load]")
            assert area.value.ok and area.value.json()["count"] > 0  # the aircraft is in view

            # readable on a phone
            phone = ctx.new_page()
            phone.set_viewport_size({"width": 390, "height": 844})
            phone.on("request", lambda r: requests.append(r.url))
            phone.goto(server["url"] + "/", wait_until="load")
            phone.wait_for_function(
                "() => window.tailwatch && window.tailwatch.rendered() >= 1",
                                    timeout=60_000)
            phone.wait_for_timeout(500)
            phone.screenshot(path=str(SHOTS / "phone.png"))
        finally:
            ctx.close()

    outside = [u for u in requests
               if urlsplit(u).scheme in ("http", "https", "ws", "wss")
               and urlsplit(u).hostname != "127.0.0.1"]
    assert not outside, f"requests left 127.0.0.1: {outside[:5]}"
    assert any(u.endswith("/static/data/countries.geojson") for u in requests)
    assert not problems, problems
