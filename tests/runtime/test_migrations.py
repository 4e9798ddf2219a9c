"""Each service's migrations, run from nothing, build exactly the schema its tables describe (so a column or an
index added to a model without its migration fails here, not in production); the command runs one service's
migrations, or only the queue declarations, as the Kubernetes Jobs do."""
import importlib
import os
import subprocess
import sys
from urllib.parse import quote

import pytest
import requests
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from devtools.platform import ROOT, Databases, Vhost
from mppi.runtime import migrations, settings, topology
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


def test_queues_only_declares_every_durable_event_queue_without_touching_a_database(tmp_path):
    """The Kubernetes queue Job runs with the broker's address only: no database is reachable from it."""
    vhost = Vhost()
    vhost.create()
    try:
        unreachable = {f"{s.upper()}_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none" for s in settings.SERVICES}
        env = {**os.environ, **unreachable, "AMQP_URI": vhost.amqp_uri, "MPPI_VAR_DIR": str(tmp_path)}
        done = subprocess.run([sys.executable, "-m", "mppi.runtime.migrations", "--queues-only"], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "migrated" not in done.stdout
        expected = {q.name for q in topology.durable_queues(settings.load(env).nameko_config())}
        r = requests.get(f"{vhost.api}/queues/{quote(vhost.name, safe='')}", params={"columns": "name,durable"},
                         timeout=10)
        r.raise_for_status()
        declared = {q["name"] for q in r.json() if q["durable"]}
        assert expected and expected <= declared
    finally:
        vhost.delete()


def test_migrating_one_service_needs_only_its_own_database(fresh_databases, tmp_path):
    """A service's migration Job sees that service's database URL only."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    env.update({"CATALOG_DATABASE_URL": fresh_databases["catalog"], "MPPI_VAR_DIR": str(tmp_path),
                "AMQP_URI": "amqp://nobody:nothing@127.0.0.1:9/"})
    done = subprocess.run([sys.executable, "-m", "mppi.runtime.migrations", "catalog"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["migrated", "catalog"]


def test_an_unknown_service_or_queues_only_with_a_service_is_refused():
    for args in (["nosuch"], ["--queues-only", "tenants"]):
        done = subprocess.run([sys.executable, "-m", "mppi.runtime.migrations", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert "usage:" in done.stderr
