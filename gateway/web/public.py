"""The public pages, rendered from the gateway's caches: the region list, a region's home as it arranged it, a
service's standard, and what a phone shows after scanning an issued document's QR code."""
from __future__ import annotations

import time

from werkzeug.wrappers import Response

from gateway.application_routes import stats
from gateway.application_routes import verify as api_verify
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
    category = w.request.args.get("kategori")
    if menu_key == "lacak":  # the default menu's "track an application" entry
        return w.redirect("/lacak")
    entry = next((m for m in tenant.get("menu", []) if m.get("key") == menu_key), None) if menu_key else None
    if entry is not None:
        heading = entry["label"]
        if entry.get("service_ids"):
            by_id = {s["id"]: s for s in services}
            services = [by_id[i] for i in entry["service_ids"] if i in by_id]
        elif entry.get("category"):
            services = [s for s in services if s["category"] == entry["category"]]
    if category in CATEGORIES:
        heading = CATEGORIES[category][w.lang]
        services = [s for s in services if s["category"] == category]
    if q:
        ranked = catalog.search(slug, q)
        by_id = {s["id"]: s for s in services}
        services = [by_id[i] for i in ranked if i in by_id]
        heading = w.t("Hasil pencarian", "Search results") + f": {q}"
    home = not q and category not in CATEGORIES and (entry is None or menu_key == "beranda")
    widgets = _widgets(w, tenant, catalog.summaries(slug)) if home else []
    return w.render("region.html", services=w.localize(services), q=q, heading=heading, widgets=widgets,
                    categories={k: v[w.lang] for k, v in CATEGORIES.items()})


_STATS: dict[str, tuple[float, dict]] = {}


def _public_stats(w: WebCtx, slug: str) -> dict | None:
    """The region's public figures, at most a minute old: the home page must stay cheap."""
    now = time.monotonic()
    cached = _STATS.get(slug)
    if cached is None or now - cached[0] > 60:
        try:
            cached = _STATS[slug] = (now, w.api(stats, params={"slug": slug}))
        except MppiError:
            return None
    return cached[1]


def _widgets(w: WebCtx, tenant: dict, services: list[dict]) -> list[dict]:
    """The region's dashboard, in its order, with what each widget needs to be drawn."""
    shown = []
    by_id = {s["id"]: s for s in services}
    for widget in tenant.get("dashboard") or []:
        kind = widget.get("kind")
        item = dict(widget)
        if kind == "announcement":
            if not (widget.get("title") or widget.get("body")):
                continue
        elif kind == "featured_services":
            item["services"] = w.localize([by_id[i] for i in widget.get("service_ids") or [] if i in by_id])
            if not item["services"]:
                continue
        elif kind == "categories":
            counts: dict[str, int] = {}
            for s in services:
                counts[s["category"]] = counts.get(s["category"], 0) + 1
            item["categories"] = [{"key": k, "label": CATEGORIES[k][w.lang], "count": counts[k]}
                                  for k in CATEGORIES if k in counts]
            if not item["categories"]:
                continue
        elif kind == "public_stats":
            item["stats"] = _public_stats(w, tenant["slug"])
            if item["stats"] is None:
                continue
        else:
            continue
        shown.append(item)
    return shown


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
        found = w.api(api_verify)
    except NotFound:
        found = None
    return w.render("verify.html", status=200 if found else 404, found=found)
