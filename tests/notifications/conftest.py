"""The notifications tests seal secrets with a key of their own (never a key file under the working directory), and
get a unit of work on a SQLite database of the service's tables."""
import pytest

from mppi.runtime.database import make_engine, uow_factory
from services.notifications import orm


@pytest.fixture(autouse=True)
def data_key(monkeypatch):
    monkeypatch.setenv("MPPI_DATA_KEY", "test-data-key-kkkkkkkkkkkkkkkkkkkkkkkk")
    return "test-data-key-kkkkkkkkkkkkkkkkkkkkkkkk"


@pytest.fixture
def uow(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/n.db")
    orm.metadata.create_all(engine)
    yield uow_factory(engine, source="notifications", metadata=orm.metadata)
    engine.dispose()
