"""The catalog nameko service."""
from nameko.rpc import rpc

from mppi.runtime.providers import Database, Observability
from services.catalog import orm


class CatalogService:
    name = "catalog"

    observability = Observability()
    uow = Database(orm.metadata)

    @rpc
    def ping(self) -> str:
        return "pong"
