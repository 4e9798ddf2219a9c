"""nameko dependency providers every service uses: its database (with the outbox relay and the retention sweep) and
observability
(correlation ids, metrics, error logging). No I/O in ``__init__``; clients are built in ``setup``."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

import sqlalchemy as sa
from nameko.extensions import DependencyProvider

from mppi.contracts.errors import MppiError
from mppi.runtime import blobstore, metrics, settings
from mppi.runtime.database import make_engine, runtime_tables, uow_factory
from mppi.runtime.logging import correlation_id, new_correlation_id
from mppi.runtime.outbox import OutboxRelay
from mppi.runtime.retention import Retention

log = logging.getLogger(__name__)


class Database(DependencyProvider):
    """Hands each worker a ``unit_of_work()`` factory bound to the service's engine; runs the outbox relay and the
    retention sweep of the outbox and the claims (both off with ``OUTBOX_RELAY`` false)."""

    def __init__(self, metadata: sa.MetaData, *, url: str | None = None):
        self.metadata = metadata
        self.url = url
        if "outbox" not in metadata.tables:
            runtime_tables(metadata)

    def setup(self) -> None:
        cfg = settings.get()
        service = self.container.service_name
        workers = self.container.config.get("max_workers", 10)
        self.engine = make_engine(database_url(self.container, self.url), pool_size=workers + 2)
        self.relay = self.retention = None
        if self.container.config.get("OUTBOX_RELAY", cfg.outbox_relay):
            self.relay = OutboxRelay(engine=self.engine, outbox=self.metadata.tables["outbox"],
                                     amqp_uri=self.container.config["AMQP_URI"],
                                     metrics=metrics.for_service(service))
            self.retention = Retention(engine=self.engine, metadata=self.metadata, metrics=metrics.for_service(service),
                                       outbox_keep=timedelta(days=cfg.outbox_keep_days),
                                       claims_keep=timedelta(days=cfg.claims_keep_days))
        self.unit_of_work = uow_factory(self.engine, source=service, metadata=self.metadata,
                                        on_commit=self.relay.wake if self.relay else None)

    def start(self) -> None:
        if self.relay:
            self.container.spawn_managed_thread(self.relay.run, identifier="outbox_relay")
            self.container.spawn_managed_thread(self.retention.run, identifier="retention")

    def stop(self) -> None:
        if self.relay:
            self.relay.stop()
            self.retention.stop()
        self.engine.dispose()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.unit_of_work


def database_url(container, url: str | None = None) -> str:
    """The service's database: an explicit URL, the container's DATABASE_URL, else the settings' per-service URL."""
    return url or container.config.get("DATABASE_URL") or settings.get().database_url(container.service_name)


class Blobs(DependencyProvider):
    """The blob store (a folder under MPPI_VAR_DIR, or S3 when MPPI_S3_BUCKET is set)."""

    def setup(self) -> None:
        self.store = blobstore.from_settings(settings.get().blob_dir.parent)

    def get_dependency(self, worker_ctx):
        return self.store


class Observability(DependencyProvider):
    """Carries the correlation id into the worker (and on into its RPCs and events); counts and times calls."""

    def setup(self) -> None:
        self.metrics = metrics.for_service(self.container.service_name)
        self._started: dict[int, float] = {}

    def worker_setup(self, worker_ctx) -> None:
        cid = worker_ctx.data.get("correlation_id") or new_correlation_id()
        worker_ctx.data["correlation_id"] = cid
        correlation_id.set(cid)
        self._started[id(worker_ctx)] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:
        name = worker_ctx.entrypoint.method_name
        started = self._started.pop(id(worker_ctx), None)
        if started is not None:
            self.metrics.seconds.labels(name).observe(time.perf_counter() - started)
        if exc_info is None:
            outcome = "ok"
        elif isinstance(exc_info[1], MppiError):
            outcome = exc_info[1].code.lower()
        else:
            outcome = "error"
            log.error("%s failed", name, exc_info=exc_info)
        self.metrics.calls.labels(name, outcome).inc()

    def get_dependency(self, worker_ctx):
        return None
