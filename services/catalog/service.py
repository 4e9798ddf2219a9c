"""The catalog nameko service: thin RPC entrypoints over the use cases in ``handlers``."""
from __future__ import annotations

from mppi.contracts import catalog as c
from mppi.contracts.errors import MppiError, parse
from mppi.runtime.database import new_id
from mppi.runtime.providers import Database, Observability
from mppi.runtime.rpc import rpc
from services.catalog import handlers, orm


class CatalogService:
    name = "catalog"

    observability = Observability()
    uow = Database(orm.metadata)

    @rpc
    def ping(self) -> str:
        return "pong"

    @rpc(expected_exceptions=MppiError)
    def list_templates(self) -> list[dict]:
        return handlers.list_templates()

    @rpc(expected_exceptions=MppiError)
    def get_template(self, code: str) -> dict:
        return handlers.get_template(code)

    @rpc(expected_exceptions=MppiError)
    def create_service(self, tenant: str, payload: dict, request_key: str | None = None) -> dict:
        return handlers.create_service(tenant, parse(c.AdoptOrCreate, payload),
                                       request_key=request_key or new_id(), uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def update_service(self, tenant: str, service_id: str, patch: dict) -> dict:
        return handlers.update_service(tenant, service_id, patch, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def publish_service(self, tenant: str, service_id: str) -> dict:
        return handlers.publish_service(tenant, service_id, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def archive_service(self, tenant: str, service_id: str) -> dict:
        return handlers.archive_service(tenant, service_id, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def get_service(self, tenant: str, service_id: str, version: str | int = "published") -> dict:
        return handlers.get_service(tenant, service_id, version=version, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def list_services(self, tenant: str, status: str | None = None, limit: int = 20,
                      cursor: str | None = None) -> dict:
        return handlers.list_services(tenant, status=status, limit=limit, cursor=cursor, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def published_page(self, after: list[str] | None = None, limit: int = 500, full: bool = False) -> dict:
        return handlers.published_page(after=after, limit=limit, full=full, uow=self.uow)
