"""The applications nameko service."""
from nameko.rpc import rpc

from mppi.runtime.providers import Database, Observability
from services.applications import orm


class ApplicationsService:
    name = "applications"

    observability = Observability()
    uow = Database(orm.metadata)

    @rpc
    def ping(self) -> str:
        return "pong"
