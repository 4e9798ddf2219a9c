"""Faults against the running platform (real processes, the real RabbitMQ and PostgreSQL), while citizens submit:
each service killed with SIGKILL in turn and brought back, RabbitMQ restarted, PostgreSQL restarted.

While something is down the gateway answers 503, never a 500. Afterwards every application answered 201 exists
exactly once, its ``application.submitted`` CloudEvent is on the public feed (counted by event id) and its citizen
was told exactly once. Each submission carries its own ``Idempotency-Key``; one answered 503 is sent again with it
afterwards, as a client would, and the citizen ends with exactly one application per submission: none lost, none
doubled (a request redelivered to a restarted service does not make a second one).

Run by ``make test-faults`` (marker ``faults``; the broker and database restarts would disturb other test runs
sharing this machine's RabbitMQ and PostgreSQL, so ``make test`` leaves them out).
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
    """``CLIENTS`` threads submitting applications until stopped; every answer kept with the time it came and the
    submission's key."""

    def __init__(self, citizen, region):
        self.citizen, self.region = citizen, region
        self.answers: list[tuple[float, int, dict, str]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]

    def __enter__(self) -> Stream:
        # the applications service opens a service for applications when its service_published event arrives: after
        # a broker restart (the test before) its consumer may still be reconnecting, so the stream starts once one
        # submission is taken (a 404 "service not found" until then is that race, not the fault under test)
        key = uuid.uuid4().hex
        first = wait_for(lambda: (lambda r: r if r.status_code == 201 else None)(self.submit(key)),
                         timeout=60, message="the region's service open for applications")
        self.answers.append((time.monotonic(), 201, first.json(), key))
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)

    def submit(self, key: str) -> requests.Response:
        return apply(self.citizen, self.region, headers={"Idempotency-Key": key})

    def _run(self) -> None:
        while not self._stop.is_set():
            key = uuid.uuid4().hex
            try:
                r = self.submit(key)
                body = r.json() if r.headers.get("Content-Type", "").endswith("json") else {"text": r.text[:200]}
                self.answers.append((time.monotonic(), r.status_code, body, key))
            except requests.RequestException as exc:  # the gateway itself is never stopped here
                self.answers.append((time.monotonic(), 0, {"error": str(exc)}, key))
            time.sleep(PAUSE)

    def count(self) -> int:
        return len(self.answers)

    def wait_for_more(self, n: int = 10, timeout: float = 60) -> None:
        """Until ``n`` more submissions were answered 201: the platform serves again."""
        start = sum(1 for a in self.answers if a[1] == 201)
        wait_for(lambda: sum(1 for a in self.answers if a[1] == 201) >= start + n, timeout=timeout,
                 message=f"{n} more submissions accepted")


class Feed:
    """The region's public feed as a regional system reads it: an AMQP subscription of the region (on its own feed
    vhost, through the shovel from the platform's vhost) and a durable queue under its prefix, read with plain pika."""

    def __init__(self, region: dict):
        self.region = region
        r = region["tenant_admin"].post(f"/api/v1/tenants/{region['slug']}/subscriptions", json={"kind": "amqp"})
        assert r.status_code == 201, r.text
        self.subscription = r.json()
        amqp = self.subscription["amqp"]
        self.params = pika.URLParameters(amqp["url"])
        self.queue = amqp["queue_prefix"] + "faults"
        with pika.BlockingConnection(self.params) as conn:
            ch = conn.channel()
            ch.queue_declare(self.queue, durable=True)
            ch.queue_bind(self.queue, "mppi.public", routing_key=f"{region['slug']}.#")
        self.events: list[dict] = []

    def drain(self, subjects: set[str], timeout: float = 60) -> list[dict]:
        """Everything on the queue, waiting (up to ``timeout``) until an event of each subject came through."""
        deadline = time.monotonic() + timeout
        while True:
            with pika.BlockingConnection(self.params) as conn:
                ch = conn.channel()
                while True:
                    method, _props, body = ch.basic_get(self.queue, auto_ack=True)
                    if method is None:
                        break
                    self.events.append(json.loads(body))
            if subjects <= {e["subject"] for e in self.events} or time.monotonic() > deadline:
                return self.events
            time.sleep(0.2)

    def delete(self) -> None:
        slug = self.region["slug"]
        r = self.region["tenant_admin"].delete(f"/api/v1/tenants/{slug}/subscriptions/{self.subscription['id']}")
        assert r.status_code == 204, r.text


@pytest.fixture
def journey(platform, anon, admin):
    region = make_region(admin, f"14.{next(_CODES):02d}")
    citizen, _ = new_citizen(anon)
    feed = Feed(region)
    yield region, citizen, feed
    platform.wait_ready(timeout=120)
    feed.delete()


_CODES = iter(range(1, 20))


def _check(stream: Stream, citizen, feed: Feed, fault: str) -> None:
    """No answer was a 500; each submission answered 503 sent again with its key; then every submission is exactly
    one application, stored once, told once and on the feed under one event id; the figures printed."""
    statuses = collections.Counter(a[1] for a in stream.answers)
    assert set(statuses) <= {201, 503}, (statuses, [a for a in stream.answers if a[1] not in (201, 503)][:3])
    accepted = {b["id"] for _, s, b, _ in stream.answers if s == 201}
    assert len(accepted) == statuses[201], "an id answered twice"
    # a client sends a 503 again: with its key it gets the application the first try made, if it made one
    before = {a["id"] for a in all_items(citizen, "/api/v1/me/applications")}
    retried = {}
    for _, status, _, key in stream.answers:
        if status == 503:
            r = stream.submit(key)
            assert r.status_code == 201, r.text
            retried[key] = r.json()["id"]
    made = accepted | set(retried.values())
    assert len(made) == len(stream.answers), "one application per submission"

    def notices() -> collections.Counter:
        items = all_items(citizen, "/api/v1/me/notifications")
        return collections.Counter(i["application_id"] for i in items if i["type"] == "application_submitted")

    # the events of everything made drain after recovery (each notice is one submitted event consumed)
    wait_for(lambda: set(notices()) >= made, timeout=90, message="a notice for every submission")
    time.sleep(2)  # a redelivered duplicate would land now
    told = notices()
    stored = collections.Counter(a["id"] for a in all_items(citizen, "/api/v1/me/applications"))
    events = [e for e in feed.drain(made) if e["type"] == "id.mppi.application.submitted.v1"]
    on_feed = collections.Counter(e["subject"] for e in events)
    ids_per_app = collections.defaultdict(set)
    for e in events:
        ids_per_app[e["subject"]].add(e["id"])

    assert set(stored) == made and all(n == 1 for n in stored.values()), "every submission stored exactly once"
    assert all(told[i] == 1 for i in made), "every submission's citizen told exactly once"
    assert all(len(ids_per_app[i]) == 1 for i in made), "every submission's event on the feed, one id"
    done_anyway = sum(1 for i in retried.values() if i in before)
    redelivered = sum(on_feed[i] - 1 for i in made)
    print(f"\n[{fault}] answers: {dict(statuses)}; 503s sent again with their key: {len(retried)} "
          f"({done_anyway} had been done, answered with that application); "
          f"applications: {len(made)} for {len(stream.answers)} submissions, each stored once and told once; "
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
