"""Token buckets per client, with an injected clock."""
import pytest

from gateway import ratelimit
from gateway.ratelimit import RateLimiter, client_key
from mppi.contracts.errors import RateLimited


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_sixty_auth_requests_a_minute_pass_and_the_next_is_refused_until_a_token_refills():
    clock = Clock()
    limiter = RateLimiter("auth=60/60,api=600/60", clock=clock)
    for _ in range(60):
        limiter.check("auth", "10.0.0.1")
    with pytest.raises(RateLimited) as err:
        limiter.check("auth", "10.0.0.1")
    assert err.value.retry_after == 1
    limiter.check("auth", "10.0.0.2")  # another client has its own bucket
    clock.now += 1.0
    limiter.check("auth", "10.0.0.1")


def test_off_disables_every_limit():
    limiter = RateLimiter("off")
    for _ in range(10_000):
        limiter.check("auth", "k")


def test_the_account_rule_takes_the_auth_rate_unless_given_its_own():
    # the rule of failed sign-ins, which the tenants service counts (services.tenants.domain.sign_in)
    assert ratelimit.parse_rules("auth=3/60")["account"] == ratelimit.parse_rules("auth=3/60")["auth"]
    assert ratelimit.parse_rules("auth=60/60,account=2/60")["account"].capacity == 2


def test_an_ipv6_client_is_one_key_for_its_whole_64():
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("198.51.100.7") == "198.51.100.7"


def test_a_flood_of_new_keys_does_not_refill_a_bucket_in_use(monkeypatch):
    monkeypatch.setattr(ratelimit, "MAX_KEYS", 100)
    limiter = RateLimiter("auth=2/3600", clock=Clock())
    limiter.check("auth", "account:victim")
    limiter.check("auth", "account:victim")
    for i in range(500):  # an attacker's many addresses
        limiter.check("auth", f"10.0.{i // 256}.{i % 256}")
        if i % 50 == 0:
            with pytest.raises(RateLimited):
                limiter.check("auth", "account:victim")  # still empty: recently used, never forgotten


def test_accounts_behind_one_address_share_a_ceiling_of_ten_accounts_worth():
    """Ten accounts made by one client got ten times the API limit (pen-test finding 7): every API request also takes
    from its address's bucket, ten times ``api`` (carrier-grade NAT puts many honest citizens behind one address)."""
    limiter = RateLimiter("api=5/60", clock=Clock())

    def request(account: str, address: str) -> None:  # as Gateway.dispatch takes them
        limiter.check("api", account)
        limiter.check("address", address)

    for n in range(ratelimit.ADDRESS_TIMES_API):
        for _ in range(5):
            request(f"account-{n}", "203.0.113.7")
    with pytest.raises(RateLimited):
        request("account-new", "203.0.113.7")  # its own bucket is full, its address's is empty
    request("account-new", "203.0.113.8")  # the same account from elsewhere
    with pytest.raises(RateLimited):
        limiter.check("api", "account-0")  # and one account alone still has its own limit
