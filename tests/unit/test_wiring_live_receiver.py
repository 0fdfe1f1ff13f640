"""The live session's receiver: its position reaches the web view (receiver.json, r_dst)
and the GNSS monitor's radio-horizon check; the web view identifies from the store's
aircraft database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailwatch.config import load_settings
from tailwatch.live import LiveSession
from tailwatch.mlat.sites import FT_M, Site, Sites


def test_sites_give_the_web_view_and_gnss_a_receiver(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAILWATCH_DATA_DIR", str(tmp_path / "data"))
    from tailwatch.store import open_store

    store = open_store(str(tmp_path / "h.duckdb"))
    session = LiveSession(load_settings(), store, detect=False, web="127.0.0.1:0")
    try:
        assert session.state is not None
        assert session.state.receiver.lat is None  # nothing known yet
        # the resolver reads the store's aircraft database (tailwatch db update)
        assert session.state.identity.db_source is not None
        session.use_sites(Sites([Site("rx1", 54.5, 18.25, 30.48), Site("rx2", 55.0, 19.0)]))
        r = session.state.receiver
        assert (r.id, r.lat, r.lon) == ("rx1", 54.5, 18.25)
        rx = session.gnss.monitor.receivers
        assert rx.shape == (2, 3)
        assert rx[0].tolist() == pytest.approx([54.5, 18.25, 30.48 / FT_M])
    finally:
        session.close()
        store.close()
