"""Tables of the notifications service (its own database); tenant data leads with ``tenant``."""
import sqlalchemy as sa

from mppi.runtime.database import UtcDateTime, runtime_tables

metadata = sa.MetaData()
outbox, processed_events = runtime_tables(metadata)

# what this service knows of each tenant, kept from tenant events (name and timezone for message templates)
tenant_directory = sa.Table(
    "tenant_directory", metadata,
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("timezone", sa.String(40), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# whom to tell: every account's contact and roles, kept from account events
contacts = sa.Table(
    "contacts", metadata,
    sa.Column("account_id", sa.String(32), primary_key=True),
    sa.Column("tenant", sa.String(63)),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("phone", sa.String(20)),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("language", sa.String(2), nullable=False, server_default="id"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)
sa.Index("ix_contacts_tenant", contacts.c.tenant)

# the in-app inbox: what happened, rendered in the reader's language when read
notifications = sa.Table(
    "notifications", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("account_id", sa.String(32), nullable=False),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("application_id", sa.String(32)),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("read_at", UtcDateTime()),
    sa.UniqueConstraint("event_id", "account_id", name="uq_notifications_event_account"),
)
sa.Index("ix_notifications_inbox", notifications.c.account_id, notifications.c.created_at)

# messages that leave the platform (email, SMS, WhatsApp): one row per notification and channel
deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("notification_id", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(12), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # pending | sending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", UtcDateTime()),
    sa.UniqueConstraint("notification_id", "channel", name="uq_deliveries_notification_channel"),
)
sa.Index("ix_deliveries_due", deliveries.c.status, deliveries.c.next_attempt_at)

# a region's own wording of a message, per type and language, validated when saved
template_overrides = sa.Table(
    "template_overrides", metadata,
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("type", sa.String(40), primary_key=True),
    sa.Column("language", sa.String(2), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

subscriptions = sa.Table(
    "subscriptions", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("tenant", sa.String(63), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),  # amqp | webhook
    sa.Column("status", sa.String(10), nullable=False),  # active | disabled | revoked
    sa.Column("url", sa.String(2000)),
    sa.Column("secret", sa.String(500)),  # sealed (services.notifications.sealed)
    sa.Column("username", sa.String(120)),
    sa.Column("queue_prefix", sa.String(200)),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("disabled_at", UtcDateTime()),
)
sa.Index("ix_subscriptions_tenant", subscriptions.c.tenant, subscriptions.c.status)

webhook_deliveries = sa.Table(
    "webhook_deliveries", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("subscription_id", sa.String(32), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("event", sa.Text, nullable=False),  # the CloudEvent body, exactly as signed
    sa.Column("status", sa.String(10), nullable=False),  # pending | sending | delivered | abandoned
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("next_attempt_at", UtcDateTime()),
    sa.Column("delivered_at", UtcDateTime()),
    sa.UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_event"),
)
sa.Index("ix_webhook_deliveries_due", webhook_deliveries.c.status, webhook_deliveries.c.next_attempt_at)

webhook_attempts = sa.Table(
    "webhook_attempts", metadata,
    sa.Column("id", sa.Integer().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.String(32), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.String(500)),
    sa.Column("duration_ms", sa.Integer, nullable=False),
)
sa.Index("ix_webhook_attempts_delivery", webhook_attempts.c.delivery_id, webhook_attempts.c.at)

# the region's outside channels: email on or off, SMS and WhatsApp through HTTP providers (their tokens stay here,
# sealed)
tenant_channels = sa.Table(
    "tenant_channels", metadata,
    sa.Column("tenant", sa.String(63), primary_key=True),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)
