"""The sign-in rule: only failures count, per account and client network; a clean network is never refused; a guess
spread over many networks is slowed; the holder is told once per period. Pure code, no broker."""
from datetime import UTC, datetime, timedelta

from services.tenants.dependencies import sign_in_policy
from services.tenants.domain.sign_in import RecentFailures, SignInPolicy, email_key, refusal, tell_holder

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
POLICY = SignInPolicy(failures=10, window=timedelta(seconds=300))


def _ago(*seconds: int) -> list[datetime]:
    return sorted(NOW - timedelta(seconds=s) for s in seconds)


def test_a_clean_network_is_never_refused_however_many_failures_the_account_has():
    assert refusal(POLICY, RecentFailures(from_network=[], for_account=10), NOW) is None
    assert refusal(POLICY, RecentFailures(from_network=[], for_account=10_000), NOW) is None


def test_a_network_is_refused_after_its_own_failures_until_the_oldest_leaves_the_window():
    nine = RecentFailures(from_network=_ago(*range(100, 109)), for_account=9)
    assert refusal(POLICY, nine, NOW) is None
    ten = RecentFailures(from_network=_ago(*range(100, 110)), for_account=10)
    # the network's ten failures fill the account's count too: under attack, each network gets a third, so its
    # eight oldest must age out
    assert refusal(POLICY, ten, NOW) == 300 - 102
    alone = SignInPolicy(failures=10, window=timedelta(seconds=300))
    assert refusal(alone, RecentFailures(from_network=_ago(*range(100, 110)), for_account=9), NOW) == 300 - 109


def test_a_guess_spread_over_many_networks_gives_each_network_a_third_of_the_tries():
    under_attack = RecentFailures(from_network=_ago(250, 200, 30), for_account=10)
    assert POLICY.under_attack == 3
    assert refusal(POLICY, under_attack, NOW) == 300 - 250  # the network's oldest failure must age out first
    assert refusal(POLICY, RecentFailures(from_network=_ago(30, 20), for_account=10), NOW) is None
    assert refusal(POLICY, RecentFailures(from_network=_ago(30, 20, 10), for_account=3), NOW) is None


def test_nothing_is_refused_when_limits_are_off():
    off = sign_in_policy("off")
    assert not off.refuse and off.failures == 10 and off.window == timedelta(seconds=300)  # still told
    assert refusal(off, RecentFailures(from_network=_ago(*range(50)), for_account=50), NOW) is None


def test_the_account_rule_of_mppi_rate_limits_is_the_policy():
    assert sign_in_policy("auth=60/60,account=5/120,api=600/60") == SignInPolicy(
        failures=5, window=timedelta(seconds=120))
    assert sign_in_policy("auth=4/600") == SignInPolicy(failures=4, window=timedelta(seconds=600))  # auth's rate
    assert not sign_in_policy("api=600/60").refuse


def test_the_holder_is_told_past_the_count_and_then_not_again_for_an_hour():
    assert not tell_holder(POLICY, 9, None, NOW)
    assert tell_holder(POLICY, 10, None, NOW)
    assert not tell_holder(POLICY, 10, NOW - timedelta(minutes=59), NOW)
    assert tell_holder(POLICY, 10, NOW - timedelta(minutes=60), NOW)
    long = SignInPolicy(failures=3, window=timedelta(hours=2))
    assert not tell_holder(long, 3, NOW - timedelta(minutes=90), NOW)  # once per window when that is longer


def test_failures_are_kept_under_a_hash_of_the_email_tried():
    assert email_key("siti@example.id") == email_key("siti@example.id") != email_key("andi@example.id")
    assert "siti" not in email_key("siti@example.id") and len(email_key("x@y.z")) == 64
