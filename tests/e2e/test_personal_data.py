"""Personal data stays in the services that need it: after a whole journey (register, apply with the NIK, phone and
email in the form, three staff actions, the issued PDF, the survey), none of the citizen's NIK, phone or email appears
in any process's log, in any /metrics page, on the public event feed or in a webhook delivery."""
import json
import random
import uuid

import pika
import pytest
import requests
from journeys import make_region, work_through
from support import Client, HttpReceiver, wait_for

from devtools.platform import Platform
from devtools.sample_forms import fill_form, multipart


@pytest.fixture(scope="module")
def debug_platform(tmp_path_factory):
    """A platform of its own logging at DEBUG, the most an operator can turn on."""
    with Platform.isolated(tmp_path_factory.mktemp("pii"), MPPI_LOG_LEVEL="DEBUG") as p:
        yield p


def _feed_queue(amqp_uri: str, slug: str) -> str:
    queue = f"pii-feed-{uuid.uuid4().hex[:8]}"
    with pika.BlockingConnection(pika.URLParameters(amqp_uri)) as conn:
        ch = conn.channel()
        ch.queue_declare(queue, auto_delete=False)
        ch.queue_bind(queue, "mppi.public", routing_key=f"{slug}.#")
    return queue


def _drain(amqp_uri: str, queue: str) -> list[str]:
    bodies = []
    with pika.BlockingConnection(pika.URLParameters(amqp_uri)) as conn:
        ch = conn.channel()
        while (got := ch.basic_get(queue, auto_ack=True))[0] is not None:
            bodies.append(str(got[1].headers) + got[2].decode("utf-8", "replace"))
        ch.queue_delete(queue)
    return bodies


def test_no_nik_phone_or_email_leaves_through_logs_metrics_feed_or_webhooks(debug_platform):
    platform = debug_platform
    anon = Client(platform.base_url)
    admin = anon.login(platform.admin_email, platform.admin_password)
    region = make_region(admin, "17.01")
    slug = region["slug"]
    receiver = HttpReceiver()
    r = region["tenant_admin"].post(f"/api/v1/tenants/{slug}/subscriptions", json={"kind": "webhook",
                                                                                    "url": receiver.url + "/hook"})
    assert r.status_code == 201, r.text
    queue = _feed_queue(platform.amqp_uri, slug)

    nik = f"730701120385{random.randint(1, 9999):04d}"  # Sinjai, a man born 12 March 1985
    phone = f"0813{random.randint(10**7, 10**8 - 1)}"
    email = f"pii-{uuid.uuid4().hex[:10]}@example.id"
    r = anon.post("/api/v1/auth/register", json={"nik": nik, "full_name": "Daeng Pribadi", "email": email,
                                                 "phone": phone, "password": "rahasia-123"})
    assert r.status_code == 201, r.text
    citizen = anon.login(email, "rahasia-123")

    fields = region["definition"]["form"]["fields"]
    form, files = fill_form(fields, nik=nik)
    for f in fields:
        if f["type"] == "email":
            form[f["key"]] = email
        elif f["type"] == "phone":
            form[f["key"]] = phone
    r = citizen.post(f"/api/v1/tenants/{slug}/applications",
                     **multipart({"service_id": region["service_id"], "form": form}, files))
    assert r.status_code == 201, r.text
    app = r.json()
    assert nik in json.dumps(citizen.get(f"/api/v1/tenants/{slug}/applications/{app['id']}").json()), \
        "the NIK was really in the application (so its absence elsewhere means something)"
    work_through(region, app)
    url = f"/api/v1/tenants/{slug}/applications/{app['id']}"
    assert citizen.get(citizen.get(url).json()["output"]["url"]).status_code == 200
    assert citizen.post(url + "/survey", json={"answers": {f"u{i}": 3 for i in range(1, 10)}}).status_code == 201

    # everything the journey caused has gone out: 4 events on the feed and to the webhook, 5 notices in-app
    wait_for(lambda: len(receiver.calls) >= 4, timeout=30, message="four webhook deliveries")
    wait_for(lambda: len(citizen.get("/api/v1/me/notifications").json()["items"]) >= 5, message="five notices")
    feed = _drain(platform.amqp_uri, queue)
    assert len(feed) >= 4, feed
    receiver.close()
    webhooks = [str(h) + b.decode("utf-8", "replace") for _, h, b in receiver.calls]

    metrics = [requests.get(f"{platform.internal_url()}/metrics", timeout=5).text]
    metrics += [requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
                for name, port in platform.metrics_ports.items() if platform.procs.get(name)]
    logs = {name: platform.log(name) for name in platform.procs}
    assert all(f"{s} started" in logs[s] for s in ("tenants", "catalog", "applications", "notifications"))
    assert '"level": "debug"' in logs["notifications"], "the logs were written at DEBUG"

    places = {"feed": feed, "webhooks": webhooks, "metrics": metrics,
              **{f"log {n}": [t] for n, t in logs.items()}}
    secrets = {"NIK": nik, "phone": phone[1:], "email": email, "email local part": email.split("@")[0]}
    leaks = [(what, where) for where, texts in places.items() for text in texts
             for what, value in secrets.items() if value.lower() in text.lower()]
    assert not leaks, leaks
    print(f"\nscanned {len(feed)} feed events, {len(receiver.calls)} webhook deliveries, {len(metrics)} metrics "
          f"pages, {len(logs)} process logs ({sum(map(len, logs.values())):,} chars): no NIK, phone or email")
