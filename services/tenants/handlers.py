"""Use cases of the tenants service: each takes its dependencies as parameters and runs one unit of work."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from mppi.contracts import tenants as c
from mppi.contracts.errors import (
    AccountExists,
    AgencyExists,
    InvalidCredentials,
    NotFound,
    RateLimited,
    TenantExists,
)
from mppi.contracts.events import (
    AccountCreated,
    AccountDeactivated,
    SignInFailuresRepeated,
    TenantCreated,
    TenantUpdated,
    TokenRevoked,
)
from mppi.runtime.database import UnitOfWork, id_for_request, new_id, utcnow
from services.tenants import repository as repo
from services.tenants.domain import sign_in
from services.tenants.domain.accounts import Account, check_nik
from services.tenants.domain.sign_in import SignInPolicy
from services.tenants.domain.tenant import new_tenant

UowFactory = Callable[[], UnitOfWork]


class Hasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...


class TokenIssuer(Protocol):
    def __call__(self, *, account_id: str, roles: list[str], tenant: str | None) -> tuple[str, int]:
        ...


def _require_tenant(uow: UnitOfWork, slug: str, *, for_update: bool = False):
    tenant = repo.get_tenant(uow, slug, for_update=for_update)
    if tenant is None or tenant.status != "active":
        raise NotFound(f"tenant {slug} not found")
    return tenant


def create_tenant(cmd: c.TenantCreate, *, request_key: str, uow: UowFactory) -> dict[str, Any]:
    """A new region; the same ``request_key`` again (a redelivery, a retry) answers with the region it made."""
    tenant = new_tenant(slug=cmd.slug, region_code=cmd.region_code, name=cmd.name, timezone=cmd.timezone)
    with uow() as u:
        if not u.claim_event("create_tenant", id_for_request(tenant.slug, request_key)):
            return _require_tenant(u, tenant.slug).public()
        if repo.tenant_taken(u, tenant.slug, tenant.region_code):
            raise TenantExists(f"a tenant with slug {tenant.slug} or region {tenant.region_code} exists")
        try:  # a concurrent twin fails here (PostgreSQL checks at insert) or at commit
            repo.add_tenant(u, tenant)
            u.emit(TenantCreated(tenant=tenant.slug, data=tenant.public()))
            u.commit()
        except IntegrityError:
            raise TenantExists(f"a tenant with slug {tenant.slug} or region {tenant.region_code} exists") from None
    return tenant.public()


def update_tenant(slug: str, patch: c.TenantPatch, *, uow: UowFactory) -> dict[str, Any]:
    with uow() as u:
        tenant = _require_tenant(u, slug, for_update=True)
        tenant.apply_patch(patch.model_dump(mode="json", exclude_unset=True))
        repo.save_tenant(u, tenant)
        u.emit(TenantUpdated(tenant=tenant.slug, data=tenant.public()))
        u.commit()
    return tenant.public()


def get_tenant(slug: str, *, uow: UowFactory) -> dict[str, Any]:
    with uow() as u:
        return _require_tenant(u, slug).public()


def list_tenants(*, uow: UowFactory) -> list[dict[str, Any]]:
    with uow() as u:
        return [t.summary() for t in repo.list_tenants(u)]


def snapshot_tenants(*, uow: UowFactory) -> list[dict[str, Any]]:
    with uow() as u:
        return [t.public() for t in repo.list_tenants(u)]


def register_citizen(cmd: c.Register, *, request_key: str, uow: UowFactory, hasher: Hasher) -> dict[str, Any]:
    """A citizen's account; the same ``request_key`` for the same email again (a redelivery, a retry) answers with
    the account it made (what the first answer would have said, nothing more)."""
    check_nik(cmd.nik)
    email = c.normalize_email(cmd.email)
    account_id = id_for_request("register", email, request_key)
    with uow() as u:
        made = repo.get_account(u, account_id)
        if made is not None:
            return made.public()
        if repo.account_taken(u, email=email, nik=cmd.nik):
            raise AccountExists("an account with this email or NIK exists")
    account = Account(id=account_id, email=email, full_name=cmd.full_name, password_hash=hasher.hash(cmd.password),
                      roles=["citizen"], nik=cmd.nik, phone=cmd.phone)
    with uow() as u:
        try:
            repo.add_account(u, account)
            u.emit(_created(account, language=cmd.language))
            u.commit()
        except IntegrityError:
            raise AccountExists("an account with this email or NIK exists") from None
    return account.public()


def issue_token(cmd: c.TokenRequest, *, network: str, uow: UowFactory, hasher: Hasher, issuer: TokenIssuer,
                policy: SignInPolicy) -> dict[str, Any]:
    """A token for the right password. Only failures count, per account and client ``network`` (the gateway's
    ``client_key``): a network with too many is refused before its password is checked (``sign_in.refusal``), a clean
    one never is; past the policy's count the account's holder is told (``SignInFailuresRepeated``)."""
    email = c.normalize_email(cmd.username)
    key, now = sign_in.email_key(email), utcnow()
    with uow() as u:
        account = repo.get_account_by_email(u, email)
        seen = repo.recent_failures(u, key, network, since=now - policy.window, cap=policy.failures)
    wait = sign_in.refusal(policy, seen, now)
    if wait is not None:
        raise RateLimited(f"too many failed sign-ins; try again in {wait} s", retry_after=wait)
    if account is None or not account.active:
        hasher.verify(_DUMMY_HASH, cmd.password)  # same work either way: no account enumeration by timing
        right = False
    else:
        right = hasher.verify(account.password_hash, cmd.password)
    if not right:
        _failed(account, key, network, seen.for_account + 1, now=now, uow=uow, policy=policy)
        raise InvalidCredentials("wrong email or password")
    if seen.from_network:  # the holder got it right from here: this network starts clean again
        with uow() as u:
            repo.clear_failures(u, key, network)
            u.commit()
    token, ttl = issuer(account_id=account.id, roles=account.roles, tenant=account.tenant)
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl}


def _failed(account: Account | None, key: str, network: str, account_failures: int, *, now: datetime,
            uow: UowFactory, policy: SignInPolicy) -> None:
    with uow() as u:
        repo.add_failure(u, key, network, now)
        if account is not None and account.active and account_failures >= policy.failures:
            told_at = repo.failures_told_at(u, account.id)  # locked: two failures at once tell once
            if sign_in.tell_holder(policy, account_failures, told_at, now):
                repo.mark_failures_told(u, account.id, now)
                u.emit(SignInFailuresRepeated(tenant=account.tenant, account_id=account.id, failures=account_failures,
                                              window_seconds=int(policy.window.total_seconds())))
        u.commit()


def revoke_token(account_id: str, jti: str, expires_at: float, *, uow: UowFactory) -> None:
    """Sign a token out (by its id) until it expires: every gateway hears of it (``TokenRevoked``). Again: nothing."""
    expires = datetime.fromtimestamp(expires_at, UTC)
    if expires <= utcnow():
        return
    with uow() as u:
        if repo.revoked(u, jti):
            return
        try:
            repo.add_revoked(u, jti, account_id, expires)
            u.emit(TokenRevoked(tenant=None, account_id=account_id, jti=jti, expires_at=expires))
            u.commit()
        except IntegrityError:  # the same sign-out twice at once: the other one told the gateways
            return


def list_revoked_tokens(*, uow: UowFactory) -> list[dict[str, Any]]:
    """Tokens signed out that have not expired yet: a starting gateway refuses them too."""
    with uow() as u:
        return [{"jti": jti, "expires_at": at.timestamp()} for jti, at in repo.unexpired_revoked(u, utcnow())]


def sweep_sign_in_records(*, uow: UowFactory, policy: SignInPolicy, batch: int = 5000) -> int:
    """Forget failures older than the window and revoked tokens that expired, in batches; how many rows went."""
    total = 0
    while True:
        now = utcnow()
        with uow() as u:
            gone = repo.sweep_sign_in_records(u, failures_before=now - policy.window, now=now,
                                              batch=batch)
            u.commit()
        total += gone
        if gone < batch:
            return total


def get_me(account_id: str, *, uow: UowFactory) -> dict[str, Any]:
    with uow() as u:
        account = repo.get_account(u, account_id)
    if account is None or not account.active:
        raise NotFound("account not found")
    return account.me()


def create_staff(tenant: str, cmd: c.StaffCreate, *, request_key: str, uow: UowFactory,
                 hasher: Hasher) -> dict[str, Any]:
    """A staff account of the region; the same ``request_key`` for the same email again answers with it."""
    email = c.normalize_email(cmd.email)
    account_id = id_for_request("staff", tenant, email, request_key)
    with uow() as u:
        _require_tenant(u, tenant)
        made = repo.get_account(u, account_id)
        if made is not None:
            return made.public()
        if repo.account_taken(u, email=email):
            raise AccountExists("an account with this email exists")
    account = Account(id=account_id, email=email, full_name=cmd.full_name, password_hash=hasher.hash(cmd.password),
                      roles=sorted(set(cmd.roles)), tenant=tenant)
    with uow() as u:
        try:
            repo.add_account(u, account)
            u.emit(_created(account))
            u.commit()
        except IntegrityError:
            raise AccountExists("an account with this email exists") from None
    return account.public()


def _created(account: Account, language: str = "id") -> AccountCreated:
    return AccountCreated(tenant=account.tenant, account_id=account.id, roles=account.roles, email=account.email,
                          phone=account.phone, full_name=account.full_name, language=language)


def list_staff(tenant: str, *, uow: UowFactory, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
    with uow() as u:
        _require_tenant(u, tenant)
        rows = repo.list_staff(u, tenant, limit=limit + 1, after=cursor)
    items = [a.staff() for a in rows[:limit]]
    return {"items": items, "next_cursor": rows[limit - 1].id if len(rows) > limit else None}


def deactivate_staff(tenant: str, account_id: str, *, uow: UowFactory) -> None:
    with uow() as u:
        account = repo.get_account(u, account_id)
        if account is None or account.tenant != tenant:
            raise NotFound("staff account not found")
        if account.active:
            account.active = False
            repo.save_account(u, account)
            u.emit(AccountDeactivated(tenant=tenant, account_id=account.id))
            u.commit()


def list_inactive_accounts(*, uow: UowFactory) -> list[str]:
    """Accounts that may no longer act: the gateway refuses their tokens until they expire."""
    with uow() as u:
        return repo.inactive_account_ids(u)


def create_agency(tenant: str, cmd: c.AgencyCreate, *, request_key: str, uow: UowFactory) -> dict[str, Any]:
    """An agency (OPD) of the region; the same ``request_key`` again answers with it."""
    with uow() as u:
        _require_tenant(u, tenant)
        if not u.claim_event("create_agency", id_for_request(tenant, cmd.code, request_key)):
            return {"code": cmd.code, "name": repo.agency_name(u, tenant, cmd.code)}
        if repo.agency_exists(u, tenant, cmd.code):
            raise AgencyExists(f"agency {cmd.code} exists")
        try:
            repo.add_agency(u, tenant, cmd.code, cmd.name)
            u.commit()
        except IntegrityError:
            raise AgencyExists(f"agency {cmd.code} exists") from None
    return {"code": cmd.code, "name": cmd.name}


def list_agencies(tenant: str, *, uow: UowFactory) -> list[dict[str, Any]]:
    with uow() as u:
        _require_tenant(u, tenant)
        return repo.list_agencies(u, tenant)


def ensure_platform_admin(email: str, password: str, *, uow: UowFactory, hasher: Hasher) -> None:
    """Make sure a platform admin with this email exists with this password (created, or its password reset)."""
    email = c.normalize_email(email)
    with uow() as u:
        account = repo.get_account_by_email(u, email)
        if account is None:
            account = Account(id=new_id(), email=email, full_name="Platform admin",
                              password_hash=hasher.hash(password), roles=["platform_admin"])
            repo.add_account(u, account)
            u.emit(_created(account))  # notifications keeps its contact: it is told of failed sign-ins too
        else:
            if not hasher.verify(account.password_hash, password):
                account.password_hash = hasher.hash(password)
            account.roles = sorted(set(account.roles) | {"platform_admin"})
            account.active = True
            repo.save_account(u, account)
        u.commit()


# an argon2 hash of a random string, verified when the account does not exist
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
