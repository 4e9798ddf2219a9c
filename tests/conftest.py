"""Test fixtures. eventlet is patched first (nameko 2.14's pytest plugin no longer does it). Integration fixtures
give each run its own RabbitMQ vhost and PostgreSQL databases and start the real processes."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # it announces its bugfix-only mode

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402
from support import Client  # noqa: E402

from devtools.platform import Databases, Platform, Vhost  # noqa: E402

os.environ.setdefault("PYTHONWARNINGS", "ignore")


@pytest.fixture(scope="session")
def vhost():
    v = Vhost()
    v.create()
    yield v
    v.delete()


@pytest.fixture(scope="session")
def databases():
    d = Databases()
    d.create()
    yield d
    d.drop()


@pytest.fixture(scope="session")
def platform(vhost, databases, tmp_path_factory):
    with Platform(var_dir=tmp_path_factory.mktemp("var"), amqp_uri=vhost.amqp_uri,
                  database_urls=databases.urls).running() as p:
        yield p


@pytest.fixture(scope="session")
def anon(platform) -> Client:
    return Client(platform.base_url)


@pytest.fixture(scope="session")
def admin(platform, anon) -> Client:
    return anon.login(platform.admin_email, platform.admin_password)


REGION_CODES = iter(["11.01", "11.02", "11.03", "11.04", "11.05", "11.06", "11.07", "11.08", "11.09", "11.10",
                     "12.01", "12.02", "12.03", "12.04", "12.05", "12.06", "12.07", "12.08", "12.09", "12.10"])


@pytest.fixture
def new_tenant(admin):
    """Make a fresh tenant (a region not used by another test) with a tenant admin; returns (slug, admin client)."""

    def make(region_code: str | None = None):
        code = region_code or next(REGION_CODES)
        slug = f"t-{uuid.uuid4().hex[:8]}"
        r = admin.post("/api/v1/tenants", json={"slug": slug, "region_code": code})
        assert r.status_code == 201, r.text
        email = f"admin-{slug}@example.id"
        r = admin.post(f"/api/v1/tenants/{slug}/staff",
                       json={"email": email, "full_name": "Admin", "password": "password-123",
                             "roles": ["tenant_admin"]})
        assert r.status_code == 201, r.text
        return slug, Client(admin.base_url).login(email, "password-123")

    return make
