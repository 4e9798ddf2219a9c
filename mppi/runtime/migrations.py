"""Alembic per service: ``python -m mppi.runtime.migrations [service ...]`` upgrades each service's database to head;
with no service named it also declares every durable event queue (``mppi.runtime.topology``), and
``--queues-only`` declares the queues without touching a database (a Job of its own on Kubernetes, where each
service's migrations run as a Job that sees only that service's database).

Each service keeps its scripts in ``services/<name>/migrations``; their ``env.py`` calls ``run_env`` here.
Migrations run as a step of their own (``make run`` before starting, a Job on Kubernetes), never at service start.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

from alembic import command, context
from alembic.config import Config

from mppi.runtime import settings
from mppi.runtime.database import UtcDateTime, make_engine

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(service: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "services" / service / "migrations"))
    cfg.attributes["url"] = url or settings.get().database_url(service)
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, url: str | None = None) -> None:
    command.upgrade(alembic_config(service, url), "head")


def run_env() -> None:
    """Body of every service's ``env.py``: migrate online against the service's own database."""
    cfg = context.config
    service = cfg.attributes["service"]
    metadata = importlib.import_module(f"services.{service}.orm").metadata
    engine = make_engine(cfg.attributes["url"], pool_size=1)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                          render_item=_render_item)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def _render_item(type_, obj, autogen_context):
    """Scripts name plain SQLAlchemy types: UtcDateTime is a DateTime(timezone=True) column in the database."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def main(argv: list[str]) -> int:
    args = argv[1:]
    queues_only = "--queues-only" in args
    services = [a for a in args if a != "--queues-only"]
    unknown = [s for s in services if s not in settings.SERVICES]
    if unknown or (queues_only and services):
        print(f"usage: python -m mppi.runtime.migrations [--queues-only | service ...] "
              f"(services: {', '.join(settings.SERVICES)})", file=sys.stderr)
        return 2
    if not queues_only:
        for service in services or settings.SERVICES:
            upgrade(service)
            print(f"migrated {service}")
    if not services:
        from mppi.runtime import topology

        names = topology.declare(settings.get().nameko_config())
        print(f"declared {len(names)} durable event queues")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
