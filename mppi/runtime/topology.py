"""The platform's queues, read from the services' classes. Migrations declare every service's durable event queues
before any service runs, so an event published before its consumer first started is queued for it, not dropped, and
delete the queues of handlers that no longer exist, once they are empty (a queue nobody consumes would otherwise grow
for ever). ``consumed_queues`` lists every queue a service consumes, for the dead-letter commands and their tests."""
from __future__ import annotations

import importlib
import logging

from kombu import Connection, Queue
from nameko.containers import ServiceContainer
from nameko.rpc import Rpc

from mppi.runtime.events import ReliableEventHandler

log = logging.getLogger(__name__)

SERVICE_CLASSES = {
    "tenants": "services.tenants.service:TenantsService",
    "catalog": "services.catalog.service:CatalogService",
    "applications": "services.applications.service:ApplicationsService",
    "notifications": "services.notifications.service:NotificationsService",
}


# (source service, event type, service, method) of event handlers that were merged away or removed
RETIRED_HANDLERS = [
    ("applications", "application_submitted", "notifications", "feed_submitted"),
    ("applications", "application_status_changed", "notifications", "feed_status_changed"),
    ("applications", "application_completed", "notifications", "feed_completed"),
    ("applications", "application_sla_breached", "notifications", "feed_sla_breached"),
]


def retired_queues() -> list[str]:
    return [f"evt-{source}-{event_type}--{service}.{method}"
            for source, event_type, service, method in RETIRED_HANDLERS]


def load(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def durable_queues(config: dict) -> list[Queue]:
    """Each event handler's queue."""
    return [q for q, kind in _queues(config) if kind == "event"]


def consumed_queues(config: dict) -> list[Queue]:
    """Every queue a service consumes: each event handler's and each service's RPC queue (``rpc-<service>``)."""
    return [q for q, _ in _queues(config)]


def _queues(config: dict) -> list[tuple[Queue, str]]:
    queues = []
    for path in SERVICE_CLASSES.values():
        container = ServiceContainer(load(path), config)  # binds extensions; connects to nothing
        rpc_consumers = []
        for entrypoint in container.entrypoints:
            # setup() computes the queue exactly as the running service will (it registers in memory, no I/O)
            if isinstance(entrypoint, ReliableEventHandler):
                entrypoint.setup()
                queues.append((entrypoint.queue, "event"))
            elif isinstance(entrypoint, Rpc) and entrypoint.rpc_consumer not in rpc_consumers:
                rpc_consumers.append(entrypoint.rpc_consumer)  # one per service, shared by its methods
        for consumer in rpc_consumers:
            consumer.setup()
            queues.append((consumer.queue, "rpc"))
    return queues


def declare(config: dict) -> list[str]:
    queues = durable_queues(config)
    with Connection(config["AMQP_URI"]) as conn:
        channel = conn.channel()
        for queue in queues:
            queue.bind(channel).declare()
        for name in retired_queues():
            for suffix in ("", ".dlq"):
                _delete_if_empty(conn, name + suffix)
    return [q.name for q in queues]


def _delete_if_empty(conn: Connection, name: str) -> None:
    channel = conn.channel()  # a failed delete closes its channel: one each
    try:
        channel.queue_delete(name, if_empty=True)
    except conn.channel_errors as exc:  # still holding messages: an older release's consumers drain it first
        log.warning("retired queue %s not deleted: %s", name, exc)
    finally:
        try:
            channel.close()
        except conn.connection_errors + conn.channel_errors:
            pass
