"""The tenants nameko service: thin RPC entrypoints over the use cases in ``handlers``."""
from __future__ import annotations

import logging

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from mppi.contracts import tenants as c
from mppi.contracts.errors import MppiError, parse
from mppi.runtime import settings
from mppi.runtime.database import make_engine, new_id, uow_factory
from mppi.runtime.providers import Database, Observability, database_url
from mppi.runtime.rpc import rpc
from services.tenants import handlers, orm
from services.tenants.dependencies import Argon2Hasher, Passwords, SignIn, Tokens

log = logging.getLogger(__name__)


class AdminAtStart(DependencyProvider):
    """At every start, the platform admin named by MPPI_ADMIN_EMAIL / MPPI_ADMIN_PASSWORD exists."""

    def setup(self) -> None:
        # in setup, not start: entrypoints consume only after every setup finished, so no sign-in races it
        cfg = settings.get()
        if not (cfg.admin_email and cfg.admin_password):
            return
        engine = make_engine(database_url(self.container), pool_size=1)
        try:
            handlers.ensure_platform_admin(cfg.admin_email, cfg.admin_password, hasher=Argon2Hasher(),
                                           uow=uow_factory(engine, source="tenants", metadata=orm.metadata))
        finally:
            engine.dispose()


class TenantsService:
    name = "tenants"

    observability = Observability()
    uow = Database(orm.metadata)
    hasher = Passwords()
    issue = Tokens()
    sign_in = SignIn()
    admin = AdminAtStart()

    @rpc
    def ping(self) -> str:
        return "pong"

    @rpc(expected_exceptions=MppiError)
    def create_tenant(self, payload: dict, request_key: str | None = None) -> dict:
        return handlers.create_tenant(parse(c.TenantCreate, payload), request_key=request_key or new_id(), uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def get_tenant(self, slug: str) -> dict:
        return handlers.get_tenant(slug, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def list_tenants(self) -> list[dict]:
        return handlers.list_tenants(uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def snapshot_tenants(self) -> list[dict]:
        return handlers.snapshot_tenants(uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def update_tenant(self, slug: str, patch: dict) -> dict:
        return handlers.update_tenant(slug, parse(c.TenantPatch, patch), uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def register_citizen(self, payload: dict, request_key: str | None = None) -> dict:
        return handlers.register_citizen(parse(c.Register, payload), request_key=request_key or new_id(), uow=self.uow,
                                         hasher=self.hasher)

    @rpc(expected_exceptions=MppiError)
    def issue_token(self, payload: dict, network: str = "") -> dict:
        return handlers.issue_token(parse(c.TokenRequest, payload), network=network[:64], uow=self.uow,
                                    hasher=self.hasher, issuer=self.issue, policy=self.sign_in)

    @rpc(expected_exceptions=MppiError)
    def revoke_token(self, account_id: str, jti: str, expires_at: float) -> None:
        handlers.revoke_token(account_id, jti, expires_at, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def list_revoked_tokens(self) -> list[dict]:
        return handlers.list_revoked_tokens(uow=self.uow)

    @timer(interval=3600)
    def sweep_sign_in_records(self) -> None:
        swept = handlers.sweep_sign_in_records(uow=self.uow, policy=self.sign_in)
        if swept:
            log.info("swept %d old sign-in failures and expired revoked tokens", swept)

    @rpc(expected_exceptions=MppiError)
    def get_me(self, account_id: str) -> dict:
        return handlers.get_me(account_id, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def create_staff(self, tenant: str, payload: dict, request_key: str | None = None) -> dict:
        return handlers.create_staff(tenant, parse(c.StaffCreate, payload), request_key=request_key or new_id(),
                                     uow=self.uow, hasher=self.hasher)

    @rpc(expected_exceptions=MppiError)
    def list_staff(self, tenant: str, limit: int = 20, cursor: str | None = None) -> dict:
        return handlers.list_staff(tenant, uow=self.uow, limit=limit, cursor=cursor)

    @rpc(expected_exceptions=MppiError)
    def deactivate_staff(self, tenant: str, account_id: str) -> None:
        handlers.deactivate_staff(tenant, account_id, uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def list_inactive_accounts(self) -> list[str]:
        return handlers.list_inactive_accounts(uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def create_agency(self, tenant: str, payload: dict, request_key: str | None = None) -> dict:
        return handlers.create_agency(tenant, parse(c.AgencyCreate, payload), request_key=request_key or new_id(),
                                      uow=self.uow)

    @rpc(expected_exceptions=MppiError)
    def list_agencies(self, tenant: str) -> list[dict]:
        return handlers.list_agencies(tenant, uow=self.uow)
