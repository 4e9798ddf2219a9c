"""The retention sweep on a real PostgreSQL (and SQLite): sent outbox rows past their keep and claims past theirs go,
in batches; unsent rows stay however old, and so does everything younger than its keep."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from devtools.platform import Databases
from mppi.runtime import retention
from mppi.runtime.database import make_engine, runtime_tables, utcnow
from mppi.runtime.metrics import for_service
from mppi.runtime.retention import Retention


@pytest.fixture(scope="module")
def pg_url():
    dbs = Databases(services=("retention",))
    dbs.create()
    yield dbs.urls["retention"]
    dbs.drop()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_the_sweep_deletes_only_what_is_past_its_keep(backend, pg_url, tmp_path, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 3)
    metadata = sa.MetaData()
    outbox, claims = runtime_tables(metadata)
    engine = make_engine(pg_url if backend == "postgresql" else f"sqlite:///{tmp_path}/r.db", pool_size=2)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    now = utcnow()
    day = timedelta(days=1)
    rows = {  # event id: (created, sent) days ago
        "sent-long-ago-1": (40, 40), "sent-long-ago-2": (9, 8), "sent-long-ago-3": (30, 29), "sent-long-ago-4": (8, 8),
        "sent-lately": (8, 6), "unsent-long-ago": (60, None), "unsent": (0, None),
    }
    with engine.begin() as conn:
        conn.execute(outbox.insert(), [
            {"event_id": e, "source": "t", "event_type": "x", "payload": "{}", "created_at": now - c * day,
             "next_attempt_at": now - c * day, "sent_at": None if s is None else now - s * day}
            for e, (c, s) in rows.items()])
        conn.execute(claims.insert(), [{"handler": "h", "event_id": f"old-{i}", "processed_at": now - 31 * day}
                                       for i in range(4)] +
                     [{"handler": "h", "event_id": "recent", "processed_at": now - 29 * day}])
    sweep = Retention(engine=engine, metadata=metadata, metrics=for_service("retention_test"),
                      outbox_keep=7 * day, claims_keep=30 * day)
    try:
        assert sweep.sweep_once(now) is True, "a full batch: more may be waiting"
        assert sweep.sweep_once(now) is False
        with engine.connect() as conn:
            left = {r.event_id for r in conn.execute(sa.select(outbox.c.event_id))}
            claims_left = {r.event_id for r in conn.execute(sa.select(claims.c.event_id))}
        assert left == {"sent-lately", "unsent-long-ago", "unsent"}
        assert claims_left == {"recent"}
    finally:
        metadata.drop_all(engine)
        engine.dispose()
