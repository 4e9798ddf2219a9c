"""Tables of the catalog service (its own database)."""
import sqlalchemy as sa

from mppi.runtime.database import runtime_tables

metadata = sa.MetaData()
outbox, processed_events = runtime_tables(metadata)
