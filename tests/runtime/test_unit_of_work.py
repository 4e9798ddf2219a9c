"""The unit of work on a real PostgreSQL (and SQLite): an incoming event is claimed once, even by two workers at
the same moment."""
import eventlet
import pytest
import sqlalchemy as sa

from devtools.platform import Databases
from mppi.runtime.database import make_engine, runtime_tables, uow_factory


@pytest.fixture(scope="module")
def pg_url():
    dbs = Databases(services=("uow",))
    dbs.create()
    yield dbs.urls["uow"]
    dbs.drop()


def _uow(url: str):
    metadata = sa.MetaData()
    runtime_tables(metadata)
    engine = make_engine(url, pool_size=4)
    metadata.create_all(engine)
    return uow_factory(engine, source="test", metadata=metadata), engine


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_an_event_is_claimed_once(backend, pg_url, tmp_path):
    uow, engine = _uow(pg_url if backend == "postgresql" else f"sqlite:///{tmp_path}/uow.db")
    try:
        with uow() as u:
            assert u.claim_event("on_thing", "e1") is True
            u.commit()
        with uow() as u:
            assert u.claim_event("on_thing", "e1") is False  # a redelivery
            assert u.claim_event("other_handler", "e1") is True  # each handler claims for itself
            u.commit()
    finally:
        engine.dispose()


@pytest.mark.parametrize("first_commits", [True, False])
def test_a_concurrent_duplicate_waits_for_the_first_claim_and_follows_its_outcome(pg_url, first_commits):
    uow, engine = _uow(pg_url)
    event_id = f"e-{first_commits}"
    try:
        with uow() as first:
            assert first.claim_event("on_thing", event_id) is True
            second = eventlet.spawn(_claim_in_own_uow, uow, event_id)
            eventlet.sleep(0.3)
            assert not second.dead  # it waits at the insert for the first transaction
            if first_commits:
                first.commit()
        # the first committed: the duplicate finds it claimed; the first rolled back: the duplicate claims it
        assert second.wait() is (not first_commits)
    finally:
        engine.dispose()


def _claim_in_own_uow(uow, event_id: str) -> bool:
    with uow() as u:
        claimed = u.claim_event("on_thing", event_id)
        u.commit()
        return claimed


def test_a_database_that_is_down_or_drops_the_transaction_is_dependency_unavailable(pg_url):
    from devtools.platform import free_port
    from mppi.contracts.errors import DependencyUnavailable

    down = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing", pool_size=1)
    metadata = sa.MetaData()
    runtime_tables(metadata)
    with pytest.raises(DependencyUnavailable):  # nothing listens: refused at connect
        with uow_factory(down, source="test", metadata=metadata)() as u:
            u.execute(sa.text("SELECT 1"))

    uow, engine = _uow(pg_url)
    try:
        with uow() as u:
            pid = u.execute(sa.text("SELECT pg_backend_pid()")).scalar()
            with engine.connect() as other:  # the database ends this transaction's connection mid-way
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(DependencyUnavailable):
                u.execute(sa.text("SELECT 1"))  # not the first statement: not replayed, a 503 for the caller
    finally:
        engine.dispose()
