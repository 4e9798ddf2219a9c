"""The local demo's configuration (`make run`: SQLite files under var/): the whole journey works there too."""
import pytest
from journeys import apply, make_region, new_citizen, work_through
from support import Client, wait_for

from devtools.platform import Platform, Vhost, free_port
from mppi.runtime.settings import SERVICES


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    var = tmp_path_factory.mktemp("demo")
    vhost = Vhost()  # its own: services on a shared vhost would answer each other's RPCs
    vhost.create()
    try:
        with Platform(var_dir=var, amqp_uri=vhost.amqp_uri, gateway_port=free_port(),
                      database_urls={s: f"sqlite:///{var}/{s}.db" for s in SERVICES}).running() as p:
            yield p
    finally:
        vhost.delete()


def test_a_citizen_is_served_end_to_end_on_sqlite(demo):
    anon = Client(demo.base_url)
    admin = anon.login(demo.admin_email, demo.admin_password)
    region = make_region(admin, "17.09")
    warga, _ = new_citizen(anon)
    app = apply(warga, region)
    assert app.status_code == 201, app.text
    done = work_through(region, app.json())
    assert done["status"] == "completed" and done["output"]
    assert warga.get(done["output"]["url"]).content.startswith(b"%PDF-")
    wait_for(lambda: len(warga.get("/api/v1/me/notifications").json()["items"]) >= 5, message="notifications")
    due = warga.get(f"/api/v1/tenants/{region['slug']}/applications/{done['id']}").json()["sla_due_at"]
    assert due.endswith("+00:00")
    assert anon.get(f"/api/v1/tenants/{region['slug']}/stats").json()["applications"]["total"] == 1
