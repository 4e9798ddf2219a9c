"""The shared runtime against the real RabbitMQ and PostgreSQL: idempotent handlers, retries then dead letters,
and database queries that yield to eventlet."""
import time
import uuid

import pytest
import sqlalchemy as sa
from kombu import Connection, Queue
from nameko.containers import ServiceContainer
from nameko.rpc import rpc
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy
from support import wait_for

from devtools.platform import Databases
from mppi.runtime.database import make_engine
from mppi.runtime.events import event_handler
from mppi.runtime.providers import Database, Observability

metadata = sa.MetaData()
effects = sa.Table("effects", metadata, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                   sa.Column("event_id", sa.String(36), nullable=False))


class Consumer:
    name = "rt_consumer"

    observability = Observability()
    uow = Database(metadata)

    @event_handler("rt_source", "thing_happened")
    def on_thing(self, payload):
        with self.uow() as u:
            if not u.claim_event("on_thing", payload["event_id"]):
                return
            u.execute(effects.insert().values(event_id=payload["event_id"]))
            u.commit()

    @event_handler("rt_source", "poison", max_attempts=3, retry_delays_ms=(100, 200))
    def on_poison(self, payload):
        raise RuntimeError("this handler always fails")

    @rpc
    def slow_query(self) -> float:
        with self.uow() as u:
            started = time.monotonic()
            u.execute(sa.text("SELECT pg_sleep(1)"))
            return time.monotonic() - started


@pytest.fixture(scope="module")
def database():
    d = Databases(services=("runtime",))
    d.create()
    url = d.urls["runtime"]
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    yield url
    d.drop()


@pytest.fixture
def consumer(vhost, database):
    config = {"AMQP_URI": vhost.amqp_uri, "max_workers": 10, "DATABASE_URL": database, "OUTBOX_RELAY": False}
    container = ServiceContainer(Consumer, config)
    container.start()
    yield config
    container.stop()


def _count(url: str, event_id: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).where(effects.c.event_id == event_id)).scalar()
    finally:
        engine.dispose()


def test_an_event_delivered_twice_takes_effect_once(consumer):
    dispatch = event_dispatcher(consumer)
    twice, later = str(uuid.uuid4()), str(uuid.uuid4())
    dispatch("rt_source", "thing_happened", {"event_id": twice})
    dispatch("rt_source", "thing_happened", {"event_id": twice})
    dispatch("rt_source", "thing_happened", {"event_id": later})
    url = consumer["DATABASE_URL"]
    wait_for(lambda: _count(url, later) == 1, message="the later event's effect")
    wait_for(lambda: _queue_depth(consumer["AMQP_URI"], "evt-rt_source-thing_happened--rt_consumer.on_thing") == 0,
             message="the queue to drain")
    assert _count(url, twice) == 1


def _queue_depth(amqp_uri: str, name: str) -> int:
    with Connection(amqp_uri) as conn:
        _, messages, _ = Queue(name, durable=True).bind(conn.default_channel).queue_declare(passive=True)
        return messages


def test_a_failing_handler_retries_then_dead_letters_without_losing_the_event(consumer):
    poison = str(uuid.uuid4())
    event_dispatcher(consumer)("rt_source", "poison", {"event_id": poison})
    dlq = "evt-rt_source-poison--rt_consumer.on_poison.dlq"

    def parked():
        with Connection(consumer["AMQP_URI"]) as conn:
            try:
                message = Queue(dlq, durable=True).bind(conn.default_channel).get(no_ack=True)
            except Exception:  # not declared yet: nothing parked
                return None
            return message

    message = wait_for(parked, timeout=20, message="the event in the dead-letter queue")
    assert message.payload["event_id"] == poison
    assert message.headers["x-mppi-attempt"] == 3


def test_ten_one_second_queries_in_one_service_run_concurrently(consumer):
    with ClusterRpcProxy(consumer, timeout=30) as cluster:
        started = time.monotonic()
        replies = [cluster.rt_consumer.slow_query.call_async() for _ in range(10)]
        durations = [r.result() for r in replies]
        elapsed = time.monotonic() - started
    assert all(d >= 0.99 for d in durations)
    assert elapsed < 3.0, f"10 x 1 s queries took {elapsed:.1f} s: the driver blocks the eventlet hub"
