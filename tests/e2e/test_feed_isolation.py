"""Two regions subscribed over AMQP, as an attacker holding region B's credentials would try it: B can neither read,
bind, purge nor even passively declare anything of region A's or of the platform's (RPC queues, internal events),
before and after A's revocation; nothing A made survives A's revocation; B's own feed goes on."""
import json
import uuid
from urllib.parse import quote, unquote, urlsplit

import pika
import pika.exceptions
import pytest
import requests
from journeys import apply, make_region, new_citizen
from support import wait_for

from devtools.platform import MANAGEMENT

EXCHANGE = "mppi.public"


def mgmt(path: str) -> requests.Response:
    return requests.get(f"{MANAGEMENT.rstrip('/')}/api{path}", timeout=10)


def connect(url: str) -> pika.BlockingConnection:
    params = pika.URLParameters(url)
    params.connection_attempts, params.socket_timeout = 1, 5
    return pika.BlockingConnection(params)


def with_vhost(url: str, vhost: str) -> str:
    """The same credentials, another vhost."""
    parts = urlsplit(url)
    return parts._replace(path="/" + quote(vhost, safe="")).geturl()


def subscribe(region: dict) -> dict:
    r = region["tenant_admin"].post(f"/api/v1/tenants/{region['slug']}/subscriptions", json={"kind": "amqp"})
    assert r.status_code == 201, r.text
    return r.json()


def not_allowed(conn: pika.BlockingConnection, action) -> int:
    """``action(channel)`` must fail with a channel error (403 refused or 404 not there); returns the code."""
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        action(ch)
    assert info.value.reply_code in (403, 404), info.value
    return info.value.reply_code


def platform_resources(platform_vhost: str) -> tuple[list[str], list[str]]:
    v = quote(platform_vhost, safe="")
    queues = [q["name"] for q in mgmt(f"/queues/{v}").json()]
    exchanges = [x["name"] for x in mgmt(f"/exchanges/{v}").json() if x["name"] and not x["name"].startswith("amq.")]
    assert any(q.startswith("rpc-") for q in queues) and exchanges, (queues, exchanges)
    return queues, exchanges


def attack(b_url: str, b: dict, a_names: dict, a_url: str, platform_vhost: str) -> None:
    """Everything region B's credentials try against A and the platform."""
    # A's vhost and the platform's vhost: B cannot even open a connection there
    for vhost in (a_names["vhost"], platform_vhost):
        with pytest.raises(pika.exceptions.AMQPConnectionError):
            connect(with_vhost(b_url, vhost)).close()
    queues, exchanges = platform_resources(platform_vhost)
    conn = connect(b_url)
    try:
        own = b["amqp"]["queue_prefix"] + "mine"
        conn.channel().queue_declare(own, durable=True)
        for name in [*a_names["queues"], *queues]:  # A's queues, rpc-tenants, the evt-… queues, their .dlq …
            not_allowed(conn, lambda ch, name=name: ch.queue_declare(name, passive=True))
            not_allowed(conn, lambda ch, name=name: ch.basic_get(name))
            not_allowed(conn, lambda ch, name=name: ch.queue_purge(name))
            not_allowed(conn, lambda ch, name=name: ch.queue_delete(name))
        for name in [*a_names["exchanges"], *[x for x in exchanges if x != EXCHANGE]]:
            not_allowed(conn, lambda ch, name=name: ch.exchange_declare(name, passive=True))
        a_slug = a_names["slug"]
        for key in (f"{a_slug}.#", f"{a_slug}.application.*", "#", "*.application.submitted"):
            assert not_allowed(conn, lambda ch, key=key: ch.queue_bind(own, EXCHANGE, key)) == 403
        with pytest.raises(pika.exceptions.AMQPConnectionError):  # A's own credentials don't reach B's vhost either
            connect(with_vhost(a_url, b["amqp"]["vhost"])).close()
    finally:
        if conn.is_open:
            conn.close()


def test_region_b_reaches_nothing_of_region_a_or_the_platform_and_a_leaves_nothing(platform, anon, admin):
    a, b = make_region(admin, "16.10"), make_region(admin, "16.11")
    sub_a, sub_b = subscribe(a), subscribe(b)
    a_amqp, b_amqp = sub_a["amqp"], sub_b["amqp"]
    platform_vhost = unquote(urlsplit(platform.amqp_uri).path[1:])
    assert a_amqp["vhost"] != b_amqp["vhost"] != platform_vhost
    assert unquote(urlsplit(a_amqp["url"]).path[1:]) == a_amqp["vhost"]

    # A makes what a regional system makes: a durable queue, an exclusive one, an exchange of its own, bound
    prefix = a_amqp["queue_prefix"]
    a_conn = connect(a_amqp["url"])
    a_ch = a_conn.channel()
    a_ch.queue_declare(prefix + "events", durable=True)
    a_ch.queue_bind(prefix + "events", EXCHANGE, f"{a['slug']}.application.*")
    a_ch.queue_declare(prefix + "live", exclusive=True)
    a_ch.exchange_declare(prefix + "fanout", "fanout", durable=True)
    a_ch.exchange_bind(prefix + "fanout", EXCHANGE, f"{a['slug']}.#")
    a_ch.queue_declare(prefix + "copy", durable=True)
    a_ch.queue_bind(prefix + "copy", prefix + "fanout")
    a_names = {"slug": a["slug"], "vhost": a_amqp["vhost"],
               "queues": [prefix + "events", prefix + "live", prefix + "copy"], "exchanges": [prefix + "fanout"]}

    warga, _ = new_citizen(anon)
    assert apply(warga, a).status_code == 201

    def arrived(queue):
        method, _props, body = a_ch.basic_get(queue, auto_ack=True)
        return json.loads(body) if method else None

    event = wait_for(lambda: arrived(prefix + "events"), timeout=20, message="A's event on A's feed")
    assert event["source"] == f"/tenants/{a['slug']}"
    assert wait_for(lambda: arrived(prefix + "copy"), timeout=10, message="A's exchange works")["id"] == event["id"]

    attack(b_amqp["url"], sub_b, a_names, a_amqp["url"], platform_vhost)

    # A revoked: its user, queues, exchange and (its region's last subscriber) its feed vhost are gone
    r = a["tenant_admin"].delete(f"/api/v1/tenants/{a['slug']}/subscriptions/{sub_a['id']}")
    assert r.status_code == 204
    assert mgmt(f"/users/{quote(a_amqp['username'], safe='')}").status_code == 404
    assert mgmt(f"/vhosts/{quote(a_amqp['vhost'], safe='')}").status_code == 404
    pv = quote(platform_vhost, safe="")
    assert mgmt(f"/queues/{pv}/{quote('feed.' + a['slug'], safe='')}").status_code == 404
    everywhere = [q["name"] for q in mgmt("/queues").json()] + [x["name"] for x in mgmt("/exchanges").json()]
    assert not [n for n in everywhere if n.startswith(prefix)], "something A made survived its revocation"
    with pytest.raises(pika.exceptions.AMQPError):
        connect(a_amqp["url"]).close()

    attack(b_amqp["url"], sub_b, a_names, a_amqp["url"], platform_vhost)

    # B's own feed goes on, with A's events nowhere in it
    b_conn = connect(b_amqp["url"])
    try:
        b_ch = b_conn.channel()
        queue = b_amqp["queue_prefix"] + "mine"
        b_ch.queue_bind(queue, EXCHANGE, f"{b['slug']}.#")
        for region in (a, b):
            assert apply(new_citizen(anon)[0], region).status_code == 201

        def b_events():
            method, _props, body = b_ch.basic_get(queue, auto_ack=True)
            return json.loads(body) if method else None

        got = wait_for(b_events, timeout=20, message="B's own event")
        assert got["source"] == f"/tenants/{b['slug']}"
    finally:
        b_conn.close()


def test_a_second_subscriber_of_a_region_keeps_the_feed_when_the_first_is_revoked(platform, anon, admin):
    region = make_region(admin, "16.12")
    first, second = subscribe(region), subscribe(region)
    assert first["amqp"]["vhost"] == second["amqp"]["vhost"]
    conn = connect(first["amqp"]["url"])
    conn.channel().queue_declare(first["amqp"]["queue_prefix"] + "q", durable=True)
    # the first may not touch the second's queues, although they share the region's vhost
    ch2 = connect(second["amqp"]["url"])
    queue = second["amqp"]["queue_prefix"] + f"q-{uuid.uuid4().hex[:4]}"
    c2 = ch2.channel()
    c2.queue_declare(queue, durable=True)
    c2.queue_bind(queue, EXCHANGE, f"{region['slug']}.#")
    assert not_allowed(conn, lambda ch: ch.basic_get(queue)) == 403
    assert not_allowed(conn, lambda ch: ch.queue_purge(queue)) == 403
    conn.close()

    slug = region["slug"]
    assert region["tenant_admin"].delete(f"/api/v1/tenants/{slug}/subscriptions/{first['id']}").status_code == 204
    f = quote(first["amqp"]["vhost"], safe="")
    names = [q["name"] for q in mgmt(f"/queues/{f}").json()]
    assert queue in names and not [n for n in names if n.startswith(first["amqp"]["queue_prefix"])]
    assert apply(new_citizen(anon)[0], region).status_code == 201

    def arrived():
        method, _props, body = c2.basic_get(queue, auto_ack=True)
        return json.loads(body) if method else None

    assert wait_for(arrived, timeout=20, message="the second subscriber's event")["source"] == f"/tenants/{slug}"
    ch2.close()
    assert region["tenant_admin"].delete(f"/api/v1/tenants/{slug}/subscriptions/{second['id']}").status_code == 204
    assert mgmt(f"/vhosts/{f}").status_code == 404
