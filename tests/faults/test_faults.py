"""Faults against the running platform (real processes, the real RabbitMQ and PostgreSQL), while citizens submit:
each service killed with SIGKILL in turn and brought back, RabbitMQ restarted, PostgreSQL restarted.

While something is down the gateway answers 503, never a 500. Afterwards every application answered 201 exists
exactly once, its ``application.submitted`` CloudEvent is on the public feed (counted by event id) and its citizen
was told exactly once. Run by ``make test-faults`` (marker ``faults``; the broker and database restarts would
disturb other test runs sharing this machine's RabbitMQ and PostgreSQL, so ``make test`` leaves them out).
"""
from __future__ import annotations

import collections
import json
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pika
import pytest
import requests
from journeys import apply, make_region, new_citizen
from support import all_items, wait_for

from devtools.platform import ROOT

pytestmark = pytest.mark.faults

CLIENTS = 3
PAUSE = 0.05  # between one client's submissions: a steady stream, not a load test
KILLED_FOR = 2.0  # seconds a killed service stays down before it is started again
SERVICES_SH = ROOT / "devtools" / "services.sh"  # starts RabbitMQ and PostgreSQL when stopped, waits for them


class Stream:
    """``CLIENTS`` threads submitting applications until stopped; every answer kept with the time it came."""

    def __init__(self, citizen, region):
        self.citizen, self.region = citizen, region
        self.answers: list[tuple[float, int, dict]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]

    def __enter__(self) -> Stream:
        # the applications service opens a service for applications when its service_published event arrives: after
        # a broker restart (the test before) its consumer may still be reconnecting, so the stream starts once one
        # submission is taken (a 404 "service not found" until then is that race, not the fault under test)
        first = wait_for(lambda: (lambda r: r if r.status_code == 201 else None)(apply(self.citizen, self.region)),
                         timeout=60, message="the region's service open for applications")
        self.answers.append((time.monotonic(), 201, first.json()))
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                r = apply(self.citizen, self.region)
                body = r.json() if r.headers.get("Content-Type", "").endswith("json") else {"text": r.text[:200]}
                self.answers.append((time.monotonic(), r.status_code, body))
            except requests.RequestException as exc:  # the gateway itself is never stopped here
                self.answers.append((time.monotonic(), 0, {"error": str(exc)}))
            time.sleep(PAUSE)

    def count(self) -> int:
        return len(self.answers)

    def wait_for_more(self, n: int = 10, timeout: float = 60) -> None:
        """Until ``n`` more submissions were answered 201: the platform serves again."""
        start = sum(1 for _, s, _ in self.answers if s == 201)
        wait_for(lambda: sum(1 for _, s, _ in self.answers if s == 201) >= start + n, timeout=timeout,
                 message=f"{n} more submissions accepted")


class Feed:
    """A durable queue of our own bound to the region's public feed, read with a plain pika client."""

    def __init__(self, amqp_uri: str, slug: str):
        self.params = pika.URLParameters(amqp_uri)
        self.queue = f"faults-feed-{uuid.uuid4().hex[:8]}"
        with pika.BlockingConnection(self.params) as conn:
            ch = conn.channel()
            ch.queue_declare(self.queue, durable=True)
            ch.queue_bind(self.queue, "mppi.public", routing_key=f"{slug}.#")

    def drain(self) -> list[dict]:
        events = []
        with pika.BlockingConnection(self.params) as conn:
            ch = conn.channel()
            while True:
                method, _props, body = ch.basic_get(self.queue, auto_ack=True)
                if method is None:
                    return events
                events.append(json.loads(body))

    def delete(self) -> None:
        with pika.BlockingConnection(self.params) as conn:
            conn.channel().queue_delete(self.queue)


@pytest.fixture
def journey(platform, anon, admin, vhost):
    region = make_region(admin, f"14.{next(_CODES):02d}")
    citizen, _ = new_citizen(anon)
    feed = Feed(vhost.amqp_uri, region["slug"])
    yield region, citizen, feed
    platform.wait_ready(timeout=120)
    feed.delete()


_CODES = iter(range(1, 20))


def _check(stream: Stream, citizen, feed: Feed, fault: str) -> None:
    """Nothing answered 201 is lost or doubled; no answer was a 500; the figures printed."""
    statuses = collections.Counter(s for _, s, _ in stream.answers)
    assert set(statuses) <= {201, 503}, (statuses, [a for a in stream.answers if a[1] not in (201, 503)][:3])
    accepted = {b["id"] for _, s, b in stream.answers if s == 201}
    assert len(accepted) == statuses[201], "an id answered twice"

    def notices() -> collections.Counter:
        items = all_items(citizen, "/api/v1/me/notifications")
        return collections.Counter(i["application_id"] for i in items if i["type"] == "application_submitted")

    # the events of everything accepted drain after recovery (each notice is one submitted event consumed)
    told = wait_for(lambda: (lambda n: n if set(n) >= accepted else None)(notices()), timeout=90,
                    message="a notice for every accepted submission")
    time.sleep(2)  # a redelivered duplicate would land now
    told = notices()
    stored = collections.Counter(a["id"] for a in all_items(citizen, "/api/v1/me/applications"))
    events = [e for e in feed.drain() if e["type"] == "id.mppi.application.submitted.v1"]
    on_feed = collections.Counter(e["subject"] for e in events)
    ids_per_app = collections.defaultdict(set)
    for e in events:
        ids_per_app[e["subject"]].add(e["id"])

    assert all(stored[i] == 1 for i in accepted), "every 201 stored exactly once"
    assert all(told[i] == 1 for i in accepted), "every 201's citizen told exactly once"
    assert all(len(ids_per_app[i]) == 1 for i in accepted), "every 201's submitted event on the feed, one id"
    late = set(stored) - accepted  # answered 503 (the reply was lost with the fault) but done after all
    assert all(stored[i] == 1 and told[i] == 1 and len(ids_per_app[i]) == 1 for i in late)
    redelivered = sum(on_feed[i] - 1 for i in accepted | late)
    print(f"\n[{fault}] answers: {dict(statuses)}; 201s stored once: {len(accepted)}/{len(accepted)}; "
          f"503 but done: {len(late)}; citizen told once: {sum(told[i] == 1 for i in accepted | late)}; "
          f"feed: {len(ids_per_app)} applications, each one event id ({redelivered} redelivered copies)")


def test_each_service_killed_with_sigkill_in_turn(platform, journey):
    region, citizen, feed = journey
    with Stream(citizen, region) as stream:
        stream.wait_for_more()
        for service in ("tenants", "catalog", "applications", "notifications"):
            platform.kill(service)
            time.sleep(KILLED_FOR)
            platform.start_service(service)
            platform.wait_ready(timeout=60)
            stream.wait_for_more()
    _check(stream, citizen, feed, "SIGKILL each service")


def _run(*args: str) -> None:
    subprocess.run(list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=180)


def test_rabbitmq_restarted(platform, journey):
    region, citizen, feed = journey
    with Stream(citizen, region) as stream:
        stream.wait_for_more()
        _run("rabbitmqctl", "stop")
        time.sleep(KILLED_FOR)
        _run(str(SERVICES_SH))  # starts it again and waits until it serves
        platform.wait_ready(timeout=120)
        stream.wait_for_more(timeout=120)
    _check(stream, citizen, feed, "RabbitMQ restart")


def test_postgresql_restarted(platform, journey):
    region, citizen, feed = journey
    version = sorted(os.listdir("/etc/postgresql"))[-1] if Path("/etc/postgresql").exists() else "15"
    with Stream(citizen, region) as stream:
        stream.wait_for_more()
        _run("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "stop", "-m", "fast")
        time.sleep(KILLED_FOR)
        _run(str(SERVICES_SH))
        platform.wait_ready(timeout=120)
        stream.wait_for_more(timeout=120)
    _check(stream, citizen, feed, "PostgreSQL restart")
