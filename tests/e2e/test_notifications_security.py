"""Through the running platform: a region's costly message template and a webhook or provider URL with a bad port
are refused with a 422 naming the field; webhook secrets and provider tokens are not in the database in clear, and
webhooks are still signed with the secret the region was given, providers still called with their token."""
import base64
import hashlib
import hmac
import json

import sqlalchemy as sa
from journeys import apply, make_region, new_citizen
from support import HttpReceiver, wait_for

from mppi.runtime.database import make_engine
from services.notifications import orm

TOKEN = "sms-token-98765"


def test_secrets_are_kept_sealed_and_webhooks_and_texts_still_go_out_signed(platform, anon, admin):
    receiver = HttpReceiver()
    region = make_region(admin, "21.05")
    slug, tenant_admin = region["slug"], region["tenant_admin"]
    r = tenant_admin.post(f"/api/v1/tenants/{slug}/subscriptions",
                          json={"kind": "webhook", "url": receiver.url + "/hook"})
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    r = tenant_admin.put(f"/api/v1/tenants/{slug}/notification-channels", json={
        "email": False, "sms": {"url": receiver.url + "/sms", "token": TOKEN, "sender": "MPPI"}})
    assert r.status_code == 200 and r.json()["sms"]["token"] == "••••8765", r.text

    engine = make_engine(platform.database_urls["notifications"], pool_size=1)
    try:
        with engine.connect() as conn:
            stored_secret = conn.execute(sa.select(orm.subscriptions.c.secret)
                                         .where(orm.subscriptions.c.tenant == slug)).scalar_one()
            stored_config = conn.execute(sa.select(orm.tenant_channels.c.config)
                                         .where(orm.tenant_channels.c.tenant == slug)).scalar_one()
    finally:
        engine.dispose()
    assert secret not in stored_secret and secret.removeprefix("whsec_") not in stored_secret
    assert TOKEN not in json.dumps(stored_config)

    warga, _ = new_citizen(anon)
    app = apply(warga, region).json()
    def submitted():  # the region's service.published may reach the new webhook too, before or after
        return [(h, b) for h, b in receiver.to("/hook") if json.loads(b)["type"] == "id.mppi.application.submitted.v1"]

    wait_for(lambda: submitted() and receiver.to("/sms"), timeout=30, message="a webhook and a text")
    headers, body = submitted()[0]
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(base64.b64decode(secret.removeprefix("whsec_")), signed,
                                         hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}" and json.loads(body)["subject"] == app["id"]
    assert all(h["authorization"] == f"Bearer {TOKEN}" for h, _ in receiver.to("/sms"))
    receiver.close()


def test_a_costly_template_and_a_bad_port_are_refused_with_the_field_named(admin):
    region = make_region(admin, "21.71")
    slug, tenant_admin = region["slug"], region["tenant_admin"]
    url = f"/api/v1/tenants/{slug}/notification-templates/application_submitted/id"
    for body in ("{{ 'a' * 10**10 }}", "{% for i in range(10**9) %}{{ i }}{% endfor %}", "{{ 9 ** 999999999 }}"):
        r = tenant_admin.put(url, json={"title": "Judul", "body": body})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["body", "body"]
    assert tenant_admin.put(url, json={"title": "Judul", "body": "{{ tracking_number }}"}).status_code == 200

    for bad in ("http://127.0.0.1:99999/hook", "http://127.0.0.1:0/hook"):
        r = tenant_admin.post(f"/api/v1/tenants/{slug}/subscriptions", json={"kind": "webhook", "url": bad})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "url"], r.text
        r = tenant_admin.put(f"/api/v1/tenants/{slug}/notification-channels",
                             json={"sms": {"url": bad, "token": TOKEN}})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "sms", "url"], r.text
