"""Poison messages against the real platform and broker: on every queue a service consumes (listed from the services'
classes, so a new queue is covered as soon as it exists), a message that cannot be read or is not the contract goes to
the queue's dead-letter queue at once, with why, and the good message after it is processed; the services stay up.
Then the operators' commands: show why a message was parked, replay it once its cause is fixed (exactly one effect,
also when two replays run at once or one is cut off between its publish and its ack), purge."""
import json
import re
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime

import pika
import psycopg2
import pytest
import requests
import sqlalchemy as sa
from kombu import Connection
from nameko.containers import ServiceContainer
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy
from support import wait_for

from devtools.platform import ROOT, Databases
from mppi.runtime import deadletters, topology
from mppi.runtime.database import make_engine
from mppi.runtime.events import event_handler
from mppi.runtime.providers import Database, Observability

QUEUES = topology.consumed_queues({"AMQP_URI": "amqp://unused"})  # builds nothing, connects to nothing
EVENT_QUEUES = [q.name for q in QUEUES if q.name.startswith("evt-")]
RPC_QUEUES = [q.name for q in QUEUES if q.name.startswith("rpc-")]
EVENT_QUEUE = re.compile(r"evt-(?P<source>[^-]+)-(?P<type>.+)--(?P<service>[^.]+)\.(?P<method>.+)")


def test_the_queues_listed_are_every_queue_the_services_consume():
    assert sorted(RPC_QUEUES) == sorted(f"rpc-{s}" for s in topology.SERVICE_CLASSES)
    assert "evt-applications-application_submitted--notifications.notify_submitted" in EVENT_QUEUES
    assert "evt-catalog-service_published--applications.on_service_published" in EVENT_QUEUES
    assert set(QUEUES) >= set(topology.durable_queues({"AMQP_URI": "amqp://unused"}))


# -- a good event of each type, and how to see it took effect --------------------------------------------------------

def _application(tenant: str) -> dict:
    return {"application_id": uuid.uuid4().hex, "tracking_number": "MPPI-TEST-0001", "service_id": "svc-1",
            "service_code": "SIUP", "status": "submitted", "step": "verify", "applicant_id": uuid.uuid4().hex,
            "step_roles": ["verifier"]}


SAMPLES = {
    "tenant_created": lambda t: {"data": {"slug": t, "name": "Kabupaten Uji", "timezone": "Asia/Jakarta"}},
    "tenant_updated": lambda t: {"data": {"slug": t, "name": "Kabupaten Uji", "timezone": "Asia/Makassar"}},
    "account_created": lambda t: {"account_id": uuid.uuid4().hex, "roles": ["citizen"], "email": "a@example.id",
                                  "full_name": "Warga Uji"},
    "account_deactivated": lambda t: {"account_id": uuid.uuid4().hex},
    "sign_in_failures_repeated": lambda t: {"account_id": uuid.uuid4().hex, "failures": 10, "window_seconds": 300},
    "token_revoked": lambda t: {"account_id": uuid.uuid4().hex, "jti": uuid.uuid4().hex,
                                "expires_at": datetime.now(UTC).isoformat()},
    "service_published": lambda t: {"service": {"id": uuid.uuid4().hex, "code": "SIUP", "version": 1,
                                                "category": "perizinan", "name": "Izin Usaha"}},
    "service_archived": lambda t: {"service_id": uuid.uuid4().hex, "code": "SIUP"},
    "application_submitted": lambda t: {"data": _application(t)},
    "application_status_changed": lambda t: {"data": {**_application(t), "status": "verified"}},
    "application_completed": lambda t: {"data": {**_application(t), "status": "completed"}},
    "application_sla_breached": lambda t: {"data": _application(t)},
}


def good_event(event_type: str) -> dict:
    if event_type not in SAMPLES:
        pytest.fail(f"no sample {event_type} event: add one to SAMPLES so its queue is tested")
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    return {"event_id": str(uuid.uuid4()), "tenant": tenant, "occurred_at": datetime.now(UTC).isoformat(),
            "version": 1, **SAMPLES[event_type](tenant)}


def claimed(databases, service: str, handler: str, event: dict) -> bool:
    """The handler marked the event processed, in the transaction of its effect."""
    with psycopg2.connect(databases.urls[service]) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM processed_events WHERE handler = %s AND event_id = %s",
                    (handler, event["event_id"]))
        return cur.fetchone()[0] == 1


class PublicFeed:
    """The CloudEvents notifications publishes on ``mppi.public`` for one tenant, read from a queue of our own."""

    def __init__(self, uri: str, tenant: str):
        self.conn = pika.BlockingConnection(pika.URLParameters(uri))
        self.channel = self.conn.channel()
        self.channel.exchange_declare("mppi.public", "topic", durable=True)
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.queue_bind(self.queue, "mppi.public", routing_key=f"{tenant}.#")

    def ids(self) -> set[str]:
        found = set()
        while (got := self.channel.basic_get(self.queue, auto_ack=True))[0] is not None:
            found.add(json.loads(got[2])["id"])
        return found

    def close(self) -> None:
        self.conn.close()


# handlers whose effect is not a processed-event mark
FEED_ONLY = {"feed_service_published"}


# -- poison on the platform's queues ----------------------------------------------------------------------------------

def publish(uri: str, routing_key: str, body: bytes, *, content_type: str | None = "application/json",
            exchange: str = "", reply_to: str | None = None) -> str:
    message_id = str(uuid.uuid4())
    conn = pika.BlockingConnection(pika.URLParameters(uri))
    try:
        channel = conn.channel()
        channel.confirm_delivery()
        channel.basic_publish(exchange, routing_key, body, pika.BasicProperties(
            content_type=content_type, delivery_mode=2, message_id=message_id, reply_to=reply_to,
            correlation_id=message_id), mandatory=True)
    finally:
        conn.close()
    return message_id


def dead_letters(uri: str, queue: str) -> dict[str, dict]:
    """The headers of each message in ``<queue>.dlq``, by message id, left in place."""
    conn = pika.BlockingConnection(pika.URLParameters(uri))
    try:
        channel = conn.channel()
        try:
            depth = channel.queue_declare(queue + ".dlq", passive=True).method.message_count
        except pika.exceptions.ChannelClosedByBroker:
            return {}
        found = {}
        for _ in range(depth):
            method, properties, _ = channel.basic_get(queue + ".dlq", auto_ack=False)
            if method is None:
                break
            found[properties.message_id] = properties.headers or {}
        return found  # closing the connection puts them back
    finally:
        conn.close()


def metric(platform, service: str, name: str, handler: str) -> float:
    text = requests.get(f"http://127.0.0.1:{platform.metrics_ports[service]}/metrics", timeout=5).text
    found = re.search(rf'^{name}{{handler="{handler}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize("queue", EVENT_QUEUES)
def test_poison_on_an_event_queue_is_dead_lettered_at_once_and_the_next_event_is_processed(
        queue, platform, vhost, databases):
    uri = vhost.amqp_uri
    q = EVENT_QUEUE.fullmatch(queue).groupdict()
    event = good_event(q["type"])
    newer = {**good_event(q["type"]), "version": 2}
    poison = {
        publish(uri, queue, b'{"event_id": "broken'): "cannot decode the body: DecodeError",
        publish(uri, queue, b"<event/>", content_type="application/xml"): "ContentDisallowed",
        publish(uri, queue, b"\x00\x01 not text", content_type=None): "not a JSON object",
        publish(uri, queue, b"[1, 2]"): "the body is a list, not a JSON object",
        publish(uri, queue, b'{"event_id": "e-1"}'): "ValidationFailed: invalid fields: tenant",
        publish(uri, queue, b'{"event_id": "e-2", "tenant": 12, "occurred_at": "soon"}'):
            "ValidationFailed: invalid fields: tenant, occurred_at",
        publish(uri, queue, pika_json(newer)): "unknown event version 2",
    }
    feed = PublicFeed(uri, event["tenant"]) if q["method"] in FEED_ONLY else None
    try:
        publish(uri, queue, pika_json(event))

        parked = wait_for(lambda: (found := dead_letters(uri, queue)).keys() >= poison.keys() and found,
                          timeout=20, message=f"the poison in {queue}.dlq")
        for message_id, reason in poison.items():
            assert reason in parked[message_id][deadletters.FAILURE_HEADER]
            assert parked[message_id][deadletters.ATTEMPT_HEADER] == 1  # not retried: no retry mends them
        if feed is not None:
            wait_for(lambda: event["event_id"] in feed.ids(), message="the good event on the public feed")
        else:
            wait_for(lambda: claimed(databases, q["service"], q["method"], event),
                     message=f"{q['method']} to process the good event")
    finally:
        if feed is not None:
            feed.close()
    assert metric(platform, q["service"], f"{q['service']}_events_dead_lettered_total", q["method"]) >= len(poison)
    assert platform.procs[q["service"]].poll() is None


def pika_json(payload: dict) -> bytes:
    return json.dumps(payload).encode()


@pytest.mark.parametrize("queue", RPC_QUEUES)
def test_a_malformed_rpc_request_is_answered_with_an_error_or_dead_lettered_and_the_service_answers_the_next(
        queue, platform, vhost):
    uri = vhost.amqp_uri
    service = queue.removeprefix("rpc-")
    conn = pika.BlockingConnection(pika.URLParameters(uri))
    try:
        channel = conn.channel()
        reply_to = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(reply_to, "nameko-rpc", routing_key=reply_to)

        def request(body: bytes, **kw) -> str:
            return publish(uri, f"{service}.ping", body, exchange="nameko-rpc", **kw)

        poison = {
            request(b'{"args": [', reply_to=reply_to): "cannot decode the body: DecodeError",
            request(b"<call/>", content_type="application/xml", reply_to=reply_to): "ContentDisallowed",
            request(b'{"args": [], "kwargs": {}}', content_type=None, reply_to=reply_to): "content type None",
            request(b'{"args": [], "kwargs": {}}'): "an RPC request without reply_to",
        }
        answered = request(b'{"kwargs": {}}', reply_to=reply_to)  # readable, but no args: nameko says so

        def reply():
            method, properties, body = channel.basic_get(reply_to, auto_ack=True)
            return method is not None and (properties.correlation_id, body)

        correlation_id, body = wait_for(reply, message="the error reply to the malformed request")
        assert correlation_id == answered and b"MalformedRequest" in body
        parked = wait_for(lambda: (found := dead_letters(uri, queue)).keys() >= poison.keys() and found,
                          timeout=20, message=f"the unanswerable requests in {queue}.dlq")
        for message_id, reason in poison.items():
            assert reason in parked[message_id][deadletters.FAILURE_HEADER]
    finally:
        conn.close()
    with ClusterRpcProxy({"AMQP_URI": uri}, timeout=10) as cluster:
        assert getattr(cluster, service).ping() == "pong"
    assert platform.procs[service].poll() is None
    assert metric(platform, service, f"{service}_events_dead_lettered_total", "rpc") >= len(poison)


def test_list_shows_each_dead_letter_queue_with_its_count(platform, vhost):
    queue = EVENT_QUEUES[0]
    message_id = publish(vhost.amqp_uri, queue, b"not json")
    wait_for(lambda: message_id in dead_letters(vhost.amqp_uri, queue), message="the poison parked")
    out = cli(vhost.amqp_uri, "list")
    assert out.returncode == 0, out.stderr
    counts = dict(line.split("\t") for line in out.stdout.splitlines())
    assert int(counts[queue + ".dlq"]) >= 1
    assert set(counts) <= {q + ".dlq" for q in EVENT_QUEUES + RPC_QUEUES + topology.retired_queues()}


# -- the operators' commands on a handler that fails while a condition holds ------------------------------------------

metadata = sa.MetaData()
effects = sa.Table("effects", metadata, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                   sa.Column("event_id", sa.String(36), nullable=False))
LEDGER_CLOSED = threading.Event()  # the cause an operator fixes before replaying
QUEUE = "evt-dl_source-thing_happened--dl_consumer.on_thing"


class Consumer:
    name = "dl_consumer"

    observability = Observability()
    uow = Database(metadata)

    @event_handler("dl_source", "thing_happened", max_attempts=2, retry_delays_ms=(50,))
    def on_thing(self, payload):
        if LEDGER_CLOSED.is_set():
            raise RuntimeError("the ledger is closed")
        with self.uow() as u:
            if not u.claim_event("on_thing", payload["event_id"]):
                return
            u.execute(effects.insert().values(event_id=payload["event_id"]))
            u.commit()


@pytest.fixture(scope="module")
def database():
    d = Databases(services=("deadletters",))
    d.create()
    engine = make_engine(d.urls["deadletters"])
    metadata.create_all(engine)
    engine.dispose()
    yield d.urls["deadletters"]
    d.drop()


@pytest.fixture
def consumer(vhost, database):
    config = {"AMQP_URI": vhost.amqp_uri, "max_workers": 10, "DATABASE_URL": database, "OUTBOX_RELAY": False}
    container = ServiceContainer(Consumer, config)
    container.start()
    LEDGER_CLOSED.set()
    yield config
    LEDGER_CLOSED.clear()
    container.stop()
    with Connection(vhost.amqp_uri) as conn:
        deadletters.purge(conn.channel(), QUEUE)


def effect_counts(url: str, event_ids: list[str]) -> list[int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.select(effects.c.event_id, sa.func.count()).where(
                effects.c.event_id.in_(event_ids)).group_by(effects.c.event_id)).all())
    finally:
        engine.dispose()
    return [rows.get(e, 0) for e in event_ids]


def cli(uri: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mppi.runtime.deadletters", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={"AMQP_URI": uri, "PATH": "/usr/bin:/bin",
                                                      "PYTHONWARNINGS": "ignore"})


def park_failing(config, n: int) -> list[str]:
    """``n`` events whose handler fails while the ledger is closed, waited for in the dead-letter queue."""
    ids = [str(uuid.uuid4()) for _ in range(n)]
    dispatch = event_dispatcher(config)
    for event_id in ids:
        dispatch("dl_source", "thing_happened", {"event_id": event_id})
    with Connection(config["AMQP_URI"]) as conn:
        wait_for(lambda: depth(conn, QUEUE + ".dlq") == n, timeout=20, message=f"{n} events dead-lettered")
    return ids


def depth(conn, name: str) -> int:
    channel = conn.channel()
    try:
        return channel.queue_declare(name, passive=True)[1]
    except conn.channel_errors:
        return 0
    finally:
        if channel.is_open:
            channel.close()


def test_show_gives_the_reason_and_replay_of_one_message_processes_it_once_after_the_fix(consumer):
    other, fixed = park_failing(consumer, 2)
    message_ids = {}
    with Connection(consumer["AMQP_URI"]) as conn:
        for letter in deadletters.peek(conn.channel(), QUEUE, limit=10):
            message_ids[json.loads(letter.body)["event_id"]] = letter.message_id

    shown = cli(consumer["AMQP_URI"], "show", QUEUE, "--limit", "5")
    assert shown.returncode == 0, shown.stderr
    assert "failure: RuntimeError: the ledger is closed" in shown.stdout
    assert "attempts: 2" in shown.stdout  # bounded retries: the first delivery and one retry
    assert f"message {message_ids[fixed]}" in shown.stdout and fixed in shown.stdout
    assert "correlation id: " in shown.stdout

    LEDGER_CLOSED.clear()
    replayed = cli(consumer["AMQP_URI"], "replay", QUEUE, "--id", message_ids[fixed])
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 1" in replayed.stdout
    wait_for(lambda: effect_counts(consumer["DATABASE_URL"], [fixed]) == [1], message="the replayed event's effect")
    with Connection(consumer["AMQP_URI"]) as conn:
        left = deadletters.peek(conn.channel(), QUEUE, limit=10)
    assert [letter.message_id for letter in left] == [message_ids[other]]  # the other one waits its turn
    assert effect_counts(consumer["DATABASE_URL"], [other]) == [0]


def test_two_replays_at_once_process_every_message_exactly_once(consumer):
    ids = park_failing(consumer, 40)
    LEDGER_CLOSED.clear()
    runs = [subprocess.Popen([sys.executable, "-m", "mppi.runtime.deadletters", "replay", QUEUE, "--all"], cwd=ROOT,
                             env={"AMQP_URI": consumer["AMQP_URI"], "PATH": "/usr/bin:/bin",
                                  "PYTHONWARNINGS": "ignore"}, stdout=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=60)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert sum(int(re.search(r"replayed (\d+)", out).group(1)) for out in outputs) == len(ids)
    wait_for(lambda: effect_counts(consumer["DATABASE_URL"], ids) == [1] * len(ids), message="every effect once")
    with Connection(consumer["AMQP_URI"]) as conn:
        assert depth(conn, QUEUE + ".dlq") == 0


class CutOff(Exception):
    pass


class Interrupted:
    """A channel whose replay is cut off at the third publish or the third ack (a killed process, a lost link)."""

    def __init__(self, channel, at: str):
        self.channel, self.at, self.calls = channel, at, 0

    def __getattr__(self, name):
        method = getattr(self.channel, name)
        if name != self.at:
            return method

        def cut(*args, **kwargs):
            self.calls += 1
            if self.calls == 3:
                raise CutOff()
            return method(*args, **kwargs)

        return cut


@pytest.mark.parametrize("at", ["basic_publish_confirm", "basic_ack"])
def test_a_replay_cut_off_loses_nothing_and_the_next_replay_finishes_with_every_effect_once(consumer, at):
    ids = park_failing(consumer, 6)
    LEDGER_CLOSED.clear()
    with Connection(consumer["AMQP_URI"]) as conn:
        with pytest.raises(CutOff):
            deadletters.replay(Interrupted(conn.channel(), at), QUEUE)
    # the connection is gone: what it had taken and not acked is back in the dead-letter queue
    again = cli(consumer["AMQP_URI"], "replay", QUEUE, "--all")
    assert again.returncode == 0, again.stderr
    wait_for(lambda: effect_counts(consumer["DATABASE_URL"], ids) == [1] * len(ids), message="every effect once")
    with Connection(consumer["AMQP_URI"]) as conn:
        assert depth(conn, QUEUE + ".dlq") == 0


def test_purge_asks_for_yes_then_empties_the_dead_letter_queue(consumer):
    park_failing(consumer, 2)
    refused = cli(consumer["AMQP_URI"], "purge", QUEUE)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    with Connection(consumer["AMQP_URI"]) as conn:
        assert depth(conn, QUEUE + ".dlq") == 2
    purged = cli(consumer["AMQP_URI"], "purge", QUEUE, "--yes")
    assert purged.returncode == 0 and "purged 2" in purged.stdout
    with Connection(consumer["AMQP_URI"]) as conn:
        assert depth(conn, QUEUE + ".dlq") == 0
