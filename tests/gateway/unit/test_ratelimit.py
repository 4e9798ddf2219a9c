"""Token buckets per client, with an injected clock."""
import pytest

from gateway.ratelimit import RateLimiter
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
