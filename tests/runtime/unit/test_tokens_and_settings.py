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


def test_a_token_carries_an_id_and_no_personal_data():
    secret = b"n" * 32
    t = tokens.issue(secret, account_id="a1", roles=["citizen"], tenant=None, ttl=60)
    claims = jwt.decode(t, options={"verify_signature": False})  # anyone holding the token reads this
    assert set(claims) == {"sub", "roles", "tenant", "iat", "exp", "iss", "jti"}
    p = tokens.verify(secret, t)
    assert p.jti == claims["jti"] and p.expires_at == claims["exp"]
    # a token without an id could never be signed out: refused
    no_id = jwt.encode({k: v for k, v in claims.items() if k != "jti"}, secret, algorithm="HS256")
    assert tokens.verify(secret, no_id) is None


def test_a_rate_limited_error_keeps_its_wait_across_the_rpc():
    from nameko.exceptions import deserialize, serialize

    from mppi.contracts.errors import RateLimited

    back = deserialize(serialize(RateLimited("too many failed sign-ins; try again in 42 s", retry_after=42)))
    assert isinstance(back, RateLimited) and back.retry_after == 42 and back.detail.endswith("42 s")


def test_a_token_checked_once_is_still_refused_once_it_expires(monkeypatch):
    secret = b"e" * 32
    t = tokens.issue(secret, account_id="a2", roles=["citizen"], tenant=None, ttl=60)
    assert tokens.verify(secret, t).account_id == "a2"  # checked and remembered
    later = time.time() + 61
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    assert tokens.verify(secret, t) is None


def test_refused_tokens_are_not_remembered_so_garbage_cannot_evict_good_ones():
    secret = b"g" * 32
    tokens._checked.cache_clear()
    good = tokens.issue(secret, account_id="a3", roles=["citizen"], tenant=None, ttl=60)
    assert tokens.verify(secret, good).account_id == "a3"
    for i in range(100):
        assert tokens.verify(secret, f"garbage.{i}.x" + "A" * 4000) is None
    info = tokens._checked.cache_info()
    assert info.currsize == 1 and info.misses == 101


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


def test_an_https_platform_refuses_to_generate_its_own_keys(tmp_path, monkeypatch):
    for name in ("MPPI_TOKEN_SECRET", "MPPI_SIGNING_SECRET", "MPPI_DATA_KEY"):
        monkeypatch.delenv(name, raising=False)
    cfg = settings.load({"MPPI_VAR_DIR": str(tmp_path), "MPPI_PUBLIC_URL": "https://layanan.example.go.id"})
    for key in (cfg.token_secret, cfg.signing_secret, cfg.data_keys):
        with pytest.raises(SystemExit, match="must be set when MPPI_PUBLIC_URL is https"):
            key()
    new, old = "n" * 32, "o" * 40
    monkeypatch.setenv("MPPI_DATA_KEY", f"{new},{old}")
    assert cfg.data_keys() == [new.encode(), old.encode()]
    local = settings.load({"MPPI_VAR_DIR": str(tmp_path), "MPPI_PUBLIC_URL": "http://127.0.0.1:8000"})
    assert local.token_secret() == local.token_secret() and len(local.token_secret()) >= 32


@pytest.mark.parametrize("name", ["MPPI_TOKEN_SECRET", "MPPI_SIGNING_SECRET", "MPPI_DATA_KEY"])
def test_a_short_secret_or_the_templates_placeholder_is_refused_at_start(tmp_path, monkeypatch, name):
    cfg = settings.load({"MPPI_VAR_DIR": str(tmp_path)})
    read = {"MPPI_TOKEN_SECRET": cfg.token_secret, "MPPI_SIGNING_SECRET": cfg.signing_secret,
            "MPPI_DATA_KEY": cfg.data_keys}[name]
    for bad, why in (("short", "at least 32 bytes"), ("REPLACE_ME_TOKEN_SECRET_" + "x" * 20, "placeholder"),
                     ("g" * 40 + ",short", "at least 32 bytes")):
        monkeypatch.setenv(name, bad)
        if "," in bad and name != "MPPI_DATA_KEY":
            continue
        with pytest.raises(SystemExit, match=why):
            read()
    monkeypatch.setenv(name, "s" * 32)
    assert read() in (b"s" * 32, [b"s" * 32])
