"""Tables of the applications service (its own database); tenant data leads with ``tenant``."""
import sqlalchemy as sa

from mppi.contracts.applications import OPEN_STATUSES
from mppi.runtime.database import UtcDateTime, runtime_tables

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
    sa.Column("received_at", UtcDateTime(), nullable=False),
)

# which version of each service is the one open for new applications (absent: archived or never published)
open_services = sa.Table(
    "open_services", metadata,
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("service_id", sa.String(32), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

applications = sa.Table(
    "applications", metadata,
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("tracking_number", sa.String(20), nullable=False, unique=True),
    sa.Column("service_id", sa.String(32), nullable=False),
    sa.Column("service_version", sa.Integer, nullable=False),
    sa.Column("service", sa.JSON, nullable=False),  # {id, version, code, name, output}
    sa.Column("workflow", sa.JSON, nullable=False),
    sa.Column("applicant_id", sa.String(32), nullable=False),
    sa.Column("applicant_name", sa.String(200), nullable=False),
    sa.Column("form", sa.JSON, nullable=False),
    sa.Column("documents", sa.JSON, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("step", sa.String(40)),
    sa.Column("status_before_revision", sa.String(20)),
    sa.Column("submitted_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("sla_due_at", UtcDateTime(), nullable=False),
    sa.Column("paused_at", UtcDateTime()),
    sa.Column("breached_at", UtcDateTime()),
    sa.Column("completed_at", UtcDateTime()),
    sa.Column("output", sa.JSON),
)
# the staff inbox: a region's open work, earliest due first, read in index order and stopped after a page (the
# partial index); one status of any kind, earliest due first (the full one)
_open = applications.c.status.in_(OPEN_STATUSES)
sa.Index("ix_applications_open_inbox", applications.c.tenant, applications.c.sla_due_at, applications.c.id,
         postgresql_where=_open, sqlite_where=_open)
sa.Index("ix_applications_inbox", applications.c.tenant, applications.c.status, applications.c.sla_due_at,
         applications.c.id)
sa.Index("ix_applications_applicant", applications.c.applicant_id, applications.c.submitted_at)
# the SLA timer's question (open, not yet breached, past due) answered from a small index: finished and
# already-announced applications never enter it
_watched = applications.c.breached_at.is_(None) & applications.c.status.in_(("submitted", "in_review", "approved"))
sa.Index("ix_applications_watch", applications.c.sla_due_at, postgresql_where=_watched, sqlite_where=_watched)

history = sa.Table(
    "application_history", metadata,
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("application_id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("from_status", sa.String(20)),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("from_step", sa.String(40)),
    sa.Column("to_step", sa.String(40)),
    sa.Column("actor_role", sa.String(20), nullable=False),
    sa.Column("actor_id", sa.String(32), nullable=False),
    sa.Column("note", sa.Text),
)

surveys = sa.Table(
    "surveys", metadata,
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("application_id", sa.String(32), primary_key=True),
    sa.Column("service_id", sa.String(32), nullable=False),
    *[sa.Column(f"u{i}", sa.SmallInteger, nullable=False) for i in range(1, 10)],
    sa.Column("comment", sa.Text),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)
sa.Index("ix_surveys_service", surveys.c.tenant, surveys.c.service_id)
