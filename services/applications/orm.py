"""Tables of the applications service (its own database); tenant data leads with ``tenant``."""
import sqlalchemy as sa

from mppi.runtime.database import runtime_tables

metadata = sa.MetaData()
outbox, processed_events = runtime_tables(metadata)

# this service's own copy of every published service version, kept from catalog events: a submission is checked
# against the version it was made for without asking the catalog service
service_versions = sa.Table(
    "service_versions", metadata,
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("service_id", sa.String(32), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(63), nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

# which version of each service is the one open for new applications (absent: archived or never published)
open_services = sa.Table(
    "open_services", metadata,
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("service_id", sa.String(32), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)
