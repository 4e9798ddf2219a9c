"""Tables of the notifications service (its own database)."""
import sqlalchemy as sa

from mppi.runtime.database import runtime_tables

metadata = sa.MetaData()
outbox, processed_events = runtime_tables(metadata)

# what this service knows of each tenant, kept from tenant events (name and timezone for message templates)
tenant_directory = sa.Table(
    "tenant_directory", metadata,
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("timezone", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
