"""Tables of the catalog service (its own database); tenant data leads with ``tenant``."""
import sqlalchemy as sa

from mppi.runtime.database import UtcDateTime, runtime_tables

metadata = sa.MetaData()
outbox, processed_events = runtime_tables(metadata)

services = sa.Table(
    "services", metadata,
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("code", sa.String(63), nullable=False),
    sa.Column("template_code", sa.String(63)),
    sa.Column("status", sa.String(12), nullable=False),  # draft | published | archived
    sa.Column("latest_version", sa.Integer, nullable=False),
    sa.Column("published_version", sa.Integer),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("tenant", "code", name="uq_services_tenant_code"),
)
sa.Index("ix_services_tenant_status", services.c.tenant, services.c.status, services.c.id)

service_versions = sa.Table(
    "service_versions", metadata,
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("service_id", sa.String(32), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("state", sa.String(12), nullable=False),  # draft | published | superseded
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("published_at", UtcDateTime()),
)
