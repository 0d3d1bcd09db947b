"""The concurrent runner: many parents at once, within the limits, one token, failures kept per parent."""

import threading

import pytest
from django.conf import settings

from contacts.models import ExternalContact, RefreshTrigger
from contacts.sandbox.school import build_school
from contacts.sandbox.server import SandboxServer
from contacts.services.ratelimit import SharedRateLimiter
from contacts.services.runner import MAX_ATTEMPTS, refresh_concurrently
from contacts.wecom.client import WeComClient

# Threads write through their own database connections: the test's data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

START = 960_000.0  # the start of a minute, so that minutes counted from here are the limiter's windows


class FakeClock:
    """Sleeping takes no real time: it only moves this clock on."""

    def __init__(self) -> None:
        self.now = START
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(seconds, 0)


@pytest.fixture
def slow_wecom(settings):
    """The simulator answering after 50 ms, so that parents refreshed at once overlap."""
    server = SandboxServer(
        school=build_school(parents=30, seed=1),
        corp_id=settings.WECOM_CORP_ID,
        secret=settings.WECOM_SECRET,
        latency_ms=50,
    ).start()
    settings.WECOM_API_BASE = server.url
    yield server
    server.stop()


@pytest.fixture
def clock():
    return FakeClock()


def client_for(server: SandboxServer, clock: FakeClock, *, per_minute: int = 10_000) -> WeComClient:
    return WeComClient(
        corp_id=settings.WECOM_CORP_ID,
        secret=settings.WECOM_SECRET,
        api_base=server.url,
        timeout=5,
        backoff=0,
        rate_limiter=SharedRateLimiter(per_minute=per_minute, clock=clock.time, sleep=clock.sleep),
    )


def reachable(server: SandboxServer) -> list[str]:
    return server.school.external_userids(include_lost=False)


def test_parents_are_refreshed_at_once_but_never_more_than_the_concurrency(slow_wecom, settings):
    settings.WECOM_CONCURRENCY = 4
    parents = reachable(slow_wecom)

    summary = refresh_concurrently(external_userids=parents, trigger=RefreshTrigger.JOB)

    assert (summary.total, summary.refreshed, summary.created, summary.failed) == (len(parents),) * 3 + (0,)
    stats = slow_wecom.stats
    assert 1 < stats["max_in_flight"] <= 4
    assert stats["calls"]["externalcontact/get"] == len(parents)
    assert ExternalContact.objects.count() == len(parents)


def test_all_threads_share_one_access_token(slow_wecom, settings):
    settings.WECOM_CONCURRENCY = 8

    refresh_concurrently(external_userids=reachable(slow_wecom), trigger=RefreshTrigger.JOB)

    assert slow_wecom.stats["gettoken"] == 1


def test_the_call_budget_holds_across_the_threads(sandbox, clock):
    parents = reachable(sandbox)[:12]
    client = client_for(sandbox, clock, per_minute=5)

    summary = refresh_concurrently(external_userids=parents, trigger=RefreshTrigger.JOB, client=client, concurrency=4)

    assert summary.refreshed == 12
    # 12 calls at 5 a minute: the last ones had to wait for the third minute.
    assert clock.now - START >= 120


def test_a_rate_limited_parent_slows_everybody_down_and_is_refreshed_later(sandbox, clock):
    parents = reachable(sandbox)
    sandbox.set_fault(parents[3], "45009:1")

    summary = refresh_concurrently(
        external_userids=parents, trigger=RefreshTrigger.JOB, client=client_for(sandbox, clock), concurrency=4
    )

    assert summary.failed == 0
    assert summary.refreshed == len(parents)
    assert summary.retries == 1
    assert clock.now - START >= 60  # everybody waited out WeCom's window
    assert ExternalContact.objects.filter(external_userid=parents[3], last_error="").exists()


def test_too_many_concurrent_calls_after_the_clients_retries_pauses_briefly_and_tries_again(sandbox, clock):
    parents = reachable(sandbox)
    sandbox.set_fault(parents[0], "45033:3")  # the client's three tries all fail

    summary = refresh_concurrently(
        external_userids=parents, trigger=RefreshTrigger.JOB, client=client_for(sandbox, clock), concurrency=4
    )

    assert (summary.failed, summary.retries, summary.refreshed) == (0, 1, len(parents))
    assert clock.now - START >= 5


def test_a_parent_that_stays_rate_limited_fails_after_a_bounded_number_of_tries(sandbox, clock):
    parents = reachable(sandbox)
    sandbox.set_fault(parents[0], "45009")
    failures = []

    summary = refresh_concurrently(
        external_userids=parents,
        trigger=RefreshTrigger.JOB,
        client=client_for(sandbox, clock),
        concurrency=4,
        on_outcome=lambda outcome: outcome.error and failures.append(outcome),
    )

    assert summary.failed == 1
    assert summary.retries == MAX_ATTEMPTS - 1
    assert summary.refreshed == len(parents) - 1
    assert [(f.external_userid, f.error.errcode) for f in failures] == [(parents[0], 45009)]
    assert sandbox.stats["errcodes"]["45009"] == MAX_ATTEMPTS


def test_a_lost_parent_is_reported_and_the_others_are_refreshed(sandbox, clock):
    everybody = sandbox.school.external_userids()
    lost = sandbox.school.lost_external_userids()
    failures = []

    summary = refresh_concurrently(
        external_userids=everybody,
        trigger=RefreshTrigger.JOB,
        client=client_for(sandbox, clock),
        concurrency=4,
        on_outcome=lambda outcome: outcome.error and failures.append(outcome),
    )

    assert summary.failed == len(lost) >= 1
    assert summary.refreshed == len(everybody) - len(lost)
    assert summary.stopped_by is None
    assert {f.external_userid for f in failures} == set(lost)
    assert {f.error.errcode for f in failures} == {84061}


def test_a_configuration_error_stops_the_run_and_counts_the_rest_as_not_tried(sandbox, clock):
    sandbox.set_fault_rate(1.0, ["48002"])  # the app lost its 家校沟通 permission
    parents = reachable(sandbox)

    summary = refresh_concurrently(
        external_userids=parents, trigger=RefreshTrigger.JOB, client=client_for(sandbox, clock), concurrency=4
    )

    assert summary.stopped_by is not None and summary.stopped_by.errcode == 48002
    assert summary.refreshed == 0
    assert 1 <= summary.failed <= 4  # those already under way when the first one failed
    assert summary.skipped == len(parents) - summary.failed
    assert sandbox.stats["calls"]["externalcontact/get"] <= 4


def test_outcomes_reach_the_callback_one_at_a_time_and_each_parent_once(slow_wecom, clock):
    parents = reachable(slow_wecom)
    inside, seen, overlaps = threading.Lock(), [], []

    def on_outcome(outcome):
        if not inside.acquire(blocking=False):
            overlaps.append(outcome.external_userid)
            return
        try:
            seen.append(outcome.external_userid)
        finally:
            inside.release()

    refresh_concurrently(
        external_userids=parents + parents[:5],  # a repeated id is refreshed once
        trigger=RefreshTrigger.JOB,
        client=client_for(slow_wecom, clock),
        concurrency=6,
        on_outcome=on_outcome,
    )

    assert overlaps == []
    assert sorted(seen) == sorted(parents)


def test_with_a_concurrency_of_one_the_work_runs_in_the_calling_thread(sandbox, clock):
    threads = set()

    refresh_concurrently(
        external_userids=reachable(sandbox)[:3],
        trigger=RefreshTrigger.JOB,
        client=client_for(sandbox, clock),
        concurrency=1,
        on_outcome=lambda outcome: threads.add(threading.get_ident()),
    )

    assert threads == {threading.get_ident()}
