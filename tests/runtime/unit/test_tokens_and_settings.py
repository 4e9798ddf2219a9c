"""Tokens, settings and request parsing: pure code, no broker."""
import threading
import time

import jwt
import pytest

from mppi.contracts.errors import ValidationFailed, parse
from mppi.contracts.tenants import TenantCreate
from mppi.runtime import settings, tokens


def test_a_token_round_trips_and_tampering_or_expiry_is_refused():
    secret = b"k" * 32
    t = tokens.issue(secret, account_id="a1", roles=["verifier"], tenant="sinjai", ttl=60)
    p = tokens.verify(secret, t)
    assert (p.account_id, p.roles, p.tenant) == ("a1", ("verifier",), "sinjai")
    assert tokens.verify(b"other" * 8, t) is None
    expired = jwt.encode({"sub": "a1", "roles": [], "iat": 0, "exp": int(time.time()) - 1, "iss": "mppi"}, secret)
    assert tokens.verify(secret, expired) is None
    unsigned = jwt.encode({"sub": "a1", "roles": ["platform_admin"], "iat": 0, "exp": 2**40, "iss": "mppi"},
                          None, algorithm="none")
    assert tokens.verify(secret, unsigned) is None


def test_a_token_checked_once_is_still_refused_once_it_expires(monkeypatch):
    secret = b"e" * 32
    t = tokens.issue(secret, account_id="a2", roles=["citizen"], tenant=None, ttl=60)
    assert tokens.verify(secret, t).account_id == "a2"  # checked and remembered
    later = time.time() + 61
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    assert tokens.verify(secret, t) is None


def test_processes_starting_together_share_one_generated_token_key(tmp_path):
    cfg = settings.load({"MPPI_VAR_DIR": str(tmp_path)})
    keys = []
    threads = [threading.Thread(target=lambda: keys.append(cfg.token_secret())) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(set(keys)) == 1 and len(keys[0]) >= 32


def test_defaults_use_sqlite_under_the_var_dir(tmp_path):
    cfg = settings.load({"MPPI_VAR_DIR": str(tmp_path)})
    assert cfg.database_url("tenants") == f"sqlite:///{tmp_path}/tenants.db"
    assert cfg.public_url == "http://127.0.0.1:8000"
    cfg = settings.load({"TENANTS_DATABASE_URL": "postgresql://db/tenants"})
    assert cfg.database_url("tenants") == "postgresql://db/tenants"


def test_parse_names_every_bad_field_and_refuses_nul():
    with pytest.raises(ValidationFailed) as err:
        parse(TenantCreate, {"slug": "A B", "region_code": 7307})
    assert {tuple(e["loc"]) for e in err.value.errors} == {("body", "slug"), ("body", "region_code")}
    with pytest.raises(ValidationFailed) as err:
        parse(TenantCreate, {"slug": "sinjai", "region_code": "73.07", "name": "a\x00b"})
    assert err.value.errors[0]["loc"] == ["body", "name"]
