"""Webhook secrets and provider tokens are kept sealed in the real database (PostgreSQL): the migration seals the
rows written before it, what is stored is not the secret, and signing and sending still work with it."""
import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from alembic import command

from devtools.platform import Databases
from mppi.runtime import migrations
from mppi.runtime.database import make_engine, uow_factory
from services.notifications import channels, orm, sealed, subscriptions

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
TOKEN = "provider-token-123456"


@pytest.fixture
def database():
    dbs = Databases(services=["notifications"])
    dbs.create()
    yield dbs.urls["notifications"]
    dbs.drop()


@pytest.fixture
def receiver():
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            calls.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls
    server.shutdown()


def _stored(engine) -> tuple[str, dict]:
    with engine.connect() as conn:
        return (conn.execute(sa.select(orm.subscriptions.c.secret)).scalar_one(),
                conn.execute(sa.select(orm.tenant_channels.c.config)).scalar_one())


def test_the_migration_seals_what_was_kept_in_clear_and_sending_still_works(database, receiver):
    url, calls = receiver
    command.upgrade(migrations.alembic_config("notifications", database), "noti0004")
    engine = make_engine(database, pool_size=1)
    try:
        with engine.begin() as conn:  # what the service wrote before secrets were sealed
            conn.execute(orm.subscriptions.insert().values(
                id="sub1", tenant="sinjai", kind="webhook", status="active", url=url + "/hook", secret=SECRET,
                created_at=sa.func.now()))
            conn.execute(orm.tenant_channels.insert().values(
                tenant="sinjai", config={"email": True, "sms": {"url": url + "/sms", "token": TOKEN, "sender": "M"},
                                         "whatsapp": None}, updated_at=sa.func.now()))

        migrations.upgrade("notifications", database)

        secret, config = _stored(engine)
        assert SECRET not in secret and sealed.unseal(secret) == SECRET
        assert TOKEN not in json.dumps(config) and sealed.unseal(config["sms"]["token_sealed"]) == TOKEN
        uow = uow_factory(engine, source="notifications", metadata=orm.metadata)
        assert channels.get("sinjai", uow=uow)["sms"]["token"] == "••••3456"

        subscriptions.enqueue("sinjai", {"id": "e1", "type": "id.mppi.application.submitted.v1", "data": {}},
                              uow=uow)
        subscriptions.deliver_due(uow=uow, allow_private=True)
        with uow() as u:
            channels.send_by_provider(channels.config_of(u, "sinjai")["sms"], to="+62812", text="hai",
                                      message_id="m1", allow_private=True)
        (hook_headers, body), (sms_headers, _) = calls
        signed = f"{hook_headers['webhook-id']}.{hook_headers['webhook-timestamp']}.".encode() + body
        key = base64.b64decode(SECRET.removeprefix("whsec_"))
        assert hook_headers["webhook-signature"] == \
            "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        assert sms_headers["Authorization"] == f"Bearer {TOKEN}"

        command.downgrade(migrations.alembic_config("notifications", database), "noti0004")
        assert _stored(engine) == (SECRET, {"email": True, "sms": {"url": url + "/sms", "token": TOKEN,
                                                                   "sender": "M"}, "whatsapp": None})
    finally:
        engine.dispose()


TEST_KEY = "test-data-key-kkkkkkkkkkkkkkkkkkkkkkkk"  # what tests/notifications/conftest.py sets
OTHER_KEY = "another-key-aaaaaaaaaaaaaaaaaaaaaaaa"


def test_a_secret_sealed_under_another_key_is_not_opened(monkeypatch):
    stored = sealed.seal(SECRET)
    monkeypatch.setenv("MPPI_DATA_KEY", OTHER_KEY)
    with pytest.raises(sealed.Unreadable):
        sealed.unseal(stored)
    monkeypatch.setenv("MPPI_DATA_KEY", f"{OTHER_KEY},{TEST_KEY}")  # rotating: the old key still opens
    assert sealed.unseal(stored) == SECRET
