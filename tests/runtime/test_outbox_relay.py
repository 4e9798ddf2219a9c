"""The outbox relay against the real broker and database: a batch is published with its confirms awaited together,
every confirmed row is marked sent, and a row no queue is bound for comes back, stays unsent and waits to retry."""
import json
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from kombu import Connection

from devtools.platform import Databases, Vhost
from mppi.runtime import metrics
from mppi.runtime.database import make_engine, runtime_tables, utcnow
from mppi.runtime.outbox import BATCH, OutboxRelay


@pytest.fixture(scope="module")
def broker():
    v = Vhost()
    v.create()
    yield v.amqp_uri
    v.delete()


@pytest.fixture(scope="module")
def outbox():
    d = Databases(services=("relay",))
    d.create()
    metadata = sa.MetaData()
    table, _ = runtime_tables(metadata)
    engine = make_engine(d.urls["relay"])
    metadata.create_all(engine)
    yield engine, table
    engine.dispose()
    d.drop()


def test_a_batch_is_confirmed_at_once_and_an_unroutable_event_waits_to_retry(broker, outbox):
    engine, table = outbox
    with Connection(broker) as conn:
        channel = conn.channel()
        channel.exchange_declare("demo.events", "topic", durable=True, auto_delete=False)
        channel.queue_declare("demo-listener", durable=True, auto_delete=False)
        channel.queue_bind("demo-listener", "demo.events", "thing_happened")
    now = utcnow()
    rows = [{"event_id": str(uuid.uuid4()), "source": "demo",
             "event_type": "nobody_listens" if i % 10 == 0 else "thing_happened",
             "payload": json.dumps({"n": i, "text": "Pengajuan diterima ✓"}), "correlation_id": f"cid-{i}",
             "created_at": now, "next_attempt_at": now} for i in range(2 * BATCH + 50)]
    with engine.begin() as c:
        c.execute(table.insert(), rows)

    relay = OutboxRelay(engine=engine, outbox=table, amqp_uri=broker, metrics=metrics.for_service("relaytest"))
    relayed = [relay.relay_once() for _ in range(4)]
    relay.stop()
    assert relayed == [BATCH, BATCH, 50, 0]  # the returned ones wait for their back-off, not taken again at once

    listened = [r for r in rows if r["event_type"] == "thing_happened"]
    received = []
    with Connection(broker) as conn:
        channel = conn.channel()
        while (message := channel.basic_get("demo-listener", no_ack=True)) is not None:
            received.append(message)
    assert len(received) == len(listened)
    by_id = {m.properties["message_id"]: m for m in received}
    for row in listened:
        message = by_id[row["event_id"]]
        assert json.loads(message.body) == json.loads(row["payload"])
        assert message.headers["nameko.correlation_id"] == row["correlation_id"]
        assert message.properties["delivery_mode"] == 2

    with engine.connect() as c:
        state = {r.event_id: r for r in c.execute(sa.select(table))}
    for row in rows:
        got = state[row["event_id"]]
        assert got.attempts == 1
        if row["event_type"] == "thing_happened":
            assert got.sent_at is not None
        else:
            assert got.sent_at is None and got.next_attempt_at > now + timedelta(seconds=1)
