"""The notifications nameko service: thin entrypoints over the use cases in ``handlers``."""
from __future__ import annotations

import os

from mppi.contracts.applications import ChannelsConfig
from mppi.contracts.errors import MppiError, parse
from mppi.contracts.events import (
    AccountCreated,
    AccountDeactivated,
    ApplicationCompleted,
    ApplicationSlaBreached,
    ApplicationStatusChanged,
    ApplicationSubmitted,
    ServicePublished,
    SignInFailuresRepeated,
    TenantCreated,
    TenantUpdated,
)
from mppi.runtime.database import new_id
from mppi.runtime.events import event_handler
from mppi.runtime.providers import Database, Observability
from mppi.runtime.rpc import rpc
from services.notifications import channels, handlers, orm, subscriptions, webhooks
from services.notifications.dependencies import Broker, Mail, Mailer, Outgoing, PublicFeed
from services.notifications.feed import cloud_event

SEND_INTERVAL = float(os.environ.get("MPPI_DELIVERY_CHECK_SECONDS", "5"))
SEND_GATHER = 0.02  # seconds the sender lets more commits land when they stream in (see mppi.runtime.loops)
ALLOW_PRIVATE = webhooks.private_allowance(os.environ.get("MPPI_WEBHOOK_ALLOW_PRIVATE"))


def send_round(uow, mailer: Mailer) -> bool:
    """One round of the sender: what is due of the messages to people and of the webhook deliveries."""
    sent = handlers.send_due(uow=uow, mailer=mailer, allow_private=ALLOW_PRIVATE)
    posted = subscriptions.deliver_due(uow=uow, allow_private=ALLOW_PRIVATE)
    return sent >= handlers.SEND_BATCH or posted >= subscriptions.DELIVER_BATCH


class NotificationsService:
    name = "notifications"

    observability = Observability()
    uow = Database(orm.metadata)
    mailer = Mail()
    publish = PublicFeed()
    broker = Broker()
    outgoing = Outgoing(send_round, interval=SEND_INTERVAL, gather=SEND_GATHER)

    @rpc
    def ping(self) -> str:
        return "pong"

    # -- the in-app inbox --------------------------------------------------------------------------------------------
    @rpc(expected_exceptions=MppiError)
    def list_notifications(self, account_id: str, lang: str = "id", limit: int = 20,
                           cursor: str | None = None) -> dict:
        return handlers.list_notifications(account_id, lang=lang, limit=limit, cursor=cursor, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def mark_read(self, account_id: str, notification_id: str) -> dict:
        return handlers.mark_read(account_id, notification_id, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def save_template(self, tenant: str, type_: str, language: str, title: str, body: str) -> dict:
        return handlers.save_override(tenant, type_, language, title, body, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def save_channels(self, tenant: str, payload: dict) -> dict:
        return channels.save(tenant, parse(ChannelsConfig, payload), uow=self.uow, allow_private=ALLOW_PRIVATE)

    @rpc(expected_exceptions=MppiError)
    def get_channels(self, tenant: str) -> dict:
        return channels.get(tenant, uow=self.uow)

    # -- directories -------------------------------------------------------------------------------------------------
    @event_handler("tenants", TenantCreated.type)
    def on_tenant_created(self, payload: dict) -> None:
        handlers.record_tenant(parse(TenantCreated, payload), handler="on_tenant_created", uow=self.uow)

    @event_handler("tenants", TenantUpdated.type)
    def on_tenant_updated(self, payload: dict) -> None:
        handlers.record_tenant(parse(TenantUpdated, payload), handler="on_tenant_updated", uow=self.uow)

    @event_handler("tenants", AccountCreated.type)
    def on_account_created(self, payload: dict) -> None:
        handlers.record_contact(parse(AccountCreated, payload), handler="on_account_created", uow=self.uow)

    @event_handler("tenants", AccountDeactivated.type)
    def on_account_deactivated(self, payload: dict) -> None:
        handlers.deactivate_contact(parse(AccountDeactivated, payload), handler="on_account_deactivated",
                                    uow=self.uow)

    @event_handler("tenants", SignInFailuresRepeated.type)
    def warn_of_sign_in_failures(self, payload: dict) -> None:
        if handlers.warn_of_sign_in_failures(parse(SignInFailuresRepeated, payload),
                                             handler="warn_of_sign_in_failures", uow=self.uow):
            self.outgoing()

    # -- an application event: the public feed, then the people and the webhooks to tell -----------------------------
    # The feed is at least once (published before the claim, so a redelivery publishes again with the event's own
    # id, which subscribers skip); the in-app notifications, emails, SMS and webhook deliveries are written once, in
    # the transaction that claims the event, and the sender loop takes them at once.
    def _application_event(self, model, payload: dict, handler: str) -> None:
        routing_key, cloud = cloud_event(model.type, payload)
        self.publish(routing_key, cloud)
        if handlers.notify(parse(model, payload), handler=handler, uow=self.uow, webhook_event=cloud):
            self.outgoing()

    @event_handler("applications", ApplicationSubmitted.type)
    def notify_submitted(self, payload: dict) -> None:
        self._application_event(ApplicationSubmitted, payload, "notify_submitted")

    @event_handler("applications", ApplicationStatusChanged.type)
    def notify_status_changed(self, payload: dict) -> None:
        self._application_event(ApplicationStatusChanged, payload, "notify_status_changed")

    @event_handler("applications", ApplicationCompleted.type)
    def notify_completed(self, payload: dict) -> None:
        self._application_event(ApplicationCompleted, payload, "notify_completed")

    @event_handler("applications", ApplicationSlaBreached.type)
    def notify_sla_breached(self, payload: dict) -> None:
        self._application_event(ApplicationSlaBreached, payload, "notify_sla_breached")

    # -- subscriptions of regional systems -------------------------------------------------------------------------
    @rpc(expected_exceptions=MppiError)
    def create_subscription(self, tenant: str, payload: dict, request_key: str | None = None) -> dict:
        return subscriptions.create(tenant, payload, request_key=request_key or new_id(), uow=self.uow,
                                    broker=self.broker, allow_private=ALLOW_PRIVATE)

    @rpc(expected_exceptions=MppiError)
    def list_subscriptions(self, tenant: str) -> dict:
        return subscriptions.list_for(tenant, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def revoke_subscription(self, tenant: str, subscription_id: str) -> None:
        subscriptions.revoke(tenant, subscription_id, uow=self.uow, broker=self.broker)

    @rpc(expected_exceptions=MppiError)
    def subscription_deliveries(self, tenant: str, subscription_id: str) -> dict:
        return subscriptions.deliveries(tenant, subscription_id, uow=self.uow)

    # -- a published service on the feed and to webhooks (at least once; a webhook gets it once) ---------------------
    @event_handler("catalog", ServicePublished.type)
    def feed_service_published(self, payload: dict) -> None:
        routing_key, event = cloud_event(ServicePublished.type, payload)
        self.publish(routing_key, event)
        if subscriptions.enqueue(payload["tenant"], event, uow=self.uow):
            self.outgoing()
