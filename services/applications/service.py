"""The applications nameko service."""
from nameko.rpc import rpc

from mppi.contracts.errors import MppiError, parse
from mppi.contracts.events import ServiceArchived, ServicePublished
from mppi.runtime.events import event_handler
from mppi.runtime.providers import Database, Observability
from services.applications import handlers, orm


class ApplicationsService:
    name = "applications"

    observability = Observability()
    uow = Database(orm.metadata)

    @rpc
    def ping(self) -> str:
        return "pong"

    @rpc(expected_exceptions=MppiError)
    def get_service_version(self, tenant: str, service_id: str, version: int | None = None) -> dict | None:
        return handlers.get_service_version(tenant, service_id, version, uow=self.uow)

    @event_handler("catalog", ServicePublished.type)
    def on_service_published(self, payload: dict) -> None:
        handlers.keep_published_version(parse(ServicePublished, payload), handler="on_service_published",
                                        uow=self.uow)

    @event_handler("catalog", ServiceArchived.type)
    def on_service_archived(self, payload: dict) -> None:
        handlers.close_service(parse(ServiceArchived, payload), handler="on_service_archived", uow=self.uow)
