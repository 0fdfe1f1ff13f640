"""State vectors and SBS records through the aggregator into the tracker's live table, receiver
counts from dedup into the stored positions, and the aggregator API-key header."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_ingest_net_http import http_server  # noqa: F401 - the loopback HTTP server fixture

from tailwatch import FrameBatch
from tailwatch.core.errors import ConfigError
from tailwatch.core.schema import SOURCE_LABELS
from tailwatch.ingest.aggregator import Aggregator, run_feed
from tailwatch.ingest.dedup import Dedup
from tailwatch.ingest.sources import Feed, FeedOptions, aggregator_headers
from tailwatch.ingest.urls import parse_source_url
from tailwatch.pipeline import Pipeline
from tailwatch.track.tracker import PositionBatch, Tracker

DATA = Path(__file__).parent.parent / "data"


def _run(urls: list[str], seconds: float, **opts: Any) -> tuple[Aggregator, list[PositionBatch]]:
    stored: list[PositionBatch] = []
    agg = Aggregator(Pipeline(tracker=Tracker(use_airports=False), sinks=[stored.append]))
    feed = Feed([parse_source_url(u) for u in urls], options=FeedOptions(
        batch_interval_s=0.05, **opts))
    asyncio.run(run_feed(feed, agg, duration_s=seconds, log_every_s=3600))
    return agg, stored


def test_polled_state_vectors_reach_the_live_snapshot_with_their_labels(
        http_server: tuple[str, dict[str, Any]]) -> None:  # noqa: F811
    host, _ = http_server
    agg, stored = _run([
        f"readsb+http://{host}/data/aircraft.json?rx=pi&interval=0.2",
        f"opensky+http://{host}/api/states/all?lamin=45&lomin=5&lamax=48&lomax=9&interval=0.2"
        f"&token_url=http://{host}/token",
    ], 0.7, opensky_client_id="me", opensky_client_secret="s3cret")
    snap = agg.pipeline.tracker.snapshot()
    c = snap.columns
    label = {int(a): SOURCE_LABELS[int(s)] for a, s in zip(c["icao24"], c["source"],
                                                            strict=True)}
    # readsb `type: adsb_icao` ranks and shows as ADS-B, no type as the feed (json); the
    # aircraft without a position (Mode S only, OpenSky null position) are in the table too
    assert label == {0x393322: "adsb", 0x3C6444: "json", 0x4CA123: "json", 0x406B90: "json",
                     0x4B1805: "opensky", 0x4B1806: "opensky", 0x4B1807: "opensky"}
    i = int(np.flatnonzero(c["icao24"] == 0x393322)[0])
    assert c["callsign"][i] == b"AFR34ZG" and c["squawk"][i] == 1000
    assert c["altitude_ft"][i] == 36000 and c["lat"][i] in (43.5, 43.6)
    j = int(np.flatnonzero(c["icao24"] == 0x4B1805)[0])
    assert c["callsign"][j] == b"SWR100" and c["squawk"][j] == 2000
    # the store got what the tracker accepted, with the source on every row
    pos = {k: np.concatenate([p[k] for p in stored]) for k in ("icao24", "source")}
    assert set(pos["icao24"].tolist()) == {0x393322, 0x3C6444, 0x4B1805, 0x4B1807}
    assert all(label[int(a)] == SOURCE_LABELS[int(s)]
               for a, s in zip(pos["icao24"], pos["source"], strict=True))
    counts = agg.counters()
    assert counts["state_positions"] == sum(len(p) for p in stored) > 0
    assert counts["pipeline"]["states"] == counts["state_rows"]


def test_two_receivers_hearing_the_same_frames_give_receivers_2() -> None:
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        recs = [json.loads(line) for line in fh][:6000]
    # the recording holds some frames twice (several receivers): keep each frame once
    _, first = np.unique([r["frame"] for r in recs], return_index=True)
    recs = [recs[i] for i in np.sort(first)]
    hexes = [r["frame"] for r in recs]
    t = np.array([r["timestamp"] for r in recs])
    a = FrameBatch.from_hex(hexes, t_rx=t)
    b = FrameBatch.from_hex(hexes, t_rx=t + 0.002)
    a.receiver[:] = 1
    b.receiver[:] = 2
    b = b.take(np.arange(len(b) - 500))  # receiver 1 alone hears the last 500 frames
    both = FrameBatch.concat([a, b])
    stored: list[PositionBatch] = []
    agg = Aggregator(Pipeline(tracker=Tracker(use_airports=False), sinks=[stored.append]),
                     dedup=Dedup(window_s=1.0), live=False)
    agg.frames(both, float(t[-1]))
    agg.flush()
    p = {k: np.concatenate([x[k] for x in stored]) for k in ("t", "receivers")}
    assert len(p["t"]) > 50
    t_only_a = t[len(t) - 500]
    assert set(p["receivers"][p["t"] < t_only_a].tolist()) == {2}
    assert set(p["receivers"][p["t"] > t_only_a + 0.01].tolist()) == {1}


def test_receiver_counts_follow_the_frames_decoding_keeps() -> None:
    with gzip.open(DATA / "traffic_rs1090_full_flight_short_AFR34ZG.jsonl.gz", "rt") as fh:
        recs = [json.loads(line) for line in fh][:3000]
    good = FrameBatch.from_hex([r["frame"] for r in recs], t_rx=[r["timestamp"] for r in recs])
    bad = FrameBatch.from_hex(["8d4840d6202cc371c32ce0576099"] * len(good),  # bad parity
                              t_rx=good.t_rx.copy())
    mixed = FrameBatch.concat([bad, good])
    mixed = mixed.take(np.argsort(mixed.t_rx, kind="stable"))
    is_good = np.array([mixed.hex(i) != "8d4840d6202cc371c32ce0576099"
                        for i in range(len(mixed))])
    nrx = np.where(is_good, 3, 7).astype(np.uint8)  # a dropped frame's count must not leak
    pos = Pipeline(tracker=Tracker(use_airports=False)).process(mixed, n_receivers=nrx)
    assert len(pos) > 10 and set(pos["receivers"].tolist()) == {3}


def test_aggregator_api_key_header_goes_only_to_its_hosts(
        http_server: tuple[str, dict[str, Any]]) -> None:  # noqa: F811
    assert aggregator_headers("adsbexchange.com", "k") == {"api-auth": "k"}
    assert aggregator_headers("api.adsbexchange.com", "k", "x-api-key") == {"x-api-key": "k"}
    assert aggregator_headers("api.adsb.lol", "k") == {}
    assert aggregator_headers("evil-adsbexchange.com", "k") == {}
    assert aggregator_headers("adsbexchange.com", "") == {}
    with pytest.raises(ConfigError):
        aggregator_headers("adsbexchange.com", "k", "bad header")
    with pytest.raises(ConfigError):
        aggregator_headers("adsbexchange.com", "k\r\nX-Other: 1")
    host, state = http_server
    url = f"adsbx+http://{host}/v2/point/50.1/8.6/50?interval=0.2&rx=x"
    _run([url], 0.3, aggregator_api_key="s3cret", aggregator_api_key_header="x-api-key",
         aggregator_api_key_hosts=("127.0.0.1",))
    sent = list(state["v2_keys"])
    assert sent and set(sent) == {"s3cret"}
    _run([url], 0.3, aggregator_api_key="s3cret", aggregator_api_key_header="x-api-key")
    assert len(state["v2_keys"]) > len(sent) and set(state["v2_keys"][len(sent):]) == {None}
