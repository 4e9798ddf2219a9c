"""Creating a subscription is done once per request key, against the real RabbitMQ management API (a vhost of its
own) and the service's tables: the same key again (a request delivered again because the notifications service was
killed before it answered, or a region admin's retry) answers with the subscription it made, never a second one;
a broker user left by an attempt killed before its commit is made again; the management API down is a 503."""
import uuid

import pika
import pika.exceptions
import pytest

from devtools.platform import MANAGEMENT
from mppi.contracts.errors import DependencyUnavailable
from mppi.runtime.database import id_for_request
from services.notifications import subscriptions
from services.notifications.broker_users import BrokerUsers

TENANT = "sinjai"


@pytest.fixture
def broker(vhost):
    users = BrokerUsers(MANAGEMENT, vhost.name)
    users.ensure_exchange()
    made: list[str] = []
    yield users, made
    for sid in made:
        users.delete(f"sub-{TENANT}-{sid[:8]}")


def create(uow, broker, payload, key):
    users, made = broker
    answer = subscriptions.create(TENANT, payload, request_key=key, uow=uow, broker=users, allow_private=True)
    made.append(answer["id"])
    return answer


def can_connect(url: str) -> bool:
    params = pika.URLParameters(url)
    params.connection_attempts, params.socket_timeout = 1, 5
    try:
        pika.BlockingConnection(params).close()
        return True
    except pika.exceptions.ProbableAuthenticationError:
        return False


def test_a_webhook_asked_for_again_with_its_key_is_the_same_one_with_its_secret(uow, broker):
    key = uuid.uuid4().hex
    hook = {"kind": "webhook", "url": "http://127.0.0.1:9/hook"}
    first, again = create(uow, broker, hook, key), create(uow, broker, hook, key)
    assert again["id"] == first["id"] and again["secret"] == first["secret"]
    assert [s["id"] for s in subscriptions.list_for(TENANT, uow=uow)["items"]] == [first["id"]]
    assert create(uow, broker, hook, uuid.uuid4().hex)["id"] != first["id"], "another key, another subscription"


def test_an_amqp_subscription_asked_for_again_is_the_same_user_with_a_new_password(uow, broker):
    key = uuid.uuid4().hex
    first = create(uow, broker, {"kind": "amqp"}, key)
    again = create(uow, broker, {"kind": "amqp"}, key)
    assert again["id"] == first["id"] and again["amqp"]["username"] == first["amqp"]["username"]
    assert again["amqp"]["queue_prefix"] == first["amqp"]["queue_prefix"]
    assert can_connect(again["amqp"]["url"]), "the answer that arrived works"
    assert not can_connect(first["amqp"]["url"]), "the password of the answer that was lost does not"
    assert len(subscriptions.list_for(TENANT, uow=uow)["items"]) == 1


def test_a_broker_user_left_by_an_attempt_killed_before_its_commit_is_made_again(uow, broker):
    users, _ = broker
    key = uuid.uuid4().hex
    orphan = users.create(TENANT, id_for_request(TENANT, "subscription", key))  # made, then the service was killed
    answer = create(uow, broker, {"kind": "amqp"}, key)  # the request delivered again
    assert answer["amqp"]["username"] == orphan["username"]
    assert can_connect(answer["amqp"]["url"]) and not can_connect(orphan["url"])


def test_the_management_api_down_is_a_503_and_nothing_is_kept(uow, vhost):
    down = BrokerUsers("http://127.0.0.1:9/api", vhost.name, timeout=2)
    with pytest.raises(DependencyUnavailable):
        subscriptions.create(TENANT, {"kind": "amqp"}, request_key=uuid.uuid4().hex, uow=uow, broker=down,
                             allow_private=True)
    assert subscriptions.list_for(TENANT, uow=uow)["items"] == []
