"""What the gateway refuses without asking a service: a deactivated account, a signed-out token (until it would
have expired anyway); and the bounded cache of applicants' names."""
import time

import pytest

from gateway.cache import AccountNames, TenantCache
from mppi.runtime import tokens

SECRET = b"s" * 32


def _principal(account_id: str = "a1"):
    return tokens.verify(SECRET, tokens.issue(SECRET, account_id=account_id, roles=["citizen"], tenant=None, ttl=60))


def test_a_signed_out_token_is_refused_and_the_accounts_other_tokens_are_not():
    cache = TenantCache()
    phone, laptop = _principal(), _principal()
    cache.revoke(phone.jti, phone.expires_at)
    assert cache.refuses(phone) and not cache.refuses(laptop)
    cache.deactivated.add("a1")
    assert cache.refuses(laptop)


def test_the_snapshot_carries_tokens_signed_out_before_the_gateway_started():
    cache = TenantCache()
    p = _principal()
    cache.load_snapshot([], [], [{"jti": p.jti, "expires_at": p.expires_at}])
    assert cache.refuses(p)


def test_expired_revocations_are_forgotten(monkeypatch):
    cache = TenantCache()
    for i in range(1000):
        cache.revoke(f"old-{i}", time.time() + 30)
    later = time.time() + 120
    monkeypatch.setattr("gateway.cache.time.time", lambda: later)
    cache.revoke("new", later + 30)
    assert list(cache.revoked) == ["new"]


def test_names_are_asked_once_and_the_least_recently_used_leaves_first():
    asked = []
    names = AccountNames(size=2)

    def fetch(account_id):
        asked.append(account_id)
        return f"Warga {account_id}"

    assert names.get("a", fetch) == "Warga a" and names.get("a", fetch) == "Warga a"
    names.get("b", fetch)
    names.get("a", fetch)
    names.get("c", fetch)  # b was used least recently
    names.get("a", fetch)
    names.get("b", fetch)
    assert asked == ["a", "b", "c", "b"]


def test_a_name_that_cannot_be_fetched_is_not_kept():
    names = AccountNames()

    def down(account_id):
        raise RuntimeError("tenants not answering")

    with pytest.raises(RuntimeError):
        names.get("a", down)
    assert names.get("a", lambda account_id: "Siti") == "Siti"
