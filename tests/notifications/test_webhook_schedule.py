"""Webhook retries on a real database and a real (always failing) HTTP endpoint, driven by an injected clock:
the first retry within 30 s, retries for at least 24 hours, disabled after 3 days with the region's admins told."""
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from services.notifications import orm, subscriptions, webhooks


class Failing(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_the_schedule_retries_within_30s_then_backs_off_for_a_day_and_more():
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    waits = [(webhooks.next_attempt(n, t0) - t0).total_seconds() for n in range(1, 12)]
    assert waits[0] <= 30 and waits == sorted(waits)
    assert sum(waits[:9]) >= 24 * 3600 * 1.5 and waits[-1] == 24 * 3600


def test_a_webhook_failing_for_three_days_is_disabled_and_its_admins_told(uow, endpoint):
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with uow() as u:
        u.execute(orm.contacts.insert().values(account_id="adm", tenant="sinjai", roles=["tenant_admin"],
                                               email="a@x.id", full_name="Admin", language="id", active=True))
        u.commit()
    sub = subscriptions.create("sinjai", {"kind": "webhook", "url": endpoint}, request_key="k", uow=uow, broker=None,
                               allow_private=True)
    event = {"id": "e1", "type": "id.mppi.application.submitted.v1", "data": {}}
    assert len(subscriptions.enqueue("sinjai", event, uow=uow, now=now)) == 1
    assert subscriptions.enqueue("sinjai", event, uow=uow, now=now) == [], "a redelivered event is not queued twice"

    clock, attempts = now, 0
    while clock < now + timedelta(days=4):
        subscriptions.deliver_due(uow=uow, now=clock, allow_private=True)
        with uow() as u:
            d = u.execute(sa.select(orm.webhook_deliveries)).one()
            s = u.execute(sa.select(orm.subscriptions.c.status)).scalar()
        if d.attempts == 1 and attempts == 0:
            assert (d.next_attempt_at - clock).total_seconds() <= 30, "the first retry within 30 s"
        attempts = d.attempts
        if s == "disabled":
            break
        clock = d.next_attempt_at
    assert s == "disabled" and d.status == "abandoned"
    assert timedelta(days=3) <= clock - now < timedelta(days=4)
    assert attempts >= 10
    with uow() as u:
        told = u.execute(sa.select(orm.notifications).where(orm.notifications.c.type == "webhook_disabled")).all()
    assert [t.account_id for t in told] == ["adm"]
    log = subscriptions.deliveries("sinjai", sub["id"], uow=uow)["items"][0]["attempts"]
    assert len(log) == attempts and all(a["status_code"] == 503 for a in log)


def test_private_addresses_are_refused_unless_allowed():
    with pytest.raises(webhooks.UrlRefused):
        webhooks.check_url("https://127.0.0.1/hook", allow_private=False)
    with pytest.raises(webhooks.UrlRefused):
        webhooks.check_url("http://example.id/hook", allow_private=False)

    def public(host, port, proto=0):
        return [(2, 1, 6, "", ("203.0.113.10" if host == "evil.example" else "8.8.8.8", port))]

    with pytest.raises(webhooks.UrlRefused):  # 203.0.113.0/24 is documentation space: not global
        webhooks.check_url("https://evil.example/hook", allow_private=False, resolve=public)
    webhooks.check_url("https://pemda.example/hook", allow_private=False, resolve=public)
    webhooks.check_url("http://127.0.0.1:8080/hook", allow_private=True)


def test_a_signature_matches_the_standard_webhooks_example():
    # the example of the Standard Webhooks specification
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert webhooks.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
