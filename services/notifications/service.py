"""The notifications nameko service."""
from nameko.rpc import rpc

from mppi.contracts.errors import parse
from mppi.contracts.events import TenantCreated, TenantUpdated
from mppi.runtime.events import event_handler
from mppi.runtime.providers import Database, Observability
from services.notifications import handlers, orm


class NotificationsService:
    name = "notifications"

    observability = Observability()
    uow = Database(orm.metadata)

    @rpc
    def ping(self) -> str:
        return "pong"

    @rpc
    def list_tenant_directory(self) -> list[dict]:
        return handlers.list_tenant_directory(uow=self.uow)

    @event_handler("tenants", TenantCreated.type)
    def on_tenant_created(self, payload: dict) -> None:
        handlers.record_tenant(parse(TenantCreated, payload), handler="on_tenant_created", uow=self.uow)

    @event_handler("tenants", TenantUpdated.type)
    def on_tenant_updated(self, payload: dict) -> None:
        handlers.record_tenant(parse(TenantUpdated, payload), handler="on_tenant_updated", uow=self.uow)
