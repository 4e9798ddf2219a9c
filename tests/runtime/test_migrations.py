"""Each service's migrations, run from nothing, build exactly the schema its tables describe (so a column or an
index added to a model without its migration fails here, not in production)."""
import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from devtools.platform import Databases
from mppi.runtime import migrations, settings
from mppi.runtime.database import make_engine


@pytest.fixture(scope="module")
def fresh_databases():
    dbs = Databases(services=settings.SERVICES)
    dbs.create()
    yield dbs.urls
    dbs.drop()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
@pytest.mark.parametrize("service", settings.SERVICES)
def test_migrations_build_the_schema_the_models_describe(service, backend, fresh_databases, tmp_path):
    url = fresh_databases[service] if backend == "postgresql" else f"sqlite:///{tmp_path}/{service}.db"
    migrations.upgrade(service, url)
    metadata = importlib.import_module(f"services.{service}.orm").metadata
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    finally:
        engine.dispose()
    assert diff == []
