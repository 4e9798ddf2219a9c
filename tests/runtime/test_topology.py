"""Migrations declare every durable event queue and delete the queues of retired handlers once they are empty."""
import pytest
from kombu import Connection

from devtools.platform import Vhost
from mppi.runtime import topology


@pytest.fixture
def broker():
    v = Vhost()
    v.create()
    yield v.amqp_uri
    v.delete()


def queue_exists(uri: str, name: str) -> bool:
    with Connection(uri) as conn:
        channel = conn.channel()
        try:
            channel.queue_declare(name, passive=True)
            return True
        except conn.channel_errors:
            return False


def test_queues_are_declared_and_an_empty_retired_queue_is_deleted_but_one_holding_messages_is_kept(broker):
    empty, holding = topology.retired_queues()[:2]
    with Connection(broker) as conn:
        channel = conn.channel()
        for name in (empty, holding, empty + ".dlq"):
            channel.queue_declare(name, durable=True, auto_delete=False)
        with conn.Producer() as producer:
            producer.publish({"still": "here"}, routing_key=holding, exchange="")

    declared = topology.declare({"AMQP_URI": broker})

    assert "evt-applications-application_submitted--notifications.notify_submitted" in declared
    assert all(queue_exists(broker, name) for name in declared)
    assert not queue_exists(broker, empty) and not queue_exists(broker, empty + ".dlq")
    assert queue_exists(broker, holding)  # its message is not thrown away
    topology.declare({"AMQP_URI": broker})  # again, with nothing retired left to find: no error
