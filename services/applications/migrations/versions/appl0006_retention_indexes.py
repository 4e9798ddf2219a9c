"""indexes the retention sweep deletes by: sent outbox rows by when they were sent, claims by when they were made

Revision ID: appl0006
Revises: appl0005
Create Date: 2026-12-04 19:10:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'appl0006'
down_revision: Union[str, Sequence[str], None] = 'appl0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SENT = sa.text("sent_at IS NOT NULL")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_sent_at', ['sent_at'], unique=False, postgresql_where=SENT,
                              sqlite_where=SENT)
    with op.batch_alter_table('processed_events', schema=None) as batch_op:
        batch_op.create_index('ix_processed_events_processed_at', ['processed_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('processed_events', schema=None) as batch_op:
        batch_op.drop_index('ix_processed_events_processed_at')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_sent_at', postgresql_where=SENT, sqlite_where=SENT)
