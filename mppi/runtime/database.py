"""The one database provider: engines per URL (PostgreSQL or SQLite), and a unit of work that writes outbox rows
and processed-event marks in the same transaction as the state change, and whose database being down or restarting
is a ``DependencyUnavailable`` (503) for the caller."""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from mppi.contracts.errors import DependencyUnavailable
from mppi.runtime.logging import correlation_id

log = logging.getLogger(__name__)


class UtcDateTime(sa.types.TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, on PostgreSQL and on SQLite (which keeps none)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetimes are not stored: say which timezone")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def runtime_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """Add the outbox and the processed-events tables to a service's metadata (and so to its migrations)."""
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("correlation_id", sa.String(64)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime()),
    )
    sa.Index("ix_outbox_unsent", outbox.c.next_attempt_at, outbox.c.id, postgresql_where=outbox.c.sent_at.is_(None),
             sqlite_where=outbox.c.sent_at.is_(None))
    processed = sa.Table(
        "processed_events",
        metadata,
        sa.Column("handler", sa.String(120), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("processed_at", UtcDateTime(), nullable=False),
    )
    # what the retention sweep (mppi.runtime.retention) deletes by
    sa.Index("ix_outbox_sent_at", outbox.c.sent_at, postgresql_where=outbox.c.sent_at.isnot(None),
             sqlite_where=outbox.c.sent_at.isnot(None))
    sa.Index("ix_processed_events_processed_at", processed.c.processed_at)
    return outbox, processed


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Create an engine without connecting. SQLite gets WAL and a busy timeout so several processes can share it."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa_event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # No pre-ping (a round trip per checkout): a unit of work replays its first statement once on a fresh
    # connection when the pooled one turns out dead (``UnitOfWork.execute``), which is all a pre-ping would buy.
    return sa.create_engine(url, pool_size=pool_size, max_overflow=2, pool_recycle=1800)


def claim_statement(engine: Engine, processed: sa.Table):
    """``INSERT … ON CONFLICT DO NOTHING`` of a processed-event mark: one round trip that says whether it was new."""
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    return insert(processed).on_conflict_do_nothing()


class UnitOfWork:
    """One transaction. Events recorded with ``emit`` become outbox rows committed with the state change."""

    def __init__(self, engine: Engine, *, source: str, outbox: sa.Table, claim: sa.Insert,
                 on_commit: Callable[[], None] | None = None):
        self._engine = engine
        self._source = source
        self._insert_outbox = outbox.insert()  # statements built once: executing them again costs less
        self._claim = claim
        self._on_commit = on_commit
        self.conn: Connection | None = None
        self._emitted = 0
        self._fresh = False  # nothing has run yet in the current transaction

    def __enter__(self) -> UnitOfWork:
        try:
            self.conn = self._engine.connect()
            self._tx = self.conn.begin()
        except sa.exc.DBAPIError as exc:
            _raise_unavailable(exc)
            raise
        self._fresh = True
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self._tx.is_active:
                self._tx.rollback()
        except sa.exc.DBAPIError:  # the connection is gone: so is its transaction; the first error is the one to tell
            log.debug("rolling back on a lost connection failed", exc_info=True)
        finally:
            self.conn.close()
            self.conn = None

    def execute(self, statement, params=None):
        args = (statement,) if params is None else (statement, params)
        try:
            try:
                return self.conn.execute(*args)
            except sa.exc.DBAPIError as exc:
                if not (self._fresh and exc.connection_invalidated):
                    raise
                # the pooled connection died while idle (the database restarted): nothing of this transaction has
                # run, so it starts again on a new connection (SQLAlchemy has already thrown the pool's old ones away)
                log.warning("database connection lost while idle; retrying on a new one")
                self._tx.rollback()
                self._tx = self.conn.begin()
                return self.conn.execute(*args)
        except sa.exc.DBAPIError as exc:
            _raise_unavailable(exc)
            raise
        finally:
            self._fresh = False

    def emit(self, event) -> None:
        """Write an event (a ``mppi.contracts.events.Event``) into the outbox of this transaction."""
        now = utcnow()
        self.execute(self._insert_outbox, {
            "event_id": event.event_id, "source": self._source, "event_type": event.type,
            "payload": json.dumps(event.model_dump(mode="json"), ensure_ascii=False),
            "correlation_id": correlation_id.get(), "created_at": now, "next_attempt_at": now})
        self._emitted += 1

    def claim_event(self, handler: str, event_id: str) -> bool:
        """Mark an incoming event as processed by ``handler``; False when it already was (a redelivery). A concurrent
        duplicate waits at the insert for the first one's transaction and then finds it claimed."""
        row = {"handler": handler, "event_id": event_id, "processed_at": utcnow()}
        return self.execute(self._claim, row).rowcount == 1

    def claimed(self, handler: str, event_id: str) -> bool:
        """Whether ``handler`` has claimed the event (or request) already; a read, so no write lock is taken yet (on
        SQLite a write lock held across slow work, such as issuing a PDF, would stall every other writer)."""
        t = self._claim.table
        return self.execute(sa.select(t.c.event_id).where(t.c.handler == handler, t.c.event_id == event_id)
                            ).first() is not None

    def commit(self) -> None:
        try:
            self._tx.commit()
        except sa.exc.DBAPIError as exc:  # lost with the connection: whether it committed is unknown, as with a 503
            _raise_unavailable(exc)
            raise
        if self._emitted and self._on_commit:
            self._on_commit()
        self._emitted = 0
        self._tx = self.conn.begin()
        self._fresh = True


def _raise_unavailable(exc: sa.exc.DBAPIError) -> None:
    """A database that is down, restarting or unreachable (connection refused or lost, shutting down, starting up,
    a deadlock or a cancelled statement: all worth trying again) is the caller's 503, not a bug's 500."""
    if exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        log.warning("database unavailable: %s", str(exc.orig).strip().splitlines()[0] if exc.orig else exc)
        raise DependencyUnavailable("the database is unavailable; try again shortly") from exc


def uow_factory(engine: Engine, *, source: str, metadata: sa.MetaData,
                on_commit: Callable[[], None] | None = None) -> Callable[[], UnitOfWork]:
    """A ``unit_of_work()`` factory over a service's engine and its outbox tables."""
    outbox = metadata.tables["outbox"]
    claim = claim_statement(engine, metadata.tables["processed_events"])

    def unit_of_work() -> UnitOfWork:
        return UnitOfWork(engine, source=source, outbox=outbox, claim=claim, on_commit=on_commit)

    return unit_of_work


def new_id() -> str:
    return uuid.uuid4().hex


_REQUESTS = uuid.UUID("6f1d3c52-8a0e-4b7a-9a51-3f2f0c7d9e10")  # names the ids made from request keys


def id_for_request(*parts: str) -> str:
    """The id of what a request makes, from its request key and what it is about: the same for the request
    delivered again (its service was killed before it answered) and for a client's retry with the same
    ``Idempotency-Key``, so the repeat finds what the first made instead of making it twice."""
    return uuid.uuid5(_REQUESTS, "/".join(parts)).hex
