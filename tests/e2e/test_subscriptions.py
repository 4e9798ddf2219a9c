"""Regional systems subscribe: webhooks signed by the Standard Webhooks scheme and retried until delivered once,
and AMQP credentials for the region's own events on mppi.public."""
import base64
import hashlib
import hmac
import json

import pika
import pytest
from journeys import apply, make_region, new_citizen
from support import HttpReceiver, wait_for


def signature_ok(secret: str, headers: dict, body: bytes) -> bool:
    """The receiver's own check (Standard Webhooks), written here without the project's code."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, s.split(",", 1)[1]) for s in headers["webhook-signature"].split())


def test_a_webhook_answering_503_once_gets_each_event_once_as_a_success(anon, admin):
    region = make_region(admin, "16.02")
    receiver = HttpReceiver(statuses=(503,))  # refuses the very first delivery
    r = region["tenant_admin"].post(f"/api/v1/tenants/{region['slug']}/subscriptions",
                                    json={"kind": "webhook", "url": receiver.url + "/mppi-hook"})
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["secret"].startswith("whsec_")
    warga, _ = new_citizen(anon)
    app = apply(warga, region).json()
    url = f"/api/v1/tenants/{region['slug']}/applications/{app['id']}/actions"
    assert region["verifier"].post(url, json={"action": "verify"}).status_code == 200

    def delivered():  # submitted and status changed, and the one refused first (which may be either) retried
        calls = receiver.to("/mppi-hook")
        if not calls:
            return None
        refused = json.loads(calls[0][1])["id"]
        ok = {json.loads(b)["id"] for h, b in calls[1:]}
        return ok if len(ok) >= 2 and refused in ok else None

    wait_for(delivered, timeout=30, message="both events delivered")
    calls = receiver.to("/mppi-hook")
    for headers, body in calls:
        assert signature_ok(sub["secret"], headers, body)
        assert headers["webhook-id"] == json.loads(body)["id"]
    successes = [json.loads(b)["id"] for _, b in calls[1:]]
    assert len(successes) == len(set(successes)), "an event delivered twice"
    assert json.loads(calls[0][1])["id"] in successes, "the refused event was retried"
    log = region["tenant_admin"].get(f"/api/v1/tenants/{region['slug']}/subscriptions/{sub['id']}/deliveries").json()
    statuses = {d["event_id"]: [a["status_code"] for a in d["attempts"]] for d in log["items"]}
    assert sorted(statuses.values(), key=len)[-1] == [503, 204]
    receiver.close()


def test_amqp_credentials_see_only_their_region_and_die_when_revoked(platform, anon, admin):
    a, b = make_region(admin, "16.03"), make_region(admin, "16.04")
    creds = {}
    for region in (a, b):
        r = region["tenant_admin"].post(f"/api/v1/tenants/{region['slug']}/subscriptions", json={"kind": "amqp"})
        assert r.status_code == 201, r.text
        creds[region["slug"]] = r.json()
    assert a["tenant_admin"].post(f"/api/v1/tenants/{b['slug']}/subscriptions",
                                  json={"kind": "amqp"}).status_code == 404

    amqp = creds[a["slug"]]["amqp"]
    assert amqp["routing_key_prefix"] == f"{a['slug']}." and amqp["exchange"] == "mppi.public"
    conn = pika.BlockingConnection(pika.URLParameters(amqp["url"]))
    ch = conn.channel()
    queue = amqp["queue_prefix"] + "events"
    ch.queue_declare(queue, durable=True)
    ch.queue_bind(queue, "mppi.public", routing_key=f"{a['slug']}.application.*")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        ch.queue_bind(queue, "mppi.public", routing_key=f"{b['slug']}.application.*")
    assert refused.value.reply_code == 403
    ch = conn.channel()

    for region in (a, b):
        warga, _ = new_citizen(anon)
        assert apply(warga, region).status_code == 201

    def mine():
        method, props, body = ch.basic_get(queue, auto_ack=True)
        return json.loads(body) if method else None

    event = wait_for(mine, timeout=20, message="the region's own event")
    assert event["source"] == f"/tenants/{a['slug']}" and event["type"] == "id.mppi.application.submitted.v1"
    conn.close()

    sub_id = creds[a["slug"]]["id"]
    assert a["tenant_admin"].delete(f"/api/v1/tenants/{a['slug']}/subscriptions/{sub_id}").status_code == 204
    with pytest.raises(pika.exceptions.AMQPError):
        pika.BlockingConnection(pika.URLParameters(amqp["url"])).close()
