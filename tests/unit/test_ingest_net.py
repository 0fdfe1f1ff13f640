"""Live TCP ingest: URL syntax, framers, reconnection and back-off, timeouts, garbage,
bounded buffers and back-pressure, listeners, and the re-serving outputs — against loopback
servers, on the committed Beast sample."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tailwatch.core.errors import ConfigError
from tailwatch.core.frames import FrameBatch
from tailwatch.core.schema import SOURCE_LABELS
from tailwatch.ingest.avr import encode_avr
from tailwatch.ingest.beast import encode_beast, parse_beast
from tailwatch.ingest.files import read_frames
from tailwatch.ingest.net import (
    AvrFramer,
    BeastFramer,
    NetOptions,
    Outlet,
    ProtocolMismatchError,
    Receivers,
    SbsFramer,
    SourceCounters,
    run_tcp_client,
    stamp_arrival,
    start_listener,
)
from tailwatch.ingest.outputs import FeedServer, encode_positions_sbs
from tailwatch.ingest.positions import make_positions
from tailwatch.ingest.sbs import parse_sbs
from tailwatch.ingest.urls import parse_address, parse_source_url, receiver_id64

DATA = Path(__file__).resolve().parents[1] / "data"
BEAST = DATA / "traffic_sample_dump1090.beast"
FAST = NetOptions(connect_timeout_s=1.0, idle_timeout_s=0.3, backoff_initial_s=0.05,
                  backoff_max_s=0.2)


def run(coro: Awaitable[Any], timeout: float = 10.0) -> Any:
    async def main() -> Any:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(main())


def sample() -> tuple[bytes, FrameBatch]:
    raw = BEAST.read_bytes()
    return raw, FrameBatch.concat(list(read_frames(BEAST, "beast")))


# ----------------------------------------------------------------------------- URLs


def test_every_documented_url_form_parses() -> None:
    s = parse_source_url("beast+tcp://192.0.2.1:30005?rx=roof&lat=48.1&lon=11.5")
    assert (s.kind, s.mode, s.host, s.port, s.name) == ("beast", "connect", "192.0.2.1",
                                                        30005, "roof")
    assert s.position == (48.1, 11.5) and s.carries_frames
    assert s.id64 == receiver_id64("roof") != 0
    s = parse_source_url("beast+listen://127.0.0.1:30004")
    assert (s.kind, s.mode, s.port) == ("beast", "listen", 30004) and s.position is None
    assert parse_source_url("avr+tcp://h:30002").kind == "avr"
    assert parse_source_url("avr+listen://127.0.0.1:30001").mode == "listen"
    s = parse_source_url("sbs+tcp://h:30003")
    assert s.kind == "sbs" and not s.carries_frames
    s = parse_source_url("readsb+http://pi.local/data/aircraft.json?rx=pi&interval=2")
    assert (s.kind, s.mode, s.http_url, s.interval_s) == (
        "readsb", "poll", "http://pi.local/data/aircraft.json", 2.0)
    s = parse_source_url("file:///tmp/x.bin?format=beast&speed=10")
    assert (s.kind, s.path, s.file_format, s.speed, s.name) == ("file", "/tmp/x.bin", "beast",
                                                                10.0, "x.bin")
    assert parse_source_url("file:///tmp/x.bin?speed=max").speed == 0.0


def test_public_apis_keep_their_terms_and_rate_limits() -> None:
    s = parse_source_url("opensky+https://opensky-network.org/api/states/all?lamin=45&lomin=5"
                         "&lamax=47&lomax=7&rx=osn&interval=1")
    # own parameters never reach the API; the box does
    assert s.http_url == ("https://opensky-network.org/api/states/all?lamin=45&lomin=5&"
                          "lamax=47&lomax=7")
    assert not s.redistribute and s.interval_s >= 10.0
    with pytest.raises(ConfigError, match="forbid"):
        parse_source_url("opensky+https://opensky-network.org/api/states/all?redistribute=1")
    with pytest.raises(ConfigError, match="forbid"):
        parse_source_url("adsbx+https://api.airplanes.live/v2/mil?redistribute=1")
    lol = parse_source_url("adsbx+https://api.adsb.lol/v2/point/48.1/11.5/50")
    assert lol.redistribute and "ODbL" in lol.attribution and lol.interval_s >= 1.0
    assert not parse_source_url("adsbx+https://api.airplanes.live/v2/hex/3c6444").redistribute
    unknown = parse_source_url("adsbx+https://example.org/v2/mil")
    assert not unknown.redistribute
    assert parse_source_url("adsbx+https://example.org/v2/mil?redistribute=1").redistribute


@pytest.mark.parametrize("url", [
    "beast://h:1", "beast+udp://h:1", "beast+tcp://h", "beast+tcp://:30005",
    "beast+tcp://h:99999", "readsb+ftp://h/x", "file://remote/x", "file:///x?speed=0",
    "file:///x?format=parquet", "beast+tcp://h:1?lat=91", "nothing",
])
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        parse_source_url(url)


def test_addresses() -> None:
    assert parse_address("127.0.0.1:30005") == ("127.0.0.1", 30005)
    assert parse_address(":30005") == ("127.0.0.1", 30005)
    assert parse_address("30005") == ("127.0.0.1", 30005)
    assert parse_address("[::1]:30005") == ("::1", 30005)
    with pytest.raises(ConfigError):
        parse_address("a:b:c")


# ----------------------------------------------------------------------------- framers


def _framer(limit: int = 512) -> tuple[BeastFramer, SourceCounters]:
    c = SourceCounters("t")
    return BeastFramer("t", 7, c, Receivers(), garbage_limit=limit), c


@pytest.mark.parametrize("size", [1, 2, 3, 7, 16, 100, 4096])
def test_beast_framer_is_independent_of_read_sizes(size: int) -> None:
    raw, ref = sample()
    f, c = _framer()
    out = []
    for i in range(0, len(raw), size):
        ch = f.feed(raw[i:i + size], 1000.0 + i)
        if ch is not None and ch.frames is not None:
            out.append(ch.frames)
    got = FrameBatch.concat(out)
    assert len(got) == len(ref) == c.frames == 239
    assert np.array_equal(got.raw, ref.raw) and np.array_equal(got.ts_12mhz, ref.ts_12mhz)
    assert np.array_equal(got.receiver, np.full(239, 7))
    assert not np.isnan(got.t_rx).any() and f.pending == 0


def test_arrival_stamp_spreads_one_read_by_the_12mhz_counter() -> None:
    fb = FrameBatch.from_hex(["8d4840d6202cc371c32ce0576098"] * 3)
    fb.ts_12mhz[:] = [12_000_000, 12_000_000 + 6_000_000, 12_000_000 + 12_000_000]
    stamp_arrival(fb, 100.0)
    assert np.allclose(fb.t_rx, [99.0, 99.5, 100.0])
    fb2 = FrameBatch.from_hex(["8d4840d6202cc371c32ce0576098"] * 4)
    fb2.ts_12mhz[:] = [1, 100 * 12_000_000, 12_000_000, 24_000_000]
    fb2.receiver[:] = [1, 1, 2, 2]
    stamp_arrival(fb2, 50.0)
    # receiver 1: 100 s apart in one read is not a 12 MHz counter; receiver 2 has its own
    assert np.allclose(fb2.t_rx, [50.0, 50.0, 49.0, 50.0])


def test_beast_port_closes_on_sbs_text_at_once() -> None:
    f, _ = _framer()
    with pytest.raises(ProtocolMismatchError) as e:
        f.feed(b"MSG,3,1,1,4840D6,1,2024/01/01,00:00:00.000,,,,,,,,,,,,,,\r\n", 0.0)
    assert e.value.reason == "sbs_text_on_beast_port"


def test_beast_port_closes_after_512_garbage_bytes_and_names_it() -> None:
    f, _ = _framer()
    junk = bytes(range(32, 127)) * 4  # 380 bytes of text, no 0x1a
    assert f.feed(junk, 0.0) is None  # below the limit: kept open
    with pytest.raises(ProtocolMismatchError) as e:
        f.feed(junk, 0.0)
    assert e.value.reason == "garbage"
    f, _ = _framer()
    avr = b"*8D4840D6202CC371C32CE0576098;\n" * 20
    with pytest.raises(ProtocolMismatchError) as e:
        f.feed(avr, 0.0)
    assert e.value.reason == "avr_text_on_beast_port"


def test_garbage_between_frames_does_not_close_a_real_stream() -> None:
    raw, _ = sample()
    f, c = _framer()
    for i in range(0, len(raw), 400):
        f.feed(b"\x00" * 300 + raw[i:i + 400], 0.0)  # 300 bytes of junk per read, frames too
    assert c.frames > 200


def test_avr_and_sbs_framers() -> None:
    _, ref = sample()
    text = encode_avr(ref, timestamps=True) + b"*0000;\n"
    c = SourceCounters("a")
    f = AvrFramer("a", 3, c)
    ch = f.feed(text[:1000], 0.0)
    ch2 = f.feed(text[1000:], 0.0)
    got = FrameBatch.concat([x.frames for x in (ch, ch2) if x is not None and x.frames])
    assert np.array_equal(got.raw, ref.raw) and c.rejects["avr_heartbeat"] == 1
    with pytest.raises(ProtocolMismatchError) as e:
        AvrFramer("a", 3, SourceCounters("a")).feed(bytes(range(256)) * 3, 0.0)
    assert e.value.reason == "binary_on_text_port"
    # SBS: every MSG record becomes a state-vector row (the tracker merges them)
    lines = (b"MSG,1,1,1,4840D6,1,2024/01/01,00:00:00.000,2024/01/01,00:00:00.000,KLM1023,,,,,"
             b",,,,,,\r\n"
             b"MSG,3,1,1,4840D6,1,2024/01/01,00:00:01.000,2024/01/01,00:00:01.000,,38000,,,"
             b"52.25720,3.91937,,,0,0,0,0\r\n"
             b"MSG,3,1,1,~AB0001,1,2024/01/01,00:00:01.000,2024/01/01,00:00:01.000,,1000,,,"
             b"52.0,3.9,,,0,0,0,0\r\n\r\n")
    c = SourceCounters("s")
    ch = SbsFramer("s", c, receiver=7).feed(lines, 1234.5)
    assert ch is not None and ch.states is not None
    p = ch.states
    assert len(p) == 2 and p["callsign"].tolist() == [b"KLM1023", b""]
    assert p["t"].tolist() == [1234.5, 1234.5] and p["receiver"].tolist() == [7, 7]
    assert np.isnan(p["lat"][0]) and math.isclose(p["lat"][1], 52.2572)
    assert p["altitude_ft"][1] == 38000 and c.positions == 1
    assert set(p["source"].tolist()) == {SOURCE_LABELS.index("sbs")}
    assert c.rejects["sbs_non_icao"] == 1


# ----------------------------------------------------------------------------- TCP


async def _server(handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                    Awaitable[None]]) -> tuple[asyncio.Server, int]:
    srv = await asyncio.start_server(handler, "127.0.0.1", 0)
    return srv, int(srv.sockets[0].getsockname()[1])


async def _client(port: int, c: SourceCounters, outlet: Outlet, opts: NetOptions = FAST,
                  delays: list[float] | None = None) -> asyncio.Task[None]:
    async def sleep(d: float) -> None:
        if delays is not None:
            delays.append(d)
        await asyncio.sleep(d)

    rx = Receivers()
    return asyncio.create_task(run_tcp_client(
        "t", "127.0.0.1", port, lambda: BeastFramer("t", 1, c, rx, opts.garbage_limit),
        outlet, c, opts, sleep=sleep))


async def _drain(outlet: Outlet) -> list[FrameBatch]:
    out = []
    while not outlet.queue.empty():
        ch = outlet.queue.get_nowait()
        if ch.frames is not None:
            out.append(ch.frames)
    return out


def test_server_that_closes_is_reconnected_with_backoff_reset_after_data() -> None:
    raw, _ = sample()

    async def main() -> tuple[SourceCounters, int, list[float]]:
        served = 0

        async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            nonlocal served
            served += 1
            w.write(raw)
            await w.drain()
            w.close()

        srv, port = await _server(handler)
        c, outlet, delays = SourceCounters("t"), Outlet(1000), []
        task = await _client(port, c, outlet, delays=delays)
        while served < 3:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        task.cancel()
        srv.close()
        frames = FrameBatch.concat(await _drain(outlet))
        return c, len(frames), delays

    c, n, delays = run(main())
    assert c.connects >= 3 and c.reconnects >= 2 and c.closes["eof"] >= 2
    assert n == c.frames and n >= 2 * 239 and n % 239 == 0
    # every connection delivered data, so the back-off is reset each time
    assert set(delays) == {FAST.backoff_initial_s}


def test_refused_connection_backs_off_doubling_to_the_cap() -> None:
    async def main() -> tuple[SourceCounters, list[float]]:
        srv, port = await _server(lambda r, w: asyncio.sleep(0))
        srv.close()
        await srv.wait_closed()  # nothing listens on port any more
        c, delays = SourceCounters("t"), []
        task = await _client(port, c, Outlet(), delays=delays)
        while len(delays) < 5:
            await asyncio.sleep(0.01)
        task.cancel()
        return c, delays

    c, delays = run(main())
    assert delays[:5] == [0.05, 0.1, 0.2, 0.2, 0.2]
    assert c.closes["connect_failed"] >= 5 and c.connects == 0 and c.reconnects >= 4
    assert "127.0.0.1" in c.last_error


def test_stalled_server_hits_the_no_data_timeout_and_is_reconnected() -> None:
    async def main() -> SourceCounters:
        async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            await asyncio.sleep(5)  # accept, then say nothing

        srv, port = await _server(handler)
        c = SourceCounters("t")
        task = await _client(port, c, Outlet())
        while c.closes["idle_timeout"] < 2:
            await asyncio.sleep(0.02)
        task.cancel()
        srv.close()
        return c

    c = run(main())
    assert c.closes["idle_timeout"] >= 2 and c.connects >= 2 and c.frames == 0


@pytest.mark.parametrize(("payload", "reason"), [
    (bytes([0x00, 0x55, 0xAA]) * 400, "garbage"),
    (b"MSG,8,1,1,4840D6,1,2024/01/01,00:00:00.000,2024/01/01,00:00:00.000,,,,,,,,,,,,0\r\n"
     * 50, "sbs_text_on_beast_port"),
])
def test_garbage_sender_is_closed_with_its_reason(payload: bytes, reason: str) -> None:
    async def main() -> tuple[SourceCounters, bool]:
        peer_saw_close = asyncio.Event()

        async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.write(payload)
            await w.drain()
            if await r.read(100) == b"":  # tailwatch hung up on us
                peer_saw_close.set()
            w.close()

        srv, port = await _server(handler)
        c = SourceCounters("t")
        task = await _client(port, c, Outlet())
        async with asyncio.timeout(3):
            await peer_saw_close.wait()
        task.cancel()
        srv.close()
        return c, peer_saw_close.is_set()

    c, closed = run(main())
    assert closed and c.closes[reason] >= 1 and c.frames == 0


def test_full_queue_back_pressures_the_sender_and_loses_nothing() -> None:
    _, ref = sample()
    big = encode_beast(FrameBatch.concat([ref] * 400))  # ~1.7 MB, 95,600 frames

    async def main() -> tuple[int, int, int]:
        done = asyncio.Event()

        async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.write(big)
            await w.drain()
            done.set()
            await asyncio.sleep(5)

        srv, port = await _server(handler)
        c = SourceCounters("t")
        outlet = Outlet(maxsize=2)
        task = await _client(port, c, outlet, NetOptions(idle_timeout_s=5.0))
        await asyncio.sleep(0.3)  # nobody consumes: the reader must stop
        read_while_blocked = c.bytes
        frames = 0
        while frames < 400 * 239:
            ch = await outlet.queue.get()
            frames += len(ch.frames) if ch.frames is not None else 0
        task.cancel()
        srv.close()
        return read_while_blocked, frames, c.frames

    blocked, frames, counted = run(main())
    # the queue holds 2 reads of at most 64 KiB, one more waits to be queued, plus what
    # the stream reader buffers (64 KiB): the rest stays in the kernel and the sender waits
    assert blocked <= 5 * 65536 < len(big)
    assert frames == counted == 400 * 239


def test_listener_accepts_pushes_from_several_senders() -> None:
    raw, _ = sample()

    async def main() -> tuple[SourceCounters, int]:
        c = SourceCounters("in")
        outlet = Outlet(1000)
        rx = Receivers()
        lst = await start_listener("in", "127.0.0.1", 0,
                                   lambda: BeastFramer("in", 1, c, rx), outlet, c, FAST)
        for _ in range(3):
            _, w = await asyncio.open_connection("127.0.0.1", lst.port)
            w.write(raw)
            await w.drain()
            w.close()
        while c.frames < 3 * 239:
            await asyncio.sleep(0.01)
        await lst.close()
        return c, len(FrameBatch.concat(await _drain(outlet)))

    c, n = run(main())
    assert c.connects == 3 and n == 3 * 239


# ----------------------------------------------------------------------------- outputs


def test_beast_output_serves_frames_with_receiver_ids_and_drops_slow_clients() -> None:
    _, ref = sample()
    fb = FrameBatch.concat([ref, ref])
    fb.receiver[:239] = 1
    fb.receiver[239:] = 2
    ids = {1: 0x1111, 2: 0x2222_0000_1A1A}

    async def main() -> tuple[bytes, int]:
        srv = FeedServer("beast", "127.0.0.1", 0, receiver_ids=ids, max_buffer_bytes=20_000)
        await srv.start()
        r, w = await asyncio.open_connection("127.0.0.1", srv.port)
        _slow_r, slow_w = await asyncio.open_connection("127.0.0.1", srv.port)
        while srv.counters.clients < 2:
            await asyncio.sleep(0.01)
        srv.send_frames(fb)
        data = await r.readexactly(len(encode_beast(fb, receiver_ids=ids)))
        big = FrameBatch.concat([fb] * 20)
        for _ in range(2000):  # the slow client never reads: its buffer grows, it is dropped
            srv.send_frames(big)
            await r.read(1 << 22)
            if srv.counters.slow_clients:
                break
        await srv.close()
        w.close()
        slow_w.close()
        return data, srv.counters.slow_clients

    data, slow = run(main())
    got, _, st = parse_beast(data, receiver=9)
    assert np.array_equal(got.raw, fb.raw) and np.array_equal(got.ts_12mhz, fb.ts_12mhz)
    assert {st.receiver_ids[int(u)] for u in np.unique(got.receiver)} == {0x1111,
                                                                          0x2222_0000_1A1A}
    assert slow == 1


def test_idle_output_sends_heartbeats_that_readers_do_not_count_as_garbage() -> None:
    async def main() -> bytes:
        srv = FeedServer("beast", "127.0.0.1", 0, heartbeat_s=0.1)
        await srv.start()
        r, w = await asyncio.open_connection("127.0.0.1", srv.port)
        data = await r.readexactly(22)
        await srv.close()
        w.close()
        return data

    data = run(main())
    f, c = _framer()
    assert f.feed(data, 0.0) is None and c.rejects["beast_heartbeat"] == 2


def test_sbs_output_round_trips_positions() -> None:
    pb = make_positions({
        "t": [1.7e9, 1.7e9 + 1], "icao24": [0x4840D6, 0x393322], "lat": [52.2572, 43.6],
        "lon": [3.91937, 1.37], "altitude_ft": [38000, np.nan], "gs_kt": [450, 12],
        "track_deg": [90, 180], "vrate_fpm": [0, np.nan], "on_ground": [0, 1],
        "callsign": [b"KLM1023", b""], "squawk": [7700, -1]}, "adsb")
    cols, _, rej = parse_sbs(encode_positions_sbs(pb))
    assert not rej
    assert cols["sbs_type"].tolist() == [3, 4, 1, 6, 2, 4]
    pos = np.isin(cols["sbs_type"], (2, 3))
    assert np.allclose(cols["lat"][pos], [52.2572, 43.6]) and cols["on_ground"][pos].tolist() == [
        0, 1]
    assert cols["callsign"][cols["sbs_type"] == 1][0] == b"KLM1023"
    assert cols["squawk"][cols["sbs_type"] == 6][0] == 7700
