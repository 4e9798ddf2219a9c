"""sealed secrets: webhook secrets and provider tokens are kept sealed with MPPI_DATA_KEY

Revision ID: noti0005
Revises: noti0004
Create Date: 2026-12-02 10:00:00.000000

The rows written before are sealed here, so this step needs the same MPPI_DATA_KEY as the service (the key is only
read when there is a row to seal). A webhook secret in clear starts with ``whsec_``; a provider's token in clear is
under ``token``, sealed under ``token_sealed``: running it twice changes nothing.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from services.notifications import sealed

revision: str = 'noti0005'
down_revision: Union[str, Sequence[str], None] = 'noti0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

subscriptions = sa.table("subscriptions", sa.column("id", sa.String), sa.column("secret", sa.String))
tenant_channels = sa.table("tenant_channels", sa.column("tenant", sa.String), sa.column("config", sa.JSON))
PHONE_CHANNELS = ("sms", "whatsapp")


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column("secret", type_=sa.String(500), existing_type=sa.String(100), existing_nullable=True)
    _rewrite(lambda secret: sealed.seal(secret) if secret.startswith("whsec_") else secret, "token", "token_sealed",
             sealed.seal)


def downgrade() -> None:
    _rewrite(lambda secret: secret if secret.startswith("whsec_") else sealed.unseal(secret), "token_sealed", "token",
             sealed.unseal)
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column("secret", type_=sa.String(100), existing_type=sa.String(500), existing_nullable=True)


def _rewrite(secret, old_key: str, new_key: str, token) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(subscriptions.c.id, subscriptions.c.secret)
                        .where(subscriptions.c.secret.is_not(None))).all()
    for row in rows:
        value = secret(row.secret)
        if value != row.secret:
            conn.execute(subscriptions.update().where(subscriptions.c.id == row.id).values(secret=value))
    for row in conn.execute(sa.select(tenant_channels.c.tenant, tenant_channels.c.config)).all():
        config = dict(row.config)
        changed = False
        for channel in PHONE_CHANNELS:
            provider = config.get(channel)
            if provider and old_key in provider:
                provider = dict(provider)
                provider[new_key] = token(provider.pop(old_key))
                config[channel] = provider
                changed = True
        if changed:
            conn.execute(tenant_channels.update().where(tenant_channels.c.tenant == row.tenant).values(config=config))
