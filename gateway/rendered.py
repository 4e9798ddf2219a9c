"""The gateway's one store of rendered answers (the JSON bytes of hot public reads: regions, catalogue lists and
service details), shared by every region: bounded by a byte budget (MPPI_RENDERED_CACHE_MB), least recently used out
first, and dropped a region at a time when that region or its catalogue changes.

Callers key an answer on what decides its content only (known parameters, normalised), so a request cannot make a
new entry by adding parameters; the budget bounds what distinct known values (search words) can make.
"""
from __future__ import annotations

import sys
from collections import OrderedDict

from prometheus_client import Gauge

DEFAULT_BUDGET = 64 * 1024 * 1024
# what keeping one entry costs besides its body and key: its slot in the ordered dict (a linked node and a hash
# entry) and in its region's set of keys
_SLOT = 160


def _cost(key: tuple, body: bytes) -> int:
    return (sys.getsizeof(body) + sys.getsizeof(key) + sum(sys.getsizeof(part) for part in key[1])
            + sys.getsizeof(key[1]) + _SLOT)


class RenderedCache:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET):
        self.budget = budget_bytes
        self.bytes = 0  # what the kept entries cost, by the estimate of _cost
        self._entries: OrderedDict[tuple[str, tuple], tuple[bytes, int]] = OrderedDict()
        self._by_tenant: dict[str, set[tuple[str, tuple]]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, tenant: str, key: tuple) -> bytes | None:
        entry = self._entries.get((tenant, key))
        if entry is None:
            return None
        self._entries.move_to_end((tenant, key))
        return entry[0]

    def put(self, tenant: str, key: tuple, body: bytes) -> None:
        full = (tenant, key)
        cost = _cost(full, body)
        if cost > self.budget:
            return
        self._remove(full)
        self._entries[full] = (body, cost)
        self._by_tenant.setdefault(tenant, set()).add(full)
        self.bytes += cost
        self._shrink(self.budget)

    def drop(self, tenant: str) -> None:
        """Forget every answer of ``tenant`` (it or its catalogue changed)."""
        for full in self._by_tenant.pop(tenant, ()):
            _, cost = self._entries.pop(full)
            self.bytes -= cost

    def resize(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self._shrink(budget_bytes)

    def _remove(self, full: tuple[str, tuple]) -> None:
        entry = self._entries.pop(full, None)
        if entry is not None:
            self.bytes -= entry[1]
            keys = self._by_tenant[full[0]]
            keys.discard(full)
            if not keys:
                del self._by_tenant[full[0]]

    def _shrink(self, budget: int) -> None:
        while self.bytes > budget:
            self._remove(next(iter(self._entries)))


answers = RenderedCache()

_BYTES = Gauge("gateway_rendered_cache_bytes", "What the kept rendered answers cost (bodies, keys, slots)")
_BYTES.set_function(lambda: answers.bytes)
_BUDGET = Gauge("gateway_rendered_cache_budget_bytes", "The rendered answers' byte budget (MPPI_RENDERED_CACHE_MB)")
_BUDGET.set_function(lambda: answers.budget)
_ENTRIES = Gauge("gateway_rendered_cache_entries", "Rendered answers kept")
_ENTRIES.set_function(lambda: len(answers))
