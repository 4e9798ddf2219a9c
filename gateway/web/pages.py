"""Render the citizen pages from the gateway's caches: the region list, a region's home, a service's standard."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Request, Response

from gateway.cache import TenantCache
from gateway.catalog_cache import CatalogCache
from gateway.i18n import localize
from mppi.contracts.catalog import CATEGORIES
from mppi.contracts.errors import NotFound
from mppi.indonesia.search import normalize

HERE = Path(__file__).parent
ENV = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)
STATIC = {"site.css": ((HERE / "static" / "site.css").read_bytes(), "text/css; charset=utf-8")}
HTML = "text/html; charset=utf-8"


def _page(template: str, lang: str, status: int = 200, **values: Any) -> Response:
    def t(indonesian: str, english: str) -> str:
        return english if lang == "en" else indonesian

    body = ENV.get_template(template).render(lang=lang, t=t, **values)
    return Response(body, status=status, content_type=HTML)


def static(name: str) -> Response:
    if name not in STATIC:
        raise NotFound("no such file")
    body, content_type = STATIC[name]
    return Response(body, content_type=content_type, headers={"Cache-Control": "public, max-age=86400"})


def regions(request: Request, lang: str, tenants: TenantCache) -> Response:
    q = request.args.get("q", "")[:100]
    items = tenants.summaries()
    if q:
        wanted = normalize(q)
        items = [r for r in items if wanted in normalize(r["name"]) or wanted in r["slug"]]
    return _page("regions.html", lang, regions=sorted(items, key=lambda r: r["name"]), q=q)


def region(request: Request, lang: str, slug: str, tenants: TenantCache, catalog: CatalogCache) -> Response:
    tenant = tenants.get(slug)
    if tenant is None:
        raise NotFound("no such region")
    tenant = localize(tenant, lang)
    services = catalog.summaries(slug)
    q = request.args.get("q", "")[:200]
    heading = "Layanan" if lang == "id" else "Services"
    menu_key = request.args.get("menu")
    entry = next((m for m in tenant.get("menu", []) if m.get("key") == menu_key), None) if menu_key else None
    if entry is not None:
        heading = entry["label"]
        if entry.get("service_ids"):
            by_id = {s["id"]: s for s in services}
            services = [by_id[i] for i in entry["service_ids"] if i in by_id]
        elif entry.get("category"):
            services = [s for s in services if s["category"] == entry["category"]]
    if q:
        ranked = catalog.search(slug, q)
        by_id = {s["id"]: s for s in services}
        services = [by_id[i] for i in ranked if i in by_id]
        heading = ("Hasil pencarian" if lang == "id" else "Search results") + f": {q}"
    return _page("region.html", lang, tenant=tenant, services=localize(services, lang), q=q, heading=heading,
                 categories={k: v[lang] for k, v in CATEGORIES.items()},
                 brand=tenant.get("branding", {}).get("primary_color"))


def service(lang: str, slug: str, service_id: str, tenants: TenantCache, catalog: CatalogCache,
            fetch) -> Response:
    tenant = tenants.get(slug)
    if tenant is None or not catalog.is_published(slug, service_id):
        raise NotFound("no such service")
    view = catalog.detail(slug, service_id)
    if view is None:
        view = fetch(slug, service_id)
        catalog.put_detail(view)
    tenant = localize(tenant, lang)
    return _page("service.html", lang, tenant=tenant, service=localize(view, lang),
                 brand=tenant.get("branding", {}).get("primary_color"))


def not_found(lang: str) -> Response:
    return _page("regions.html", lang, status=404, regions=[], q="")
