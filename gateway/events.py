"""The gateway's event handlers: broadcast (every gateway process gets each event) to keep its caches fresh."""
from gateway import cache
from gateway.catalog_cache import catalog
from mppi.contracts.events import (
    AccountDeactivated,
    ServiceArchived,
    ServicePublished,
    TenantCreated,
    TenantUpdated,
    TokenRevoked,
)
from mppi.runtime.events import cache_event_handler


class GatewayEvents:
    name = "gateway"

    @cache_event_handler("tenants", TenantCreated.type)
    def on_tenant_created(self, payload: dict) -> None:
        cache.tenants.put(payload["data"])

    @cache_event_handler("tenants", TenantUpdated.type)
    def on_tenant_updated(self, payload: dict) -> None:
        cache.tenants.put(payload["data"])

    @cache_event_handler("tenants", AccountDeactivated.type)
    def on_account_deactivated(self, payload: dict) -> None:
        cache.tenants.deactivated.add(payload["account_id"])

    @cache_event_handler("tenants", TokenRevoked.type)
    def on_token_revoked(self, payload: dict) -> None:
        revoked = TokenRevoked.model_validate(payload)
        cache.tenants.revoke(revoked.jti, revoked.expires_at.timestamp())

    @cache_event_handler("catalog", ServicePublished.type)
    def on_service_published(self, payload: dict) -> None:
        catalog.published(payload["service"])

    @cache_event_handler("catalog", ServiceArchived.type)
    def on_service_archived(self, payload: dict) -> None:
        catalog.archived(payload["tenant"], payload["service_id"])
