"""the staff inbox's open work from a partial index in due order

Revision ID: appl0005
Revises: appl0004
Create Date: 2026-11-29 20:25:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'appl0005'
down_revision: Union[str, Sequence[str], None] = 'appl0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OPEN = sa.text("status IN ('submitted', 'in_review', 'revision_requested', 'approved')")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index('ix_applications_open_inbox', ['tenant', 'sla_due_at', 'id'], unique=False,
                              postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_open_inbox', postgresql_where=OPEN, sqlite_where=OPEN)
