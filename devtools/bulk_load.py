"""Bulk-load many regions and services straight into the tenants and catalog tables, built by the services' own
domain code (``new_tenant``, ``new_service`` + ``publish``): how ``make bench`` gets 500 regions × 100 services.
``load_applications`` then COPYs a million applications of those services into the applications table."""
from __future__ import annotations

import csv
import io
import json
import random
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from mppi.runtime.database import make_engine, utcnow
from services.applications.domain.tracking import ALPHABET, prefix_for
from services.catalog import orm as catalog_orm
from services.catalog.domain.service import new_service
from services.catalog.templates import load_templates
from services.tenants import orm as tenants_orm
from services.tenants.domain.tenant import new_tenant
from services.tenants.repository import CONFIG_KEYS

REGENCIES = Path(__file__).resolve().parents[1] / "mppi/indonesia/data/regencies.csv"
BATCH = 2000
COPY_CHUNK = 50_000  # applications per COPY statement


def region_codes() -> list[str]:
    with open(REGENCIES, newline="") as f:
        return [row["code"] for row in csv.DictReader(f)]


def service_id(slug: str, i: int) -> str:
    """The id of a region's ``i``-th bulk-loaded service (built from ``templates[i % len(templates)]``)."""
    return f"{slug}-{i:04d}"[-32:]


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
                s = new_service(tenant=slug, service_id=service_id(slug, i), definition=template,
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


# ---- applications -----------------------------------------------------------------------------------------------

# (status, share): most applications are open work, some are done
STATUS_MIX = (("submitted", 0.30), ("in_review", 0.20), ("approved", 0.10), ("revision_requested", 0.10),
              ("completed", 0.22), ("rejected", 0.08))
APPLICATION_COLUMNS = ("tenant", "id", "tracking_number", "service_id", "service_version", "service", "workflow",
                       "applicant_id", "applicant_name", "form", "documents", "status", "step",
                       "status_before_revision", "submitted_at", "updated_at", "sla_due_at", "paused_at",
                       "breached_at", "completed_at", "output")
_TRACKING_SPACE = len(ALPHABET) ** 6
_TRACKING_STRIDE = 7**10  # coprime with 30: serial * stride mod 30^6 is a bijection, so the suffixes stay unique


def tracking_number(slug: str, year: int, serial: int) -> str:
    """A unique tracking number in the format of ``new_tracking_number`` (``B70-26-7K3Q9X``): the serial scrambled
    over the 30^6 suffixes, so distinct serials never collide and neighbours do not look alike."""
    n = (serial + 1) * _TRACKING_STRIDE % _TRACKING_SPACE
    suffix = []
    for _ in range(6):
        n, r = divmod(n, len(ALPHABET))
        suffix.append(ALPHABET[r])
    return f"{prefix_for(slug)}-{year % 100:02d}-{''.join(suffix)}"


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def load_applications(*, applications_url: str, slugs: list[str], services_per_region: int, count: int,
                      seed: int = 7, applicants: int = 200_000, on_progress=None) -> int:
    """COPY ``count`` applications, spread evenly over ``slugs`` and their bulk-loaded services, into the
    applications table (PostgreSQL only: ``copy_expert`` from an in-memory CSV, ``COPY_CHUNK`` rows a statement).

    Each row is what the service would hold: the service summary and workflow of its template, a unique tracking
    number, a status from ``STATUS_MIX`` with its step, ``sla_due_at`` spread over now ± 30 days, and the SLA breach
    already recorded for open work past due (as the SLA check would have). Form and documents are empty and the
    history table is not filled: the inbox reads neither. Returns the number of rows."""
    import psycopg2

    rng = random.Random(seed)
    templates = [t.model_dump(mode="json", exclude_none=True) for t in load_templates().values()]
    workflows = [json.dumps(t["workflow"]["steps"], ensure_ascii=False) for t in templates]
    step_keys = [[s["key"] for s in t["workflow"]["steps"]] for t in templates]
    sla_days = [int(t["standard"].get("sla_days") or 1) for t in templates]
    statuses = [s for s, _ in STATUS_MIX]
    weights = [w for _, w in STATUS_MIX]
    applicant_ids = [uuid.UUID(int=rng.getrandbits(128)).hex for _ in range(min(applicants, max(1, count)))]
    now = utcnow()
    columns = ", ".join(APPLICATION_COLUMNS)
    per_region = -(-count // len(slugs)) if slugs else 0
    written = 0
    conn = psycopg2.connect(applications_url)
    try:
        with conn, conn.cursor() as cur:
            buf = io.StringIO()
            out = csv.writer(buf)
            pending = 0
            for r, slug in enumerate(slugs):
                for k in range(min(per_region, count - written)):
                    i = k % services_per_region
                    t = i % len(templates)
                    template = templates[t]
                    service = {"id": service_id(slug, i), "version": 1, "code": f"{template['code']}-{i}",
                               "name": template["name"], "output": template["standard"].get("output")}
                    status = rng.choices(statuses, weights)[0]
                    due = now + timedelta(seconds=rng.uniform(-30, 30) * 86400)
                    submitted = min(now - timedelta(minutes=rng.uniform(1, 600)),
                                    due - timedelta(days=sla_days[t] * rng.uniform(1.0, 1.4)))
                    updated = submitted + (now - submitted) * rng.random()
                    steps = step_keys[t]
                    step = {"submitted": steps[0], "revision_requested": steps[0], "in_review": steps[min(1, len(
                        steps) - 1)], "approved": steps[-1], "completed": steps[-1]}.get(status, rng.choice(steps))
                    paused = updated if status == "revision_requested" else None
                    breached = due if status in ("submitted", "in_review", "approved") and due < now else None
                    completed = updated if status == "completed" else None
                    app_id = uuid.UUID(int=rng.getrandbits(128)).hex
                    number = tracking_number(slug, submitted.year, written)
                    output = json.dumps({"blob": f"outputs/{slug}/{app_id}.pdf", "code": f"bulk{written}",
                                         "issued_at": updated.isoformat()}) if completed else None
                    out.writerow((slug, app_id, number, service["id"], 1, json.dumps(service, ensure_ascii=False),
                                  workflows[t], rng.choice(applicant_ids), "Warga Bulk", "{}", "[]", status, step,
                                  "submitted" if paused else None, _iso(submitted), _iso(updated), _iso(due),
                                  _iso(paused), _iso(breached), _iso(completed), output))
                    written += 1
                    pending += 1
                    if pending >= COPY_CHUNK:
                        _copy(cur, buf, columns)
                        buf.seek(0)
                        buf.truncate()
                        pending = 0
                        if on_progress:
                            on_progress(written, r + 1)
            if pending:
                _copy(cur, buf, columns)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("ANALYZE applications")
    finally:
        conn.close()
    return written


def _copy(cur, buf: io.StringIO, columns: str) -> None:
    buf.seek(0)
    cur.copy_expert(f"COPY applications ({columns}) FROM STDIN WITH (FORMAT csv)", buf)
