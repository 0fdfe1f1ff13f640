"""Alert delivery against a real HTTP receiver on loopback: Standard Webhooks signatures,
retries with backoff while the receiver fails, a dispatcher SIGKILLed mid-retry that
delivers after a restart exactly once per alert id, the SSRF guard, Apprise, local sinks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import itertools
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from _alert_helpers import doc_ruleset, resolver, scenario

from tailwatch.alert import AlertEngine, AlertSettings, Dispatcher, Outbox, load_rules
from tailwatch.alert.model import Alert
from tailwatch.alert.sinks import ConsoleSink, DeliveryError, FileSink, LogSink, WebhookSink
from tailwatch.alert.sinks.webhook import sign_webhook, verify_webhook
from tailwatch.alert.ssrf import TargetRefusedError, resolve_public

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


def independent_signature_ok(headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks verification written from the specification, not from our code."""
    key = base64.b64decode(SECRET.split("_", 1)[1])
    signed = b".".join([headers["webhook-id"].encode(), headers["webhook-timestamp"].encode(),
                        body])  # fmt: skip
    want = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    fresh = abs(time.time() - int(headers["webhook-timestamp"])) < 60
    return fresh and want in headers["webhook-signature"].split(" ")


class Receiver:
    """An HTTP server on 127.0.0.1:0 that records every request. ``fail_first`` answers 500
    to the first attempts of each webhook id; ``mode`` "fail" answers 500 to everything,
    "redirect" 302, "slow" sleeps before answering."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first = 0
        self.mode = "ok"
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    wid = headers.get("webhook-id", "")
                    n_before = sum(1 for r in receiver.requests if r["id"] == wid)
                    if receiver.mode == "fail" or (wid and n_before < receiver.fail_first):
                        status = 500
                    elif receiver.mode == "redirect":
                        status = 302
                    else:
                        status = 200
                    receiver.requests.append({
                        "id": wid, "path": self.path, "t": time.monotonic(),
                        "status": status, "headers": headers, "body": body,
                        "signed": "webhook-signature" in headers
                        and independent_signature_ok(headers, body),
                    })  # fmt: skip
                    mode = receiver.mode
                if mode == "slow":
                    time.sleep(1.5)
                self.send_response(status)
                if status == 302:
                    self.send_header("location", "/elsewhere")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def accepted(self) -> Counter[str]:
        with self.lock:
            return Counter(r["id"] for r in self.requests if r["status"] == 200)

    def attempts(self) -> Counter[str]:
        with self.lock:
            return Counter(r["id"] for r in self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def scenario_alerts(tmp_path: Path) -> list[Alert]:
    pos, ev = scenario()
    (tmp_path / "docs").mkdir(exist_ok=True)
    engine = AlertEngine(doc_ruleset(tmp_path / "docs"), identify=resolver)
    alerts = engine.evaluate_positions(pos) + engine.evaluate_events(ev)
    assert len(alerts) == 5
    return alerts


def hook_rules(tmp_path: Path, url: str) -> Path:
    p = tmp_path / "hook.yaml"
    p.write_text(f"""
sinks:
  hook: {{type: webhook, url: "{url}", secret: "{SECRET}"}}
rules:
  - {{id: ra-86496-seen, match: {{registration: RA-86496}}}}
  - {{id: emergency-near-me, match: {{squawk: "7700"}}}}
  - {{id: ru-mil-latam, match: {{event: landing}}}}
""")
    return p


FAST = AlertSettings(allow_private_webhooks=True, backoff_base_s=0.1, backoff_max_s=1.0,
                     webhook_timeout_s=1.0, max_attempts=10)  # fmt: skip


# --------------------------------------------------------------------------- signatures


def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    sig = sign_webhook(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": "v1,bm9wZQ== " + sig}  # fmt: skip
    assert verify_webhook(secret, headers, body, now=1614265330)
    assert not verify_webhook(secret, headers, body + b" ", now=1614265330)
    assert not verify_webhook(secret, headers, body, now=1614265330 + 3600)  # replayed late


# --------------------------------------------------------------------------- retries


def test_retries_with_backoff_until_the_receiver_recovers(
    tmp_path: Path, receiver: Receiver
) -> None:
    alerts = scenario_alerts(tmp_path)
    receiver.fail_first = 3
    rs = load_rules(hook_rules(tmp_path, receiver.url))
    d = Dispatcher.from_rules(rs, FAST, tmp_path / "data")
    assert [a.id for a in d.submit(alerts)] == [a.id for a in alerts]
    assert d.submit(alerts) == []  # the same alerts again: already stored
    total = d.run(until_idle=True, max_s=20)
    assert total == Counter({"retry": 15, "delivered": 5})
    assert receiver.accepted() == Counter({a.id: 1 for a in alerts})
    assert receiver.attempts() == Counter({a.id: 4 for a in alerts})
    with receiver.lock:
        reqs = list(receiver.requests)
    assert all(r["signed"] for r in reqs)
    for a in alerts:
        mine = [r for r in reqs if r["id"] == a.id]
        gaps = [y["t"] - x["t"] for x, y in itertools.pairwise(mine)]
        # 0.1 s, 0.2 s, 0.4 s less at most 25 % jitter
        assert [g >= 0.75 * 0.1 * 2**k for k, g in enumerate(gaps)] == [True] * 3
        doc = json.loads(mine[-1]["body"])
        assert doc["type"] == "tailwatch.alert" and doc["data"]["id"] == a.id
        assert doc["data"]["evidence"]["aircraft"]["icao24"] == a.icao24
    assert d.outbox.counts() == {"delivered": 5}
    assert {x["attempts"] for a in alerts for x in d.outbox.deliveries(a.id)} == {4}
    assert d.run_once() == Counter()  # nothing left to send
    d.outbox.close()


def test_gives_up_after_max_attempts(tmp_path: Path, receiver: Receiver) -> None:
    alerts = scenario_alerts(tmp_path)[:2]
    receiver.mode = "fail"
    rs = load_rules(hook_rules(tmp_path, receiver.url))
    settings = FAST.model_copy(update={"max_attempts": 3, "backoff_base_s": 0.02})
    d = Dispatcher.from_rules(rs, settings, tmp_path / "data")
    d.submit(alerts)
    assert d.run(until_idle=True, max_s=10) == Counter({"retry": 4, "failed": 2})
    assert receiver.attempts() == Counter({a.id: 3 for a in alerts})
    assert d.outbox.counts() == {"failed": 2}
    assert "HTTP 500" in d.outbox.deliveries(alerts[0].id)[0]["last_error"]
    d.outbox.close()


CHILD = r"""
import sys
from tailwatch.alert import AlertSettings, Dispatcher, load_rules
settings = AlertSettings(allow_private_webhooks=True, backoff_base_s=0.2, backoff_max_s=0.4,
                         webhook_timeout_s=0.5, max_attempts=1000)
d = Dispatcher.from_rules(load_rules(sys.argv[1]), settings, sys.argv[2])
print("ready", flush=True)
total = d.run(until_idle=True, max_s=25)
print("done", dict(total), flush=True)
"""


def test_killed_mid_retry_delivers_after_restart_exactly_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    alerts = scenario_alerts(tmp_path)
    rules = hook_rules(tmp_path, receiver.url)
    data = tmp_path / "data"
    parent = Dispatcher.from_rules(load_rules(rules), FAST, data)
    parent.submit(alerts)
    parent.outbox.close()
    ids = {a.id for a in alerts}

    receiver.mode = "fail"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(rules), str(data)],
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            seen = receiver.attempts()
            if set(seen) == ids and min(seen.values()) >= 2:
                break
            assert child.poll() is None, "the dispatcher stopped by itself"
            time.sleep(0.05)
        else:
            pytest.fail(f"the dispatcher did not retry: {receiver.attempts()}")
        child.send_signal(signal.SIGKILL)  # mid-retry
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert receiver.accepted() == Counter()
    with Outbox(data / "alerts.sqlite") as ob:
        assert ob.counts() == {"pending": 5}
        assert min(x["attempts"] for a in alerts for x in ob.deliveries(a.id)) >= 1

    receiver.mode = "ok"
    restarted = subprocess.run([sys.executable, "-c", CHILD, str(rules), str(data)],
                               capture_output=True, text=True, timeout=40)  # fmt: skip
    assert restarted.returncode == 0, restarted.stderr
    assert "'delivered': 5" in restarted.stdout
    assert receiver.accepted() == Counter({i: 1 for i in ids})
    with receiver.lock:
        assert all(r["signed"] for r in receiver.requests)
    # once more (the engine re-fires the same alerts after a restart): nothing new is sent
    again = Dispatcher.from_rules(load_rules(rules), FAST, data)
    assert again.submit(alerts) == []
    assert again.run_once() == Counter()
    assert again.outbox.counts() == {"delivered": 5}
    again.outbox.close()
    assert receiver.accepted() == Counter({i: 1 for i in ids})


# --------------------------------------------------------------------------- SSRF guard


def _fake_resolver(addr: str) -> Any:
    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        return [(2, 1, 6, "", (addr, port))]

    return resolve


@pytest.mark.parametrize(
    ("addr", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.1.10", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("100.64.0.1", "not globally routable"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("fd00:ec2::254", "cloud metadata"),
        ("0.0.0.0", "unspecified"),
    ],
)
def test_ssrf_guard_refuses_non_public_addresses(addr: str, reason: str) -> None:
    with pytest.raises(TargetRefusedError, match=reason):
        resolve_public("hooks.example.org", 443, resolver=_fake_resolver(addr))
    assert resolve_public("hooks.example.org", 443, allow_private=True,
                          resolver=_fake_resolver(addr)) == [addr]  # fmt: skip


def test_ssrf_guard_lets_public_addresses_through() -> None:
    assert resolve_public("x.example", 443, resolver=_fake_resolver("93.184.216.34")) == [
        "93.184.216.34"
    ]
    with pytest.raises(TargetRefusedError, match="metadata"):
        resolve_public("metadata.google.internal", 80, resolver=_fake_resolver("8.8.8.8"))


def test_webhooks_to_private_targets_are_refused_by_default(
    tmp_path: Path, receiver: Receiver
) -> None:
    alert = scenario_alerts(tmp_path)[0]
    for url in (receiver.url, "http://10.0.0.1/hook", "http://169.254.169.254/latest/"):
        sink = WebhookSink("h", url, SECRET, timeout_s=0.5)
        with pytest.raises(DeliveryError) as e:
            sink.send(alert)
        assert e.value.permanent and "refused" in str(e.value)
    assert receiver.attempts() == Counter()  # nothing reached the loopback receiver

    rs = load_rules(hook_rules(tmp_path, receiver.url))
    d = Dispatcher.from_rules(rs, AlertSettings(), tmp_path / "data")  # default settings
    d.submit([alert])
    assert d.run_once() == Counter({"refused": 1})
    assert d.outbox.counts() == {"refused": 1}
    assert d.run_once() == Counter()  # not retried
    d.outbox.close()
    assert receiver.attempts() == Counter()


def test_redirects_are_not_followed_and_timeouts_bound_an_attempt(
    tmp_path: Path, receiver: Receiver
) -> None:
    alert = scenario_alerts(tmp_path)[0]
    sink = WebhookSink("h", receiver.url, SECRET, timeout_s=0.3, allow_private=True)
    receiver.mode = "redirect"
    with pytest.raises(DeliveryError, match="302") as e:
        sink.send(alert)
    assert not e.value.permanent
    assert [r["path"] for r in receiver.requests] == ["/hook"]  # /elsewhere never asked
    receiver.mode = "slow"
    start = time.monotonic()
    with pytest.raises(DeliveryError, match=r"(?i)timed? ?out"):
        sink.send(alert)
    assert time.monotonic() - start < 1.2


# --------------------------------------------------------------------------- other sinks


def test_apprise_delivers_to_a_json_target_and_obeys_the_guard(
    tmp_path: Path, receiver: Receiver
) -> None:
    pytest.importorskip("apprise")
    from tailwatch.alert.sinks.apprise_sink import AppriseSink

    alert = next(a for a in scenario_alerts(tmp_path) if a.what == "landing")
    port = receiver.server.server_address[1]
    url = f"json://127.0.0.1:{port}/apprise"
    with pytest.raises(DeliveryError, match="loopback") as e:
        AppriseSink("chat", url).send(alert)
    assert e.value.permanent and receiver.attempts() == Counter()
    AppriseSink("chat", url, allow_private=True).send(alert)
    (req,) = receiver.requests
    assert req["path"] == "/apprise"
    doc = json.loads(req["body"])
    assert "RA-86496" in doc["title"] and "SVMI" in doc["title"]
    assert alert.id in doc["message"]


def test_local_sinks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    alerts = scenario_alerts(tmp_path)
    out = tmp_path / "alerts.jsonl"
    fs = FileSink("file", out)
    for a in alerts:
        fs.send(a)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == [a.id for a in alerts]
    buf = io.StringIO()
    ConsoleSink("screen", buf).send(alerts[0])
    assert alerts[0].id in buf.getvalue() and "RA-86496" in buf.getvalue()
    with caplog.at_level(logging.WARNING, logger="tailwatch.alert"):
        LogSink("log").send(alerts[-1])
    assert alerts[-1].id in caplog.text
