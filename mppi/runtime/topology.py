"""Declare every service's durable event queues before any service runs (a step of migrations), so an event
published before its consumer first started is queued for it, not dropped."""
from __future__ import annotations

import importlib
import logging

from kombu import Connection
from nameko.containers import ServiceContainer

from mppi.runtime.events import ReliableEventHandler

log = logging.getLogger(__name__)

SERVICE_CLASSES = {
    "tenants": "services.tenants.service:TenantsService",
    "catalog": "services.catalog.service:CatalogService",
    "applications": "services.applications.service:ApplicationsService",
    "notifications": "services.notifications.service:NotificationsService",
}


def load(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def durable_queues(config: dict) -> list:
    queues = []
    for path in SERVICE_CLASSES.values():
        container = ServiceContainer(load(path), config)  # binds extensions; connects to nothing
        for entrypoint in container.entrypoints:
            if isinstance(entrypoint, ReliableEventHandler):
                entrypoint.setup()  # computes the queue exactly as the running service will
                queues.append(entrypoint.queue)
    return queues


def declare(config: dict) -> list[str]:
    queues = durable_queues(config)
    with Connection(config["AMQP_URI"]) as conn:
        channel = conn.channel()
        for queue in queues:
            queue.bind(channel).declare()
    return [q.name for q in queues]
