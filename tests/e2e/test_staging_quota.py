"""The 200 MB staging quota applied per account, so ten accounts from one client staged ten times as much (pen-test
finding 7): every account's uploads not yet sent also fit one allowance for the platform (MPPI_STAGING_QUOTA_TOTAL_MB),
and past it an upload answers 503 STORAGE_FULL with Retry-After, losing nothing already taken."""
import requests
from journeys import apply, make_region, new_citizen
from support import Client, wait_for

from devtools.platform import free_port


def test_uploads_pause_for_everyone_once_the_platforms_staging_allowance_is_full(platform, admin, anon):
    region = make_region(admin, "16.71")
    port = free_port()
    # a tenth of a megabyte for every account together: one submission's files already fill it
    platform.start_gateway("gateway-staging", port=port, MPPI_STAGING_QUOTA_TOTAL_MB="0.1")
    internal = platform.internal_url(f"http://127.0.0.1:{port}")
    try:
        wait_for(lambda: _ready(internal), timeout=60, message="the gateway with a small staging allowance")
        citizen, _ = new_citizen(Client(f"http://127.0.0.1:{port}"))
        big = {key: (f"{key}.pdf", b"%PDF-1.4\n" + b"0" * 120_000, "application/pdf")
               for key in _file_fields(region)}
        r = apply(citizen, region, files=big)
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "STORAGE_FULL" and int(r.headers["Retry-After"]) >= 1
        assert apply(new_citizen(anon)[0], region).status_code == 201  # the platform's own gateway, its own count
    finally:
        platform.stop("gateway-staging")


def _file_fields(region: dict) -> list[str]:
    return [f["key"] for f in region["definition"]["form"]["fields"] if f["type"] == "file"][:1]


def _ready(internal: str) -> bool:
    try:
        return requests.get(internal + "/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False
