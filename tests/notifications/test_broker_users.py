"""Per-subscriber broker users of the public feed against the real RabbitMQ (a platform vhost of their own, and the
regions' feed vhosts beside it): each region's credentials reach only its own feed vhost and see only its own events,
publish nowhere, stay within their limits, and stop working when deleted; nothing a revoked subscriber made
survives. Also the copyable example subscriber (its validation, and the script itself as a process) and the AsyncAPI
document."""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pika
import pika.exceptions
import pytest
import requests
import yaml

from devtools.platform import MANAGEMENT
from services.notifications.broker_users import BrokerUsers, BrokerUsersError, FeedLimits, parse_limits, username_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "regional_subscriber.py"
ASYNCAPI = ROOT / "docs" / "asyncapi.yaml"
EXCHANGE = "mppi.public"
EVENT_TYPES = ["application.submitted", "application.status_changed", "application.completed",
               "application.sla_breached", "service.published"]
integration = pytest.mark.integration


# -- helpers -------------------------------------------------------------------------------------------------------

def connect(url: str) -> pika.BlockingConnection:
    params = pika.URLParameters(url)
    params.connection_attempts = 1
    params.socket_timeout = 5
    params.blocked_connection_timeout = 10
    return pika.BlockingConnection(params)


def cloudevent(tenant: str, event_type: str = "application.submitted", **data) -> dict:
    app_id = str(uuid.uuid4())
    return {
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": f"/tenants/{tenant}",
        "type": f"id.mppi.{event_type}.v1", "time": "2025-03-04T01:02:03Z", "subject": app_id,
        "datacontenttype": "application/json",
        "data": {"application_id": app_id, "tracking_number": f"TRK-{uuid.uuid4().hex[:8].upper()}",
                 "service_id": str(uuid.uuid4()), "service_code": "akta-kelahiran", "status": "submitted",
                 "step": "verifikasi", **data},
    }


def publish_as_guest(amqp_uri: str, messages: list[tuple[str, dict | bytes]]) -> None:
    """Publish (routing key, CloudEvent) pairs to mppi.public as the platform does: persistent, with confirms."""
    conn = connect(amqp_uri)
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        for key, body in messages:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            ch.basic_publish(EXCHANGE, key, raw, pika.BasicProperties(
                content_type="application/cloudevents+json", delivery_mode=2,
                message_id=None if isinstance(body, bytes) else body["id"]))
    finally:
        conn.close()


def drain(ch, queue: str, *, expect: int = 0, timeout: float = 10) -> list[dict]:
    """What the queue holds, waiting (up to ``timeout``) until at least ``expect`` messages came through the shovel."""
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    while True:
        method, _props, body = ch.basic_get(queue, auto_ack=True)
        if method is not None:
            out.append(json.loads(body))
            continue
        if len(out) >= expect or time.monotonic() > deadline:
            return out
        ch.connection.sleep(0.02)


def feed_uri(broker, tenant: str) -> str:
    """The platform's own (guest) connection to a region's feed vhost."""
    return f"amqp://guest:guest@127.0.0.1:5672/{quote(broker.feed_vhost(tenant), safe='')}"


def refused(conn: pika.BlockingConnection, action) -> None:
    """``action(channel)`` must be refused by the broker with 403 (which closes that channel, not the connection)."""
    ch = conn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        action(ch)
    assert info.value.reply_code == 403, info.value
    assert "ACCESS_REFUSED" in info.value.reply_text
    assert conn.is_open


def mgmt(path: str) -> requests.Response:
    return requests.get(f"{MANAGEMENT.rstrip('/')}/api{path}", timeout=10)


# -- fixtures ------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def broker(vhost):
    users = BrokerUsers(MANAGEMENT, vhost.name)
    users.ensure_exchange()
    users.made = []  # every broker user a test makes: users are global to RabbitMQ, not per vhost

    def make(tenant: str, subscription_id: str | None = None) -> dict:
        creds = users.create(tenant, subscription_id or str(uuid.uuid4()))
        users.made.append(creds)
        return creds

    users.make = make
    yield users
    for creds in users.made:
        users.delete(creds["username"])
    for tenant in {c["routing_key_prefix"][:-1] for c in users.made}:
        users.remove_feed(tenant)
    users.close()


@pytest.fixture(scope="module")
def creds(broker) -> dict[str, dict]:
    return {"t1": broker.make("t1"), "t2-x": broker.make("t2-x")}


@pytest.fixture
def t1(creds):
    conn = connect(creds["t1"]["url"])
    yield conn
    if conn.is_open:
        conn.close()


# -- BrokerUsers -----------------------------------------------------------------------------------------------------

@integration
def test_create_answers_what_the_subscriber_needs(broker, creds, vhost):
    c = creds["t2-x"]
    assert c["username"].startswith("sub-t2-x-") and len(c["username"]) == len("sub-t2-x-") + 8
    assert c["queue_prefix"] == f"sub.t2-x.{c['username'][-8:]}."
    assert c["routing_key_prefix"] == "t2-x." and c["exchange"] == EXCHANGE
    assert c["vhost"] == f"{vhost.name}.feed.t2-x" == broker.feed_vhost("t2-x")
    assert len(c["password"]) >= 40
    assert c["url"] == (f"amqp://{c['username']}:{c['password']}@127.0.0.1:5672/{quote(c['vhost'], safe='')}")
    f, u = quote(c["vhost"], safe=""), quote(c["username"], safe="")
    user = mgmt(f"/users/{u}").json()
    assert user["tags"] in ("", [])  # no management access
    [only] = mgmt(f"/users/{u}/permissions").json()  # its region's feed vhost, nothing else
    assert only["vhost"] == c["vhost"]
    perms = mgmt(f"/permissions/{f}/{u}").json()
    assert perms["configure"] == perms["write"] == r"^sub\.t2\-x\." + c["username"][-8:] + r"\."
    assert perms["read"] == r"^(sub\.t2\-x\." + c["username"][-8:] + r"\.|mppi\.public$)"
    [topic] = mgmt(f"/topic-permissions/{f}/{u}").json()
    assert (topic["exchange"], topic["read"], topic["write"]) == (EXCHANGE, r"^t2\-x\.", "^$")
    [limits] = mgmt(f"/user-limits/{u}").json()
    assert limits["value"] == {"max-connections": 10, "max-channels": 50}
    [vlimits] = mgmt(f"/vhost-limits/{f}").json()
    assert vlimits["value"] == {"max-queues": 100, "max-connections": 100}
    [shovel] = mgmt(f"/shovels/{f}").json()
    assert shovel["state"] == "running" and shovel["src_queue"] == "feed.t2-x"


@integration
def test_each_tenant_receives_only_its_own_events(creds, vhost):
    conns = {t: connect(c["url"]) for t, c in creds.items()}
    try:
        for tenant, conn in conns.items():
            ch = conn.channel()
            queue = creds[tenant]["queue_prefix"] + "events"
            ch.queue_declare(queue, durable=True)
            ch.queue_bind(queue, EXCHANGE, f"{tenant}.application.*")
        events = {t: cloudevent(t) for t in ("t1", "t2-x", "t1x", "t2")}
        publish_as_guest(vhost.amqp_uri, [(f"{t}.application.submitted", e) for t, e in events.items()]
                         + [("t1.service.published", cloudevent("t1", "service.published"))])
        for tenant, conn in conns.items():
            got = drain(conn.channel(), creds[tenant]["queue_prefix"] + "events", expect=1)
            assert [e["id"] for e in got] == [events[tenant]["id"]], tenant
            assert got[0]["source"] == f"/tenants/{tenant}"
    finally:
        for conn in conns.values():
            conn.close()


@integration
@pytest.mark.parametrize(("tenant", "key"), [
    ("t1", "t2-x.#"), ("t1", "t2-x.application.*"), ("t1", "#"), ("t1", "*.application.submitted"),
    ("t1", "t1x.#"), ("t1", "t1"), ("t1", "*"),
    ("t2-x", "t2.#"), ("t2-x", "t2-.#"), ("t2-x", "t1.#"), ("t2-x", "#.t2-x.#"),
])
def test_binding_outside_its_routing_prefix_is_refused(creds, tenant, key):
    c = creds[tenant]
    conn = connect(c["url"])
    try:
        queue = c["queue_prefix"] + "bind-test"
        conn.channel().queue_declare(queue, durable=True)
        refused(conn, lambda ch: ch.queue_bind(queue, EXCHANGE, key))
        conn.channel().queue_bind(queue, EXCHANGE, f"{tenant}.#")  # its own keys still bind
    finally:
        conn.close()


@integration
def test_an_exchange_of_its_own_cannot_widen_the_binding(creds, t1):
    """Permissions are on names, so the queue prefix also admits exchanges; binding one to mppi.public is still
    subject to the topic permission."""
    own_x = creds["t1"]["queue_prefix"] + "x"
    t1.channel().exchange_declare(own_x, "topic")
    refused(t1, lambda ch: ch.exchange_bind(own_x, EXCHANGE, "#"))
    refused(t1, lambda ch: ch.exchange_bind(own_x, EXCHANGE, "t2-x.#"))
    t1.channel().exchange_bind(own_x, EXCHANGE, "t1.#")


@integration
def test_publishing_is_refused(creds, t1):
    event = json.dumps(cloudevent("t1")).encode()

    def publish(exchange, key):
        def action(ch):
            ch.confirm_delivery()
            ch.basic_publish(exchange, key, event)
        return action

    refused(t1, publish(EXCHANGE, "t1.application.submitted"))
    refused(t1, publish(EXCHANGE, "t2-x.application.submitted"))
    refused(t1, publish("", creds["t1"]["queue_prefix"] + "events"))  # the default exchange (amq.default)
    refused(t1, publish("amq.topic", "t1.application.submitted"))

    # without confirms basic_publish returns; the refusal closes the channel and surfaces on its next call
    ch = t1.channel()
    ch.basic_publish(EXCHANGE, "t1.application.submitted", event)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.queue_declare(creds["t1"]["queue_prefix"] + "events", durable=True)
    assert info.value.reply_code == 403


@integration
def test_queues_outside_its_prefix_are_refused(broker, creds, t1):
    own = creds["t1"]["queue_prefix"]
    other = creds["t2-x"]["queue_prefix"]
    for name in ["events", "sub.t1.events", f"sub.t1.{uuid.uuid4().hex[:8]}.events", other + "events",
                 own.rstrip(".") + "x", "mppi.public", "notifications.events", "amq.gen-mine"]:
        refused(t1, lambda ch, name=name: ch.queue_declare(name, durable=True))
    refused(t1, lambda ch: ch.queue_declare("", exclusive=True))  # no server-named queues (amq.gen-…) either
    # nor read or delete a queue of its vhost it did not make, even knowing its name
    guest = connect(feed_uri(broker, "t1"))
    try:
        guest.channel().queue_declare("sub.t1.someone-else.target", durable=True)
    finally:
        guest.close()
    refused(t1, lambda ch: ch.basic_get("sub.t1.someone-else.target"))
    refused(t1, lambda ch: ch.queue_purge("sub.t1.someone-else.target"))
    refused(t1, lambda ch: ch.queue_delete("sub.t1.someone-else.target"))


@integration
def test_an_exclusive_queue_under_its_prefix_works(broker, creds, t1, vhost):
    ch = t1.channel()
    queue = creds["t1"]["queue_prefix"] + f"tmp-{uuid.uuid4().hex[:6]}"
    ch.queue_declare(queue, exclusive=True)
    ch.queue_bind(queue, EXCHANGE, "t1.#")
    mine, theirs = cloudevent("t1", "application.completed", status="completed"), cloudevent("t2-x")
    publish_as_guest(vhost.amqp_uri, [("t1.application.completed", mine), ("t2-x.application.submitted", theirs)])
    assert [e["id"] for e in drain(ch, queue, expect=1)] == [mine["id"]]


@integration
def test_delete_revokes_the_credentials_and_closes_connections(broker):
    c = broker.make("t1")
    conn = connect(c["url"])
    broker.delete(c["username"])
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as info:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.2)
    assert info.value.reply_code == 320  # CONNECTION_FORCED: user deleted
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        connect(c["url"])
    broker.delete(c["username"])  # idempotent
    assert mgmt(f"/users/{c['username']}").status_code == 404


@integration
def test_create_does_not_overwrite_an_existing_user(broker):
    sid = str(uuid.uuid4())
    first = broker.make("t1", sid)
    with pytest.raises(BrokerUsersError) as info:
        broker.create("t1", sid)
    assert info.value.status == 409
    connect(first["url"]).close()  # the first password still works


@integration
def test_create_cleans_up_when_a_later_step_fails(vhost):
    class FailingGrant(BrokerUsers):
        def grant(self, *args, **kwargs):
            raise BrokerUsersError("set permissions: refused")

    users = FailingGrant(MANAGEMENT, vhost.name)
    sid = str(uuid.uuid4())
    try:
        with pytest.raises(BrokerUsersError, match="permissions"):
            users.create("t9", sid)
        assert mgmt(f"/users/{username_for('t9', sid)}").status_code == 404
    finally:
        users.remove_feed("t9")


@integration
def test_management_errors_are_clear_and_keep_secrets_out(vhost):
    with pytest.raises(BrokerUsersError) as info:
        BrokerUsers("http://guest:s3cr3t-wrong@127.0.0.1:15672", vhost.name).ensure_exchange()
    assert info.value.status == 401 and "s3cr3t" not in str(info.value)
    with pytest.raises(BrokerUsersError, match="unreachable") as info:
        BrokerUsers("http://guest:guest@127.0.0.1:1", vhost.name, timeout=2).ensure_exchange()
    assert info.value.status is None


@pytest.mark.parametrize("tenant", ["T1", "t1.#", "t1..x", "-t1", "t1-", "", "t1 ", "t1\\.", ".*"])
def test_create_rejects_what_is_not_a_tenant_slug(tenant):
    with pytest.raises(ValueError):
        BrokerUsers("http://127.0.0.1:15672", "v").create(tenant, str(uuid.uuid4()))


def test_create_rejects_a_subscription_id_that_is_not_a_name():
    with pytest.raises(ValueError):
        BrokerUsers("http://127.0.0.1:15672", "v").create("t1", "ab.*cdef")


# -- the example subscriber ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("regional_subscriber_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_validates_and_handles_a_good_event(example, capsys):
    event = cloudevent("t1", "application.status_changed", status="in_review")
    parsed = example.validate(json.dumps(event).encode(), "t1", "application/cloudevents+json")
    assert parsed == event
    example.handle(parsed)
    line = capsys.readouterr().out.strip()
    assert event["data"]["tracking_number"] in line and "status_changed" in line and "in_review" in line
    assert example.validate(json.dumps(event), "t1", "application/json; charset=utf-8") == event


def _without(d: dict, key: str) -> dict:
    return {k: v for k, v in d.items() if k != key}


@pytest.mark.parametrize("mutate", [
    lambda e: b"not json",
    lambda e: json.dumps([e]).encode(),
    lambda e: json.dumps({**e, "specversion": "0.3"}).encode(),
    lambda e: json.dumps(_without(e, "id")).encode(),
    lambda e: json.dumps(_without(e, "time")).encode(),
    lambda e: json.dumps({**e, "source": "/tenants/t2-x"}).encode(),
    lambda e: json.dumps({**e, "type": "id.mppi.service.published.v1"}).encode(),
    lambda e: json.dumps({**e, "type": "application.submitted"}).encode(),
    lambda e: json.dumps(_without(e, "data")).encode(),
    lambda e: json.dumps({**e, "data": _without(e["data"], "tracking_number")}).encode(),
    lambda e: json.dumps({**e, "data": _without(e["data"], "status")}).encode(),
])
def test_example_rejects_a_bad_event(example, mutate):
    with pytest.raises(example.InvalidEvent):
        example.validate(mutate(cloudevent("t1")), "t1", "application/cloudevents+json")


def test_example_rejects_another_content_type(example):
    with pytest.raises(example.InvalidEvent):
        example.validate(json.dumps(cloudevent("t1")).encode(), "t1", "text/plain")


def test_example_remembers_a_bounded_set_of_ids(example):
    seen = example.SeenIds(size=3)
    for i in range(5):
        seen.add(str(i))
    assert "0" not in seen and "1" not in seen and all(str(i) in seen for i in (2, 3, 4))


def _wait_for(path: Path, text: str, proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = path.read_text(errors="replace") if path.exists() else ""
        if text in out:
            return out
        if proc.poll() is not None:
            raise AssertionError(f"the example exited with {proc.returncode}:\n{out}")
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not seen within {timeout}s:\n{path.read_text(errors='replace')}")


@integration
def test_the_example_runs_against_the_feed(broker, vhost, tmp_path):
    c = broker.make("t1")
    out = tmp_path / "subscriber.log"
    proc = _start_example(c, "t1", out, tmp_path)
    try:
        _wait_for(out, "consuming from", proc, timeout=15)
        good = cloudevent("t1", "application.submitted")
        publish_as_guest(vhost.amqp_uri, [
            ("t1.application.submitted", b"{not json"),             # dead-lettered
            ("t1.application.submitted", good),
            ("t1.application.submitted", good),                     # a redelivery of the same id: skipped
            ("t2-x.application.submitted", cloudevent("t2-x")),    # not its tenant: never arrives
        ])
        text = _wait_for(out, good["data"]["tracking_number"], proc, timeout=10)
        time.sleep(0.5)
        text = out.read_text(errors="replace")
        assert text.count(good["data"]["tracking_number"]) == 1, text
        assert "dead-lettering" in text
        guest = connect(feed_uri(broker, "t1"))
        try:
            method, _props, body = guest.channel().basic_get(c["queue_prefix"] + "dead", auto_ack=True)
        finally:
            guest.close()
        assert method is not None and body == b"{not json"

        # the connection is lost (closed by the broker, as on a restart): it reconnects and goes on
        assert _force_close_connections(broker.feed_vhost("t1"), c["username"]) >= 1
        _wait_for(out, "reconnecting", proc, timeout=10)
        deadline = time.monotonic() + 15
        while out.read_text(errors="replace").count("consuming from") < 2:
            assert time.monotonic() < deadline and proc.poll() is None, out.read_text(errors="replace")
            time.sleep(0.1)
        later = cloudevent("t1", "application.sla_breached", status="in_review")
        publish_as_guest(vhost.amqp_uri, [("t1.application.sla_breached", later)])
        _wait_for(out, later["data"]["tracking_number"], proc, timeout=10)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        _stop(proc)


@integration
def test_the_example_stops_when_its_credentials_are_revoked(broker, vhost, tmp_path):
    c = broker.make("t2-x")
    out = tmp_path / "subscriber.log"
    proc = _start_example(c, "t2-x", out, tmp_path)
    try:
        _wait_for(out, "consuming from", proc, timeout=15)
        broker.delete(c["username"])
        assert proc.wait(timeout=10) == 2
        assert "revoked" in out.read_text(errors="replace")
    finally:
        _stop(proc)


def _start_example(c: dict, tenant: str, out: Path, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "MPPI_AMQP_URL": c["url"], "MPPI_TENANT": tenant, "MPPI_QUEUE_PREFIX": c["queue_prefix"],
           "PYTHONUNBUFFERED": "1"}
    with open(out, "wb") as sink:
        return subprocess.Popen([sys.executable, str(EXAMPLE)], env=env, cwd=cwd, stdout=sink,
                                stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def _force_close_connections(vhost: str, username: str) -> int:
    """Close the user's connections through the management API (as a broker restart would); returns how many."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        conns = [x for x in mgmt(f"/vhosts/{quote(vhost, safe='')}/connections").json() if x["user"] == username]
        if conns:
            for x in conns:
                requests.delete(f"{MANAGEMENT.rstrip('/')}/api/connections/{quote(x['name'], safe='')}",
                                timeout=10).raise_for_status()
            return len(conns)
        time.sleep(0.2)
    return 0


# -- the AsyncAPI document ------------------------------------------------------------------------------------------

def test_asyncapi_document_describes_the_feed():
    doc = yaml.safe_load(ASYNCAPI.read_text())
    assert str(doc["asyncapi"]).startswith(("2.6", "3."))
    text = ASYNCAPI.read_text()
    for event_type in EVENT_TYPES:
        assert f"id.mppi.{event_type}.v1" in text, event_type
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == set(EVENT_TYPES)
    channel = doc["channels"][EXCHANGE]
    assert channel["bindings"]["amqp"]["exchange"]["type"] == "topic"
    assert doc["servers"]["production"]["protocol"] == "amqp"

    def refs(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref":
                    yield v
                else:
                    yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    for ref in refs(doc):  # every internal reference resolves
        target = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
    data = doc["components"]["schemas"]["ApplicationData"]["properties"]
    assert not {"nik", "name", "full_name", "email", "phone", "applicant_id"} & set(data)


# -- limits ------------------------------------------------------------------------------------------------------------

@integration
def test_a_subscriber_stays_within_its_limits_and_its_queues_are_bounded(vhost):
    users = BrokerUsers(MANAGEMENT, vhost.name, limits=FeedLimits(user_connections=2, user_channels=3,
                                                                  vhost_queues=3, queue_length=3))
    c = users.create("t-lim", str(uuid.uuid4()))
    conns = []
    try:
        conns = [connect(c["url"]), connect(c["url"])]
        with pytest.raises(pika.exceptions.AMQPConnectionError):  # a third connection of the same user
            conns.append(connect(c["url"]))
        first = conns[0]
        channels = [first.channel() for _ in range(3)]
        with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as info:
            first.channel()
        assert info.value.reply_code == 530 and "channels" in info.value.reply_text
        assert channels
        ch = conns[1].channel()
        names = [c["queue_prefix"] + f"q{i}" for i in range(3)]
        for name in names:
            ch.queue_declare(name, durable=True)
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:  # the region's vhost holds 3 queues
            ch.queue_declare(c["queue_prefix"] + "q3", durable=True)
        assert info.value.reply_code == 406 and "queue limit" in info.value.reply_text
        ch = conns[1].channel()
        ch.queue_bind(names[0], EXCHANGE, "t-lim.#")
        events = [cloudevent("t-lim") for _ in range(5)]
        publish_as_guest(vhost.amqp_uri, [("t-lim.application.submitted", e) for e in events])
        deadline = time.monotonic() + 10
        f = quote(c["vhost"], safe="")
        while mgmt(f"/queues/{f}/{quote(names[0], safe='')}").json().get("messages", 0) < 3:
            assert time.monotonic() < deadline, "the events did not come through the shovel"
            time.sleep(0.05)
        # the management API fills a queue's record in steps (its stats first): wait for the policy's part
        while "effective_policy_definition" not in (queue := mgmt(f"/queues/{f}/{quote(names[0], safe='')}").json()):
            assert time.monotonic() < deadline, f"no effective policy on the subscriber's queue: {queue}"
            time.sleep(0.05)
        policy = queue["effective_policy_definition"]
        assert policy["max-length"] == 3 and policy["overflow"] == "drop-head"
        assert policy["expires"] == 14 * 86_400_000
        # drop-head: the newest three stay, the shovel was never held up
        assert [e["id"] for e in drain(ch, names[0], expect=3)] == [e["id"] for e in events[2:]]
    finally:
        for conn in conns:
            if conn.is_open:
                conn.close()
        users.delete(c["username"])
        users.remove_feed("t-lim")


def test_feed_limits_are_read_from_their_setting():
    assert parse_limits("") == FeedLimits()
    assert parse_limits("user_connections=3, queue_expires_days=0.5") == FeedLimits(user_connections=3,
                                                                                     queue_expires_days=0.5)
    with pytest.raises(ValueError, match="unknown limit"):
        parse_limits("user_conections=3")
