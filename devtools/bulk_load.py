"""Bulk-load many regions and services straight into the tenants and catalog tables, built by the services' own
domain code (``new_tenant``, ``new_service`` + ``publish``): how ``make bench`` gets 500 regions × 100 services."""
from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from mppi.runtime.database import make_engine, utcnow
from services.catalog import orm as catalog_orm
from services.catalog.domain.service import new_service
from services.catalog.templates import load_templates
from services.tenants import orm as tenants_orm
from services.tenants.domain.tenant import new_tenant
from services.tenants.repository import CONFIG_KEYS

REGENCIES = Path(__file__).resolve().parents[1] / "mppi/indonesia/data/regencies.csv"
BATCH = 2000


def region_codes() -> list[str]:
    with open(REGENCIES, newline="") as f:
        return [row["code"] for row in csv.DictReader(f)]


def load(*, tenants_url: str, catalog_url: str, regions: list[str], services_per_region: int,
         slug_prefix: str = "bulk") -> list[str]:
    """Create one tenant per region code and ``services_per_region`` published services each; returns the slugs."""
    templates = list(load_templates().values())
    now = utcnow()
    slugs = []
    t_engine, c_engine = make_engine(tenants_url), make_engine(catalog_url)
    try:
        tenant_rows = []
        for code in regions:
            slug = f"{slug_prefix}-{code.replace('.', '-')}"
            t = new_tenant(slug=slug, region_code=code)
            tenant_rows.append({"slug": t.slug, "region_code": t.region_code, "name": t.name, "kind": t.kind,
                                "timezone": t.timezone, "status": t.status, "created_at": now, "updated_at": now,
                                "config": {k: getattr(t, k) for k in CONFIG_KEYS}})
            slugs.append(slug)
        with t_engine.begin() as conn:
            conn.execute(tenants_orm.tenants.insert(), tenant_rows)

        services, versions = [], []
        for slug in slugs:
            for i in range(services_per_region):
                template = templates[i % len(templates)].model_dump(mode="json", exclude_none=True)
                template["code"] = f"{template['code']}-{i}"
                s = new_service(tenant=slug, service_id=f"{slug}-{i:04d}"[-32:], definition=template,
                                template_code=templates[i % len(templates)].code)
                s.publish()
                services.append({"tenant": slug, "id": s.id, "code": s.code, "template_code": s.template_code,
                                 "status": s.status, "latest_version": 1, "published_version": 1,
                                 "category": s.category, "created_at": now, "updated_at": now})
                versions.append({"tenant": slug, "service_id": s.id, "version": 1, "state": "published",
                                 "definition": s.published.definition, "created_at": now, "published_at": now})
                if len(versions) >= BATCH:
                    _flush(c_engine, services, versions)
        _flush(c_engine, services, versions)
    finally:
        t_engine.dispose()
        c_engine.dispose()
    return slugs


def _flush(engine: sa.Engine, services: list, versions: list) -> None:
    if not services:
        return
    with engine.begin() as conn:
        conn.execute(catalog_orm.services.insert(), services)
        conn.execute(catalog_orm.service_versions.insert(), versions)
    services.clear()
    versions.clear()
