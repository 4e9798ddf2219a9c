"""Tables of the tenants service (its own database); tenant data leads with ``tenant``."""
import sqlalchemy as sa

from mppi.runtime.database import UtcDateTime, runtime_tables

metadata = sa.MetaData()
outbox, processed_events = runtime_tables(metadata)

tenants = sa.Table(
    "tenants", metadata,
    sa.Column("slug", sa.String(63), primary_key=True),
    sa.Column("region_code", sa.String(5), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("timezone", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="active"),
    sa.Column("config", sa.JSON, nullable=False),  # branding, menu, dashboard, office_hours, holidays
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

agencies = sa.Table(
    "agencies", metadata,
    sa.Column("tenant", sa.String(63), sa.ForeignKey("tenants.slug"), primary_key=True),
    sa.Column("code", sa.String(30), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("tenant", sa.String(63), sa.ForeignKey("tenants.slug")),
    sa.Column("nik", sa.String(16), unique=True),
    sa.Column("phone", sa.String(20)),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("failures_told_at", UtcDateTime()),  # when its holder was last told of repeated failed sign-ins
)
sa.Index("ix_accounts_tenant", accounts.c.tenant, accounts.c.created_at)

# failed sign-ins, by a hash of the e-mail tried (known or not, so a refusal reveals no account) and the client
# network; kept for the window of the account rule (services.tenants.domain.sign_in), then swept
sign_in_failures = sa.Table(
    "sign_in_failures", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("email_key", sa.String(64), nullable=False),
    sa.Column("network", sa.String(64), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
)
sa.Index("ix_sign_in_failures_pair", sign_in_failures.c.email_key, sign_in_failures.c.network, sign_in_failures.c.at)
sa.Index("ix_sign_in_failures_account", sign_in_failures.c.email_key, sign_in_failures.c.at)
sa.Index("ix_sign_in_failures_at", sign_in_failures.c.at)

# tokens signed out before they expire (by their jti); every gateway refuses them, swept once expired
revoked_tokens = sa.Table(
    "revoked_tokens", metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.String(32), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
)
sa.Index("ix_revoked_tokens_expires_at", revoked_tokens.c.expires_at)
