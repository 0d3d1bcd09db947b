"""The WeCom client takes its turn from the shared rate limiter before each call."""

import pytest

from contacts.services.ratelimit import MAX_WAIT_IN_A_CALL, SharedRateLimiter
from contacts.wecom.client import WeComClient, get_client
from contacts.wecom.errors import WeComError

from .conftest import API


class CountingLimiter:
    def __init__(self) -> None:
        self.acquired = 0

    def acquire(self) -> None:
        self.acquired += 1


def client_with(limiter) -> WeComClient:
    return WeComClient(
        corp_id="wwtestcorp", secret="test-app-secret-do-not-leak", api_base=API, timeout=2, backoff=0,
        rate_limiter=limiter,
    )


def test_every_call_takes_a_turn_but_gettoken_does_not(wecom, seed_answer):
    wecom.answers(seed_answer)
    limiter = CountingLimiter()

    client_with(limiter).get_external_contact("woAAAA")

    assert len(wecom.rsps.calls) == 2  # gettoken, then the contact
    assert limiter.acquired == 1


def test_each_retry_takes_a_turn_of_its_own(wecom):
    wecom.fails("wmBUSY", -1)
    limiter = CountingLimiter()

    with pytest.raises(WeComError):
        client_with(limiter).get_external_contact("wmBUSY")

    assert wecom.contact_calls() == 3
    assert limiter.acquired == 3


def test_the_settings_client_shares_a_limiter_of_both_budgets(settings):
    settings.WECOM_RATE_PER_MINUTE = 1200
    settings.WECOM_RATE_PER_HOUR = 50_000

    limiter = get_client().rate_limiter

    assert isinstance(limiter, SharedRateLimiter)
    assert (limiter.per_minute, limiter.per_hour) == (1200, 50_000)
    assert limiter.max_wait is None


@pytest.mark.parametrize("budget", [0, -5])
def test_a_rate_of_zero_or_less_means_no_budget(settings, budget):
    settings.WECOM_RATE_PER_MINUTE = budget
    settings.WECOM_RATE_PER_HOUR = budget

    assert get_client().rate_limiter.unlimited


def test_a_client_for_a_web_request_waits_only_briefly_for_its_turn():
    assert get_client(max_wait=MAX_WAIT_IN_A_CALL).rate_limiter.max_wait == MAX_WAIT_IN_A_CALL <= 5
