"""The outbox across a crash: an event committed with its state change is published after the service restarts."""
import uuid

from kombu import Connection, Exchange, Queue
from support import wait_for


def test_event_committed_before_a_kill_arrives_after_restart(platform, admin):
    exchange = Exchange("tenants.events", type="topic", durable=True)
    queue = Queue(f"test-outbox-{uuid.uuid4().hex[:6]}", exchange=exchange, routing_key="tenant_created",
                  durable=True, auto_delete=False)
    slug = f"crash-{uuid.uuid4().hex[:6]}"
    with Connection(platform.amqp_uri) as conn:
        channel = conn.channel()
        bound = queue.bind(channel)
        exchange.bind(channel).declare()
        bound.declare()
        try:
            # the tenants service without its relay: it commits and then "dies" before publishing
            platform.stop("tenants")
            platform.start_service("tenants", MPPI_OUTBOX_RELAY="false")
            r = wait_for(lambda: _create(admin, slug), timeout=30, message="tenants to answer")
            assert r.status_code == 201, r.text
            platform.kill("tenants")
            assert bound.get(no_ack=True) is None, "nothing may have been published before the crash"

            platform.start_service("tenants")

            def received():
                message = bound.get(no_ack=True)
                return message if message and message.payload["tenant"] == slug else None

            message = wait_for(received, timeout=30, message="tenant_created after restart")
            assert message.payload["data"]["name"] == "Kabupaten Pesisir Selatan"
            assert message.headers.get("nameko.correlation_id")
            platform.wait_ready()
        finally:
            bound.delete()


def _create(admin, slug):
    r = admin.post("/api/v1/tenants", json={"slug": slug, "region_code": "13.01"})
    return r if r.status_code != 503 else None
