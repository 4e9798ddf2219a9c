"""The public pages, rendered from the gateway's caches: the region list, a region's home as it arranged it, a
service's standard, and what a phone shows after scanning an issued document's QR code."""
from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.web.core import WebCtx, pages, static
from mppi.contracts.catalog import CATEGORIES
from mppi.contracts.errors import MppiError, NotFound
from mppi.indonesia.search import normalize


@pages.page("/static/<name>")
def static_file(w: WebCtx) -> Response:
    return static(w.params["name"])


@pages.page("/")
def regions(w: WebCtx) -> Response:
    q = w.request.args.get("q", "")[:100]
    items = w.gateway.tenants.summaries()
    if q:
        wanted = normalize(q)
        items = [r for r in items if wanted in normalize(r["name"]) or wanted in r["slug"]]
    return w.render("regions.html", regions=sorted(items, key=lambda r: r["name"]), q=q)


@pages.page("/r/<slug>")
def region(w: WebCtx) -> Response:
    tenant = w.region()
    slug = tenant["slug"]
    catalog = w.gateway.catalog
    services = catalog.summaries(slug)
    q = w.request.args.get("q", "")[:200]
    heading = w.t("Layanan", "Services")
    menu_key = w.request.args.get("menu")
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
        heading = w.t("Hasil pencarian", "Search results") + f": {q}"
    return w.render("region.html", services=w.localize(services), q=q, heading=heading,
                    categories={k: v[w.lang] for k, v in CATEGORIES.items()})


@pages.page("/r/<slug>/layanan/<service_id>")
def service(w: WebCtx) -> Response:
    slug, service_id = w.params["slug"], w.params["service_id"]
    w.region()
    catalog = w.gateway.catalog
    if not catalog.is_published(slug, service_id):
        raise NotFound("no such service")
    view = catalog.detail(slug, service_id)
    if view is None:
        view = w.rpc("catalog", "get_service", slug, service_id, "published")
        catalog.put_detail(view)
    return w.render("service.html", service=w.localize(view))


@pages.page("/verify/<code>")
def verify(w: WebCtx) -> Response:
    """What a phone shows after scanning an issued document's QR code."""
    try:
        found = w.rpc("applications", "verify", w.params["code"][:80])
    except MppiError as exc:
        if exc.status != 404:
            raise
        found = None
    return w.render("verify.html", status=200 if found else 404, found=w.localize(found) if found else None)
