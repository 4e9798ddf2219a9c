"""Seed the local demo once (regions with a published catalogue, their staff, one citizen) through the services'
own use cases, then print the logins. Runs after migrations and before the services start; events go out through
the outbox when they do."""
from __future__ import annotations

import sys

from mppi.contracts import tenants as c
from mppi.contracts.catalog import AdoptOrCreate
from mppi.contracts.errors import AccountExists, ServiceExists, TenantExists
from mppi.runtime import settings
from mppi.runtime.database import make_engine, new_id, uow_factory
from services.catalog import handlers as catalog
from services.catalog import orm as catalog_orm
from services.catalog.templates import load_templates
from services.tenants import handlers, orm
from services.tenants.dependencies import Argon2Hasher

PASSWORD = "demo12345"
REGIONS = [("bengkulu-tengah", "17.09"), ("sinjai", "73.07")]
STAFF = ["tenant_admin", "verifier", "approver", "operator"]
# a catalogue to look at: a few services of each kind, published (their events go out when catalog starts)
DEMO_SERVICES = [code for code in load_templates() if code in {
    "akta-kelahiran", "akta-kematian", "kartu-keluarga-baru", "ktp-el-baru", "kartu-identitas-anak", "pbg",
    "sip-dokter", "izin-reklame", "kartu-pencari-kerja", "sktm", "skck", "legalisir-ijazah", "pbb-p2-objek-baru"}]
CITIZEN = {"nik": "1709014501900001", "full_name": "Siti Aminah", "email": "warga@demo.mppi.id",
           "phone": "081234567890", "password": PASSWORD}


def main() -> int:
    cfg = settings.get()
    uow = uow_factory(make_engine(cfg.database_url("tenants")), source="tenants", metadata=orm.metadata)
    catalog_uow = uow_factory(make_engine(cfg.database_url("catalog")), source="catalog",
                              metadata=catalog_orm.metadata)
    hasher = Argon2Hasher()
    logins = []
    for slug, code in REGIONS:
        try:
            handlers.create_tenant(c.TenantCreate(slug=slug, region_code=code), request_key=new_id(), uow=uow)
        except TenantExists:
            pass
        for code in DEMO_SERVICES:
            try:
                service = catalog.create_service(slug, AdoptOrCreate(template_code=code), request_key=new_id(),
                                                 uow=catalog_uow)
                catalog.publish_service(slug, service["id"], uow=catalog_uow)
            except ServiceExists:
                pass
        for role in STAFF:
            email = f"{role.replace('_', '-')}@{slug}.demo.mppi.id"
            try:
                handlers.create_staff(slug, c.StaffCreate(email=email, full_name=f"{role} {slug}", password=PASSWORD,
                                                          roles=[role]), request_key=new_id(), uow=uow, hasher=hasher)
            except AccountExists:
                pass
            logins.append((slug, role, email))
    try:
        handlers.register_citizen(c.Register(**CITIZEN), request_key=new_id(), uow=uow, hasher=hasher)
    except AccountExists:
        pass
    logins.append(("-", "citizen", CITIZEN["email"]))
    if cfg.admin_email:
        logins.append(("-", "platform_admin", cfg.admin_email))
    print(f"\nMPPI demo logins (password {PASSWORD!r}; platform admin: MPPI_ADMIN_PASSWORD):")
    for tenant, role, email in logins:
        print(f"  {tenant:16} {role:15} {email}")
    print(f"\nOpen {cfg.public_url} (API: {cfg.public_url}/api/v1/openapi.json)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
