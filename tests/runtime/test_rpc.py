"""RPC both ends against the real RabbitMQ: the gateway's lean client and the services' reply path, with their
timeouts and their recovery from connections the broker closed."""
import time
from urllib.parse import quote

import eventlet
import pytest
import requests
from nameko.containers import ServiceContainer

from devtools.platform import MANAGEMENT
from mppi.contracts.errors import DependencyUnavailable, ValidationFailed, field_error
from mppi.runtime.logging import correlation_id
from mppi.runtime.providers import Observability
from mppi.runtime.rpc import RpcClient, rpc


class Echo:
    name = "rpc_test_echo"

    observability = Observability()

    @rpc
    def echo(self, value, *, delay: float = 0.0):
        eventlet.sleep(delay)
        return value

    @rpc
    def refuse(self, detail: str):
        raise ValidationFailed(detail, [field_error(["body", "items", 0], "is required")])

    @rpc
    def whose_call(self) -> str | None:
        return correlation_id.get()


@pytest.fixture(scope="module")
def service(vhost):
    config = {"AMQP_URI": vhost.amqp_uri, "max_workers": 20}
    container = ServiceContainer(Echo, config)
    container.start()
    yield container
    container.stop()


@pytest.fixture
def client(service):
    c = RpcClient(service.config, timeout=10)
    yield c
    c.close()


def test_a_call_is_answered(client):
    assert client.call(Echo.name, "echo", {"n": 1, "text": "halo"}) == {"n": 1, "text": "halo"}


def test_concurrent_calls_each_get_their_own_answer(client):
    pool = eventlet.GreenPool(50)
    answers = list(pool.imap(lambda i: client.call(Echo.name, "echo", i, delay=0.01 * (i % 5)), range(50)))
    assert answers == list(range(50))


def test_the_callers_correlation_id_reaches_the_service(client):
    token = correlation_id.set("cid-from-the-gateway")
    try:
        assert client.call(Echo.name, "whose_call") == "cid-from-the-gateway"
    finally:
        correlation_id.reset(token)


def test_a_platform_error_comes_back_as_itself(client):
    with pytest.raises(ValidationFailed) as raised:
        client.call(Echo.name, "refuse", "the items are missing")
    assert str(raised.value) == "the items are missing"
    assert raised.value.errors == [{"loc": ["body", "items", 0], "msg": "is required"}]


def test_a_service_that_never_started_is_refused_at_once_and_the_client_carries_on(service):
    client = RpcClient(service.config, timeout=10, size=1)
    try:
        assert client.call(Echo.name, "echo", "first") == "first"
        slot = client._idle[0]
        started = time.monotonic()
        with pytest.raises(DependencyUnavailable, match="nobody_serves_this is not running"):
            client.call("nobody_serves_this", "ping")  # no queue: the broker returns it, no waiting for the timeout
        assert time.monotonic() - started < 1
        assert client.call(Echo.name, "echo", "next") == "next"
        assert client._idle == [slot], "the timeout cost the client its connection"
    finally:
        client.close()


def test_a_reply_after_the_timeout_is_dropped_and_the_next_call_gets_its_own(service):
    client = RpcClient(service.config, timeout=10, size=1)  # one slot: the late reply arrives where the next waits
    try:
        with pytest.raises(DependencyUnavailable, match="did not answer in time"):
            client.call(Echo.name, "echo", "late", delay=1.0, timeout=0.3)
        # answered after the late reply reached the slot's queue
        assert client.call(Echo.name, "echo", "own", delay=1.0, timeout=5) == "own"
        assert client.call(Echo.name, "echo", "after") == "after"
    finally:
        client.close()


def test_the_client_recovers_from_connections_the_broker_closed(service, vhost):
    client = RpcClient(service.config, timeout=5, size=1)
    try:
        assert client.call(Echo.name, "echo", 1) == 1
        _close_connections(vhost, {s.connection.sock.getsockname()[1] for s in client._idle})
        try:
            assert client.call(Echo.name, "echo", 2) == 2
        except DependencyUnavailable:
            pass  # a request that went out on the closed connection is lost: a 503 the caller may retry
        assert client.call(Echo.name, "echo", 3) == 3
    finally:
        client.close()


def test_the_service_replies_again_after_the_broker_closed_its_reply_connection(service, vhost, client):
    assert client.call(Echo.name, "echo", "before") == "before"
    consumer = next(iter(service.entrypoints)).rpc_consumer
    _close_connections(vhost, {consumer._link.connection.sock.getsockname()[1]})
    try:
        assert client.call(Echo.name, "echo", "after", timeout=2) == "after"
    except DependencyUnavailable:
        pass  # a reply sent before the broker's close reached the service is lost: the caller's timeout covers it
    assert client.call(Echo.name, "echo", "later") == "later"


def _close_connections(vhost, local_ports: set[int]) -> None:
    """Close this process's connections from these local ports through the management API, as a broker restart
    would (the broker's close reaches the client at once; the API goes on listing the connection for a while)."""
    api = MANAGEMENT.rstrip("/") + "/api"

    def ours():
        listed = requests.get(f"{api}/vhosts/{quote(vhost.name, safe='')}/connections", timeout=10).json()
        return [c["name"] for c in listed if c.get("peer_port") in local_ports]

    deadline = time.monotonic() + 15
    names = ours()
    while len(names) < len(local_ports):  # the management API lists a new connection a moment later
        assert time.monotonic() < deadline, f"connections from ports {local_ports} never listed"
        time.sleep(0.1)
        names = ours()
    for name in names:
        requests.delete(f"{api}/connections/{quote(name, safe='')}", timeout=10).raise_for_status()


class Counting:
    name = "rpc_test_counting"
    calls = 0

    @rpc
    def count(self):
        Counting.calls += 1
        return Counting.calls


def test_a_request_whose_caller_gave_up_is_dropped_not_worked_on(vhost):
    config = {"AMQP_URI": vhost.amqp_uri, "max_workers": 5}
    container = ServiceContainer(Counting, config)
    container.start()  # declares its queue, which outlives it
    container.stop()
    client = RpcClient(config, timeout=10)
    try:
        with pytest.raises(DependencyUnavailable):
            client.call(Counting.name, "count", timeout=0.3)  # the service is down: nobody answers in time
        time.sleep(0.5)
        Counting.calls = 0
        container = ServiceContainer(Counting, config)
        container.start()
        try:
            assert client.call(Counting.name, "count") == 1, "the abandoned request was worked on first"
        finally:
            container.stop()
    finally:
        client.close()


def test_a_slow_service_cannot_take_the_calls_another_service_needs(service, vhost):
    client = RpcClient(service.config, timeout=10, size=2)
    container = ServiceContainer(Counting, {"AMQP_URI": vhost.amqp_uri, "max_workers": 5})
    container.start()
    try:
        slow = [eventlet.spawn(client.call, Echo.name, "echo", i, delay=1.5) for i in range(2)]
        eventlet.sleep(0.2)  # both of the echo service's calls are in flight
        started = time.monotonic()
        client.call(Counting.name, "count")
        assert time.monotonic() - started < 1.0, "waited for the slow service's calls"
        assert [g.wait() for g in slow] == [0, 1]
    finally:
        container.stop()
        client.close()
