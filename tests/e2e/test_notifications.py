"""Citizens and staff hear about applications (in-app in the language asked, and by email through a real SMTP
server), nothing twice after a redelivery; regional systems get CloudEvents on mppi.public without personal data."""
import json
import re
import uuid

import pytest
import requests
from aiosmtpd.controller import Controller
from journeys import apply, make_region, new_citizen, work_through
from kombu import Connection, Exchange, Queue
from support import wait_for

from devtools.platform import free_port


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"

    def to(self, address: str) -> list[str]:
        return [m for rcpt, m in self.messages if address in rcpt]


@pytest.fixture(scope="module")
def smtp(platform):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    platform.stop("notifications")
    platform.start_service("notifications", MPPI_SMTP_HOST="127.0.0.1", MPPI_SMTP_PORT=str(controller.port),
                           MPPI_DELIVERY_CHECK_SECONDS="1")
    platform.wait_ready()
    yield inbox
    controller.stop()
    platform.stop("notifications")
    platform.start_service("notifications")
    platform.wait_ready()


def _metric(platform, name: str) -> float:
    text = requests.get(f"http://127.0.0.1:{platform.metrics_ports['notifications']}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_each_transition_is_told_once_in_app_and_by_email_and_on_the_feed(platform, anon, admin, smtp):
    region = make_region(admin, "16.01")
    slug = region["slug"]
    public = Exchange("mppi.public", type="topic", durable=True)
    events = Exchange("applications.events", type="topic", durable=True)
    feed_q = Queue(f"test-feed-{uuid.uuid4().hex[:6]}", exchange=public, routing_key=f"{slug}.#", auto_delete=True)
    changes_q = Queue(f"test-changes-{uuid.uuid4().hex[:6]}", exchange=events,
                      routing_key="application_status_changed", auto_delete=True)
    with Connection(platform.amqp_uri) as conn:
        channel = conn.channel()
        public.bind(channel).declare()
        events.bind(channel).declare()
        feed, changes = feed_q.bind(channel), changes_q.bind(channel)
        feed.declare()
        changes.declare()

        warga, email = new_citizen(anon, language="en")
        wait_for(lambda: _metric(platform, 'notifications_entrypoint_calls_total{entrypoint="on_account_created"'),
                 message="the citizen's contact")
        app = apply(warga, region).json()
        assert app["status"] == "submitted", app
        work_through(region, app)

        def inbox():
            return warga.get("/api/v1/me/notifications?limit=100", headers={"Accept-Language": "en"}).json()["items"]

        items = wait_for(lambda: (lambda i: i if len(i) >= 5 else None)(inbox()), message="five notifications")
        types = sorted(i["type"] for i in items)
        assert types == ["application_status_changed"] * 3 + ["application_submitted", "survey_invitation"]
        assert all(i["application_id"] == app["id"] for i in items)
        assert any("received" in i["title"] for i in items), "English, as asked"
        in_id = warga.get("/api/v1/me/notifications?limit=100", headers={"Accept-Language": "id"}).json()["items"]
        assert any("diterima" in i["title"] for i in in_id)

        wait_for(lambda: len(smtp.to(email)) >= 5, message="five emails to the citizen")
        assert len(smtp.to(email)) == 5
        wait_for(lambda: smtp.to(region["verifier_email"]), message="the verifier hears of new work")
        assert len(smtp.to(region["verifier_email"])) == 1

        # the broker redelivers a status change: nobody hears of it twice
        redelivered = wait_for(lambda: changes.get(no_ack=True), message="a status change event")
        before = _metric(platform, 'notifications_entrypoint_calls_total{entrypoint="notify_status_changed"')
        with conn.Producer() as producer:
            producer.publish(json.dumps(redelivered.payload), exchange=events, routing_key="application_status_changed",
                             content_type="application/json", headers=redelivered.headers)
        wait_for(lambda: _metric(platform, 'notifications_entrypoint_calls_total{entrypoint="notify_status_changed"')
                 > before, message="the redelivery handled")
        assert len(inbox()) == 5 and len(smtp.to(email)) == 5

        received = []

        def about_the_application():  # the region's own service_published may be on the feed too
            bodies = [m.payload if isinstance(m.payload, dict) else json.loads(m.body) for m in received]
            return [b for b in bodies if b["type"].startswith("id.mppi.application.")]

        wait_for(lambda: received.extend(iter(lambda: feed.get(no_ack=True), None)) or
                 len(about_the_application()) >= 5, message="five CloudEvents")
        # the feed is at least once: the redelivered change went out again, with its own id, which subscribers skip
        bodies = list({b["id"]: b for b in about_the_application()}.values())
        assert sorted(b["type"] for b in bodies) == sorted(
            ["id.mppi.application.submitted.v1", "id.mppi.application.completed.v1"]
            + ["id.mppi.application.status_changed.v1"] * 3)
        for b in bodies:
            assert b["specversion"] == "1.0" and b["source"] == f"/tenants/{slug}" and b["subject"] == app["id"]
            assert set(b["data"]) == {"application_id", "tracking_number", "service_id", "service_code", "status",
                                      "step"}
        assert "applicant" not in json.dumps(bodies)
        assert not re.search(r"(?<![0-9a-f])\d{16}(?![0-9a-f])", json.dumps(bodies)), "no NIK on the feed"
        assert all(m.content_type == "application/cloudevents+json" for m in received)


def test_a_region_with_an_sms_provider_texts_the_citizen_at_each_transition(platform, anon, admin):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    texts = []

    class Provider(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            texts.append((self.headers["Authorization"], json.loads(body)))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    region = make_region(admin, "16.06")
    r = region["tenant_admin"].put(f"/api/v1/tenants/{region['slug']}/notification-channels", json={
        "email": False, "sms": {"url": f"http://127.0.0.1:{server.server_address[1]}/send", "token": "tok-123456",
                                "sender": "MPPI"}})
    assert r.status_code == 200, r.text
    assert r.json()["sms"]["token"] == "••••3456" and r.json()["email"] is False
    warga, _ = new_citizen(anon)
    app = apply(warga, region).json()
    work_through(region, app)
    mine = lambda: [t for t in texts if t[1]["to"] == "+6281234567890"]  # noqa: E731
    wait_for(lambda: len(mine()) >= 5, message="five texts to the citizen")
    assert all(auth == "Bearer tok-123456" for auth, _ in mine())
    assert any(app["tracking_number"] in t["text"] for _, t in mine())
    server.shutdown()


def test_a_region_rewords_a_message_and_a_broken_template_is_refused_when_saved(anon, admin):
    region = make_region(admin, "16.07")
    url = f"/api/v1/tenants/{region['slug']}/notification-templates/application_submitted/id"
    r = region["tenant_admin"].put(url, json={"title": "Terima kasih, {{ tracking_number }} kami terima",
                                              "body": "Layanan {{ service_name }} di {{ tenant_name }}."})
    assert r.status_code == 200, r.text
    broken = region["tenant_admin"].put(url, json={"title": "{{ tracking_number", "body": "x"})
    assert broken.status_code == 422 and broken.json()["errors"][0]["loc"] == ["body", "title"]
    unknown = region["tenant_admin"].put(url, json={"title": "{{ nik }}", "body": "x"})
    assert unknown.status_code == 422, "a template may use only the data its type provides"
    warga, _ = new_citizen(anon)
    app = apply(warga, region).json()
    items = wait_for(lambda: warga.get("/api/v1/me/notifications").json()["items"], message="a notification")
    assert items[0]["title"] == f"Terima kasih, {app['tracking_number']} kami terima"
