"""The one refresh engine of the admin's action, the commands and the jobs: many parents at once, within
the limits, one token, failures kept per parent, and WeCom's limit answers waited out only as long as the
policy says."""

import threading

import pytest
import requests
from django.conf import settings
from django.db import DatabaseError

from contacts.models import ExternalContact, FollowUser, RefreshTrigger
from contacts.sandbox.school import build_school
from contacts.sandbox.server import SandboxServer
from contacts.services.ratelimit import SharedRateLimiter
from contacts.services.runner import MAX_UNREACHABLE_IN_A_ROW, RateLimitPolicy, refresh_concurrently
from contacts.wecom.client import WeComClient
from contacts.wecom.errors import ErrorKind

JOB = RateLimitPolicy.for_job()

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


def run(server: SandboxServer, clock: FakeClock, external_userids, *, policy=JOB, concurrency=4, **options):
    """A run against the simulator, with a client whose limiter keeps the fake clock."""
    options.setdefault("trigger", RefreshTrigger.JOB)
    return refresh_concurrently(
        external_userids=external_userids,
        policy=policy,
        client=client_for(server, clock),
        concurrency=concurrency,
        **options,
    )


def test_parents_are_refreshed_at_once_but_never_more_than_the_concurrency(slow_wecom, settings):
    settings.WECOM_CONCURRENCY = 4
    parents = reachable(slow_wecom)

    summary = refresh_concurrently(external_userids=parents, trigger=RefreshTrigger.JOB, policy=JOB)

    assert (summary.total, summary.refreshed, summary.created, summary.failed) == (len(parents),) * 3 + (0,)
    stats = slow_wecom.stats
    assert 1 < stats["max_in_flight"] <= 4
    assert stats["calls"]["externalcontact/get"] == len(parents)
    assert ExternalContact.objects.count() == len(parents)


def test_all_threads_share_one_access_token(slow_wecom, settings):
    settings.WECOM_CONCURRENCY = 8

    refresh_concurrently(external_userids=reachable(slow_wecom), trigger=RefreshTrigger.JOB, policy=JOB)

    assert slow_wecom.stats["gettoken"] == 1


def test_the_call_budget_holds_across_the_threads(sandbox, clock):
    parents = reachable(sandbox)[:12]
    client = client_for(sandbox, clock, per_minute=5)

    summary = refresh_concurrently(
        external_userids=parents, trigger=RefreshTrigger.JOB, policy=JOB, client=client, concurrency=4
    )

    assert summary.refreshed == 12
    # 12 calls at 5 a minute: the last ones had to wait for the third minute.
    assert clock.now - START >= 120


def test_a_rate_limited_parent_slows_everybody_down_and_is_refreshed_later(sandbox, clock):
    parents = reachable(sandbox)
    sandbox.set_fault(parents[3], "45009:1")

    summary = run(sandbox, clock, parents)

    assert summary.failed == 0
    assert summary.refreshed == len(parents)
    assert summary.retries == 1
    assert clock.now - START >= 60  # everybody waited out WeCom's window
    assert ExternalContact.objects.filter(external_userid=parents[3], last_failure__isnull=True).exists()


def test_too_many_concurrent_calls_after_the_clients_retries_pauses_briefly_and_tries_again(sandbox, clock):
    parents = reachable(sandbox)
    sandbox.set_fault(parents[0], "45033:3")  # the client's three tries all fail

    summary = run(sandbox, clock, parents)

    assert (summary.failed, summary.retries, summary.refreshed) == (0, 1, len(parents))
    assert clock.now - START >= 5


def test_a_parent_wecom_keeps_limiting_is_left_for_later_never_failed(sandbox, clock):
    parents = reachable(sandbox)
    sandbox.set_fault(parents[0], "45009")
    failures = []

    summary = run(
        sandbox,
        clock,
        parents,
        concurrency=1,
        on_outcome=lambda outcome: outcome.error and failures.append(outcome),
    )

    assert (summary.refreshed, summary.failed, summary.left) == (len(parents) - 1, 0, 1)
    assert failures == []
    assert summary.gave_up_on_limits and summary.stopped_by.errcode == 45009
    # Tried once among the others, then alone once a minute until the job's patience ran out.
    assert sandbox.stats["errcodes"]["45009"] <= JOB.patience / JOB.limit_pause + 2


def test_a_lost_parent_is_reported_and_the_others_are_refreshed(sandbox, clock):
    everybody = sandbox.school.external_userids()
    lost = sandbox.school.lost_external_userids()
    failures = []

    summary = run(sandbox, clock, everybody, on_outcome=lambda outcome: outcome.error and failures.append(outcome))

    assert summary.failed == len(lost) >= 1
    assert summary.refreshed == len(everybody) - len(lost)
    assert summary.stopped_by is None
    assert {f.external_userid for f in failures} == set(lost)
    assert {f.error.errcode for f in failures} == {84061}


def test_a_configuration_error_stops_the_run_and_leaves_the_rest(sandbox, clock):
    sandbox.set_fault_rate(1.0, ["48002"])  # the app lost its 家校沟通 permission
    parents = reachable(sandbox)

    summary = run(sandbox, clock, parents)

    assert summary.stopped_by is not None and summary.stopped_by.errcode == 48002
    assert summary.refreshed == 0
    assert 1 <= summary.failed <= 4  # those already under way when the first one failed
    assert summary.left == len(parents) - summary.failed
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
        policy=JOB,
        client=client_for(slow_wecom, clock),
        concurrency=6,
        on_outcome=on_outcome,
    )

    assert overlaps == []
    assert sorted(seen) == sorted(parents)


def test_with_a_concurrency_of_one_the_work_runs_in_the_calling_thread(sandbox, clock):
    threads = set()

    run(
        sandbox,
        clock,
        reachable(sandbox)[:3],
        concurrency=1,
        on_outcome=lambda outcome: threads.add(threading.get_ident()),
    )

    assert threads == {threading.get_ident()}


# -- WeCom limiting every call: each policy ends ------------------------------------------------------------


def test_wecom_limiting_every_call_makes_a_command_give_up_within_two_minutes(sandbox, clock):
    sandbox.set_fault_rate(1.0, ["45009"])
    parents = reachable(sandbox)
    policy = RateLimitPolicy.for_command()

    summary = run(sandbox, clock, parents, policy=policy, trigger=RefreshTrigger.COMMAND, concurrency=1)

    assert clock.now - START <= 120
    assert (summary.refreshed, summary.failed, summary.left) == (0, 0, len(parents))
    assert summary.gave_up_on_limits and summary.stopped_by.errcode == 45009
    assert sandbox.stats["calls"]["externalcontact/get"] <= 3
    assert "请在" in summary.stop_reason() and "try again after" in summary.stop_reason()


def test_a_job_waits_out_ten_minutes_of_limits_announcing_each_pause_then_gives_up(sandbox, clock):
    sandbox.set_fault_rate(1.0, ["45009"])
    parents = reachable(sandbox)
    pauses = []

    summary = run(sandbox, clock, parents, policy=RateLimitPolicy.for_job(), concurrency=1, on_pause=pauses.append)

    assert 600 <= clock.now - START <= 660
    assert summary.left == len(parents) and summary.failed == 0
    assert summary.limited_for >= 540
    assert len(pauses) == 10
    assert all(pause.by_wecom for pause in pauses)
    assert [p.until.timestamp() - START for p in pauses] == [60.0 * n for n in range(1, 11)]


def test_a_web_request_gives_up_at_the_first_limit_and_pauses_the_others(sandbox, clock):
    sandbox.set_fault_rate(1.0, ["45009"])
    client = client_for(sandbox, clock)

    summary = refresh_concurrently(
        external_userids=reachable(sandbox)[:3],
        trigger=RefreshTrigger.STAFF,
        policy=RateLimitPolicy.for_staff(),
        client=client,
        concurrency=1,
    )

    assert clock.now == START  # no waiting at all
    assert (summary.left, summary.failed) == (3, 0)
    assert summary.next_try == START + 60
    assert sandbox.stats["calls"]["externalcontact/get"] == 1
    assert client.rate_limiter.paused_until() == START + 60  # jobs and commands pause too


def test_a_pause_in_force_holds_a_web_request_back_without_calling_wecom(sandbox, settings):
    client = WeComClient(
        corp_id=settings.WECOM_CORP_ID,
        secret=settings.WECOM_SECRET,
        api_base=sandbox.url,
        timeout=5,
        rate_limiter=SharedRateLimiter(per_minute=100, max_wait=5),
    )
    client.rate_limiter.pause(60)

    summary = refresh_concurrently(
        external_userids=reachable(sandbox)[:2],
        trigger=RefreshTrigger.STAFF,
        policy=RateLimitPolicy.for_staff(),
        client=client,
        concurrency=1,
    )

    assert summary.left == 2
    assert summary.stopped_by.by_wecom
    assert sandbox.stats["calls"].get("externalcontact/get", 0) == 0


# -- one set of rules for every caller (formerly the admin action's own loop) -------------------------------


def answer_for(seed_answer: dict, external_userid: str) -> dict:
    seed_answer["external_contact"]["external_userid"] = external_userid
    return seed_answer


STAFF = RateLimitPolicy.for_staff()


@pytest.mark.django_db
def test_a_failing_parent_does_not_stop_the_others(wecom, seed_answer):
    wecom.fails("wmONE", 84061)
    wecom.answers(answer_for(seed_answer, "wmTWO"))
    outcomes = []

    summary = refresh_concurrently(
        external_userids=["wmONE", "wmTWO"], trigger=RefreshTrigger.STAFF, policy=STAFF, concurrency=1,
        on_outcome=outcomes.append,
    )

    assert (summary.refreshed, summary.failed, summary.left) == (1, 1, 0)
    assert [o.external_userid for o in outcomes] == ["wmONE", "wmTWO"]
    assert outcomes[0].error.errcode == 84061


@pytest.mark.django_db
def test_it_stops_when_wecom_stays_unreachable(wecom):
    ids = [f"wm{i:04d}" for i in range(MAX_UNREACHABLE_IN_A_ROW + 3)]
    for external_userid in ids:
        wecom.sends(external_userid, requests.exceptions.ConnectTimeout("down"))

    summary = refresh_concurrently(external_userids=ids, trigger=RefreshTrigger.STAFF, policy=STAFF, concurrency=1)

    assert summary.failed == MAX_UNREACHABLE_IN_A_ROW
    assert summary.left == 3
    assert summary.stopped_by.kind is ErrorKind.TRANSIENT
    assert "3 left for a later run" in str(summary)


@pytest.mark.django_db
def test_a_database_failure_on_one_parent_is_reported_and_the_run_goes_on(wecom, seed_answer, monkeypatch):
    wecom.answers(answer_for(seed_answer, "wmONE"))
    original = FollowUser.objects.bulk_create
    calls = {"n": 0}

    def fail_first_time(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise DatabaseError("disk full")
        return original(*args, **kwargs)

    # The database is the edge here: it refuses the first write.
    monkeypatch.setattr(FollowUser.objects, "bulk_create", fail_first_time)
    outcomes = []
    second = dict(seed_answer, external_contact=dict(seed_answer["external_contact"], external_userid="wmTWO"))
    wecom.answers(second)

    summary = refresh_concurrently(
        external_userids=["wmONE", "wmTWO"], trigger=RefreshTrigger.STAFF, policy=STAFF, concurrency=1,
        on_outcome=outcomes.append,
    )

    assert (summary.refreshed, summary.failed) == (1, 1)
    assert "保存家长时发生内部错误" in outcomes[0].error.describe()
    assert "disk full" not in outcomes[0].error.describe()
