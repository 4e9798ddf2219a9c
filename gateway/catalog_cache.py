"""The gateway's copy of every region's published catalogue, kept fresh by broadcast events.

Summaries of all published services (small) are held in full, with a search index per region built on first use;
full definitions are held for the most-read services (an LRU), filled from the ``service_published`` events that
carry them or, on a miss, by one RPC. Rendered JSON goes to the gateway's one store of rendered answers (a byte
budget for every region, ``gateway.rendered``), so a hot read is a dictionary lookup.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from gateway.rendered import RenderedCache
from gateway.rendered import answers as rendered_answers
from mppi.indonesia.search import SearchIndex

SUMMARY_KEYS = ("id", "tenant", "code", "name", "category", "agency", "description", "status", "version", "mode",
                "keywords")


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(str(v) for v in value.values())
    return str(value or "")


class CatalogCache:
    def __init__(self, detail_capacity: int = 5000, rendered: RenderedCache | None = None):
        self._summaries: dict[str, dict[str, dict[str, Any]]] = {}
        self._ordered: dict[str, list[dict[str, Any]]] = {}
        self._index: dict[str, SearchIndex] = {}
        self._details: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._categories: dict[str, frozenset[str]] = {}
        self._rendered = rendered if rendered is not None else RenderedCache()  # dropped a region at a time
        self._changed_since_subscribe: set[tuple[str, str]] = set()
        self.capacity = detail_capacity
        self.ready = threading.Event()

    # -- writes ----------------------------------------------------------------------------------------------------
    def _invalidate(self, tenant: str) -> None:
        self._ordered.pop(tenant, None)
        self._index.pop(tenant, None)
        self._categories.pop(tenant, None)
        self._rendered.drop(tenant)

    def published(self, view: dict[str, Any]) -> None:
        """A service was published (an event, or this gateway's own write): newest version wins."""
        key = (view["tenant"], view["id"])
        current = self._summaries.get(view["tenant"], {}).get(view["id"])
        if current and current["version"] > view["version"]:
            return  # an older event arriving late
        self._summaries.setdefault(view["tenant"], {})[view["id"]] = {k: view[k] for k in SUMMARY_KEYS}
        self._details[key] = view
        self._details.move_to_end(key)
        self._trim()
        self._changed_since_subscribe.add(key)
        self._invalidate(view["tenant"])

    def archived(self, tenant: str, service_id: str) -> None:
        self._summaries.get(tenant, {}).pop(service_id, None)
        self._details.pop((tenant, service_id), None)
        self._changed_since_subscribe.add((tenant, service_id))
        self._invalidate(tenant)

    def load_snapshot(self, summaries: list[dict[str, Any]]) -> None:
        for s in summaries:
            if (s["tenant"], s["id"]) not in self._changed_since_subscribe:
                self._summaries.setdefault(s["tenant"], {})[s["id"]] = {k: s[k] for k in SUMMARY_KEYS}
                self._invalidate(s["tenant"])

    def put_detail(self, view: dict[str, Any]) -> None:
        key = (view["tenant"], view["id"])
        if view["id"] in self._summaries.get(view["tenant"], {}):
            self._details[key] = view
            self._trim()

    def _trim(self) -> None:
        while len(self._details) > self.capacity:
            self._details.popitem(last=False)

    # -- reads -----------------------------------------------------------------------------------------------------
    def summaries(self, tenant: str) -> list[dict[str, Any]]:
        """The region's published services, ordered by name."""
        ordered = self._ordered.get(tenant)
        if ordered is None:
            ordered = sorted(self._summaries.get(tenant, {}).values(), key=lambda s: (_text(s["name"]), s["id"]))
            self._ordered[tenant] = ordered
        return ordered

    def categories(self, tenant: str) -> frozenset[str]:
        """The categories of the region's published services."""
        found = self._categories.get(tenant)
        if found is None:
            found = frozenset(s["category"] for s in self._summaries.get(tenant, {}).values())
            self._categories[tenant] = found
        return found

    def count(self, tenant: str) -> int:
        return len(self._summaries.get(tenant, {}))

    def search(self, tenant: str, q: str, limit: int = 100) -> list[str]:
        index = self._index.get(tenant)
        if index is None:
            docs = [(s["id"], {"name": _text(s["name"]), "keywords": " ".join(s.get("keywords", [])),
                               "category": s["category"].replace("-", " "), "description": _text(s["description"])})
                    for s in self._summaries.get(tenant, {}).values()]
            index = self._index[tenant] = SearchIndex(docs)
        return [doc_id for doc_id, _ in index.search(q, limit=limit)]

    def detail(self, tenant: str, service_id: str) -> dict[str, Any] | None:
        key = (tenant, service_id)
        view = self._details.get(key)
        if view is not None:
            self._details.move_to_end(key)
        return view

    def is_published(self, tenant: str, service_id: str) -> bool:
        return service_id in self._summaries.get(tenant, {})

    def rendered(self, tenant: str, key: tuple) -> bytes | None:
        return self._rendered.get(tenant, ("catalog", *key))

    def keep_rendered(self, tenant: str, key: tuple, body: bytes) -> None:
        """Keep an answer under ``key``: what decides its content, normalised (never the raw query)."""
        self._rendered.put(tenant, ("catalog", *key), body)

    def counts(self) -> tuple[int, int]:
        return len(self._summaries), sum(len(v) for v in self._summaries.values())


catalog = CatalogCache(rendered=rendered_answers)
