"""Browser tests: Playwright driving Debian's chromium against the whole platform, started once per run on its own
RabbitMQ vhost and PostgreSQL databases. A separate pytest run from ``tests/``: Playwright's sync API cannot run under
eventlet's monkey patching, which ``tests/conftest.py`` applies to its whole process."""
import os
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the API journeys and client

from support import Client  # noqa: E402

from devtools.platform import Platform  # noqa: E402

CHROMIUM = os.environ.get("MPPI_CHROMIUM", "/usr/bin/chromium")
# as the machine's probe found: without the background-networking flags chromium keeps dialling Google's hosts
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SHOTS = os.environ.get("MPPI_SCREENSHOTS")  # a folder to keep screenshots of the main pages in (docs/screenshots)


@pytest.fixture(scope="session")
def platform(tmp_path_factory):
    with Platform.isolated(tmp_path_factory.mktemp("var")) as p:
        yield p


@pytest.fixture(scope="session")
def anon(platform) -> Client:
    return Client(platform.base_url)


@pytest.fixture(scope="session")
def admin(platform, anon) -> Client:
    return anon.login(platform.admin_email, platform.admin_password)


@pytest.fixture(scope="session")
def chromium():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_browser(chromium, platform):
    """``open_browser(viewport=PHONE)`` → a fresh browser page (its own cookies) on the platform."""
    contexts = []

    def make(viewport=PHONE):
        context = chromium.new_context(viewport=viewport, base_url=platform.base_url, accept_downloads=True,
                                       locale="id-ID")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for c in contexts:
        c.close()


def shoot(page, name: str) -> None:
    """Keep a full-page screenshot of a main page when MPPI_SCREENSHOTS names a folder."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture
def new_region(admin):
    """A fresh region (no service yet) and the email of its tenant admin (password ``password-123``)."""
    import uuid

    slug = f"b-{uuid.uuid4().hex[:6]}"
    r = admin.post("/api/v1/tenants", json={"slug": slug, "region_code": "73.72"})
    assert r.status_code == 201, r.text
    email = f"admin-{slug}@example.id"
    r = admin.post(f"/api/v1/tenants/{slug}/staff", json={"email": email, "full_name": "Admin Daerah",
                                                          "password": "password-123", "roles": ["tenant_admin"]})
    assert r.status_code == 201, r.text
    return slug, email
