"""Load and save tenants, agencies and accounts through a unit of work's connection."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from mppi.runtime.database import UnitOfWork, utcnow
from services.tenants import orm
from services.tenants.domain.accounts import Account
from services.tenants.domain.sign_in import RecentFailures
from services.tenants.domain.tenant import Tenant

CONFIG_KEYS = ("branding", "menu", "dashboard", "office_hours", "holidays")


def _tenant(row) -> Tenant:
    return Tenant(slug=row.slug, region_code=row.region_code, name=row.name, kind=row.kind,
                  timezone=row.timezone, status=row.status, **{k: row.config[k] for k in CONFIG_KEYS})


def get_tenant(uow: UnitOfWork, slug: str, *, for_update: bool = False) -> Tenant | None:
    q = sa.select(orm.tenants).where(orm.tenants.c.slug == slug)
    if for_update:
        q = q.with_for_update()
    row = uow.execute(q).first()
    return _tenant(row) if row else None


def tenant_taken(uow: UnitOfWork, slug: str, region_code: str) -> bool:
    t = orm.tenants
    q = sa.select(t.c.slug).where(sa.or_(t.c.slug == slug, t.c.region_code == region_code)).limit(1)
    return uow.execute(q).first() is not None


def list_tenants(uow: UnitOfWork) -> list[Tenant]:
    rows = uow.execute(sa.select(orm.tenants).where(orm.tenants.c.status == "active").order_by(orm.tenants.c.name))
    return [_tenant(r) for r in rows]


def add_tenant(uow: UnitOfWork, tenant: Tenant) -> None:
    now = utcnow()
    uow.execute(orm.tenants.insert().values(
        slug=tenant.slug, region_code=tenant.region_code, name=tenant.name, kind=tenant.kind,
        timezone=tenant.timezone, status=tenant.status, config={k: getattr(tenant, k) for k in CONFIG_KEYS},
        created_at=now, updated_at=now))


def save_tenant(uow: UnitOfWork, tenant: Tenant) -> None:
    uow.execute(orm.tenants.update().where(orm.tenants.c.slug == tenant.slug).values(
        name=tenant.name, status=tenant.status, config={k: getattr(tenant, k) for k in CONFIG_KEYS},
        updated_at=utcnow()))


def _account(row) -> Account:
    return Account(id=row.id, email=row.email, full_name=row.full_name, password_hash=row.password_hash,
                   roles=list(row.roles), tenant=row.tenant, nik=row.nik, phone=row.phone, active=row.active)


def get_account(uow: UnitOfWork, account_id: str) -> Account | None:
    row = uow.execute(sa.select(orm.accounts).where(orm.accounts.c.id == account_id)).first()
    return _account(row) if row else None


def get_account_by_email(uow: UnitOfWork, email: str) -> Account | None:
    row = uow.execute(sa.select(orm.accounts).where(orm.accounts.c.email == email)).first()
    return _account(row) if row else None


def account_taken(uow: UnitOfWork, *, email: str, nik: str | None = None) -> bool:
    a = orm.accounts
    cond = a.c.email == email if nik is None else sa.or_(a.c.email == email, a.c.nik == nik)
    return uow.execute(sa.select(a.c.id).where(cond).limit(1)).first() is not None


def add_account(uow: UnitOfWork, account: Account) -> None:
    uow.execute(orm.accounts.insert().values(
        id=account.id, email=account.email, full_name=account.full_name, password_hash=account.password_hash,
        roles=account.roles, tenant=account.tenant, nik=account.nik, phone=account.phone, active=account.active,
        created_at=utcnow()))


def save_account(uow: UnitOfWork, account: Account) -> None:
    uow.execute(orm.accounts.update().where(orm.accounts.c.id == account.id).values(
        full_name=account.full_name, password_hash=account.password_hash, roles=account.roles,
        active=account.active))


def list_staff(uow: UnitOfWork, tenant: str, *, limit: int, after: str | None) -> list[Account]:
    a = orm.accounts
    q = sa.select(a).where(a.c.tenant == tenant).order_by(a.c.id).limit(limit)
    if after:
        q = q.where(a.c.id > after)
    return [_account(r) for r in uow.execute(q)]


def add_agency(uow: UnitOfWork, tenant: str, code: str, name: str) -> None:
    uow.execute(orm.agencies.insert().values(tenant=tenant, code=code, name=name, created_at=utcnow()))


def agency_exists(uow: UnitOfWork, tenant: str, code: str) -> bool:
    g = orm.agencies
    return uow.execute(sa.select(g.c.code).where(g.c.tenant == tenant, g.c.code == code)).first() is not None


def agency_name(uow: UnitOfWork, tenant: str, code: str) -> str:
    g = orm.agencies
    return uow.execute(sa.select(g.c.name).where(g.c.tenant == tenant, g.c.code == code)).scalar_one()


def list_agencies(uow: UnitOfWork, tenant: str) -> list[dict]:
    g = orm.agencies
    rows = uow.execute(sa.select(g.c.code, g.c.name).where(g.c.tenant == tenant).order_by(g.c.code))
    return [{"code": r.code, "name": r.name} for r in rows]


def inactive_account_ids(uow: UnitOfWork) -> list[str]:
    a = orm.accounts
    return [r.id for r in uow.execute(sa.select(a.c.id).where(a.c.active.is_(False)))]


# -- sign-in failures and revoked tokens -----------------------------------------------------------------------------

def recent_failures(uow: UnitOfWork, email_key: str, network: str, *, since: datetime, cap: int) -> RecentFailures:
    """The network's failures for the account since ``since`` (its newest ``cap``), and the account's (up to cap)."""
    f = orm.sign_in_failures
    mine = uow.execute(sa.select(f.c.at).where(f.c.email_key == email_key, f.c.network == network, f.c.at > since)
                       .order_by(f.c.at.desc()).limit(cap)).scalars().all()
    everyone = sa.select(f.c.id).where(f.c.email_key == email_key, f.c.at > since).limit(cap).subquery()
    total = uow.execute(sa.select(sa.func.count()).select_from(everyone)).scalar_one()
    return RecentFailures(from_network=sorted(mine), for_account=total)


def add_failure(uow: UnitOfWork, email_key: str, network: str, at: datetime) -> None:
    uow.execute(orm.sign_in_failures.insert().values(email_key=email_key, network=network, at=at))


def clear_failures(uow: UnitOfWork, email_key: str, network: str) -> None:
    f = orm.sign_in_failures
    uow.execute(f.delete().where(f.c.email_key == email_key, f.c.network == network))


def failures_told_at(uow: UnitOfWork, account_id: str) -> datetime | None:
    a = orm.accounts
    return uow.execute(sa.select(a.c.failures_told_at).where(a.c.id == account_id).with_for_update()).scalar()


def mark_failures_told(uow: UnitOfWork, account_id: str, at: datetime) -> None:
    uow.execute(orm.accounts.update().where(orm.accounts.c.id == account_id).values(failures_told_at=at))


def revoked(uow: UnitOfWork, jti: str) -> bool:
    r = orm.revoked_tokens
    return uow.execute(sa.select(r.c.jti).where(r.c.jti == jti)).first() is not None


def add_revoked(uow: UnitOfWork, jti: str, account_id: str, expires_at: datetime) -> None:
    uow.execute(orm.revoked_tokens.insert().values(jti=jti, account_id=account_id, expires_at=expires_at))


def unexpired_revoked(uow: UnitOfWork, now: datetime) -> list[tuple[str, datetime]]:
    r = orm.revoked_tokens
    return [(row.jti, row.expires_at) for row in uow.execute(sa.select(r.c.jti, r.c.expires_at)
                                                              .where(r.c.expires_at > now))]


def sweep_sign_in_records(uow: UnitOfWork, *, failures_before: datetime, now: datetime, batch: int) -> int:
    """Delete one batch of failures older than the window and of revoked tokens already expired; how many."""
    f, r = orm.sign_in_failures, orm.revoked_tokens
    old = sa.select(f.c.id).where(f.c.at < failures_before).limit(batch).scalar_subquery()
    expired = sa.select(r.c.jti).where(r.c.expires_at < now).limit(batch).scalar_subquery()
    return (uow.execute(f.delete().where(f.c.id.in_(old))).rowcount
            + uow.execute(r.delete().where(r.c.jti.in_(expired))).rowcount)
