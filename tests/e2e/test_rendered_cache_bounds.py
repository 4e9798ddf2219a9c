"""Anyone could grow the gateway's memory through the catalogue cache, keyed by the raw query string: ``&junk=N`` made
a new entry each time (pen-test finding 6). Entries are keyed on known, normalised parameters, in one store with a
byte budget for every region."""
import random
import re
import uuid

import requests
from journeys import make_region


def _gauge(platform, name: str) -> float:
    text = requests.get(platform.internal_url() + "/metrics", timeout=10).text
    return float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))


def test_junk_parameters_and_other_spellings_do_not_make_new_entries(platform, admin, anon):
    region = make_region(admin, "16.13")
    path = f"/api/v1/tenants/{region['slug']}/services"
    assert anon.get(path).status_code == 200 and anon.get(path + "?q=akta").status_code == 200
    before = _gauge(platform, "gateway_rendered_cache_entries")
    for i in range(600):
        junk = {"junk": str(i), uuid.uuid4().hex[:6]: "x" * random.randint(1, 200)}
        params = random.choice([junk, {**junk, "q": random.choice(["akta", "AKTA", "  Akta "])},
                                {**junk, "category": f"nope-{i}"}, {**junk, "cursor": str(10_000 + i)},
                                {**junk, "q": f"zzqx{i}"}])
        r = anon.get(path, params=params)
        assert r.status_code == 200, r.text
    after = _gauge(platform, "gateway_rendered_cache_entries")
    # the known spellings share the entries made before; an unknown category, a cursor past the end and a search
    # matching nothing add at most one entry each
    assert after - before <= 3, (before, after)
    assert _gauge(platform, "gateway_rendered_cache_bytes") <= _gauge(platform, "gateway_rendered_cache_budget_bytes")
