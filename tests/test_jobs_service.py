"""Background jobs: start, list the parents, refresh them in chunks, finish once; one active job per kind."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from contacts.models import (
    ExternalContact,
    JobItemStatus,
    JobKind,
    JobStatus,
    PauseReason,
    RefreshTrigger,
    SyncJob,
)
from contacts.selectors import job_progress
from contacts.services import jobs
from contacts.services.job_errors import job_error_text
from contacts.services.jobs import JobAlreadyActive, finish_job_if_done, run_job_chunk, start_job
from contacts.services.roster import sync_roster
from contacts.texts import error_text
from contacts.wecom.client import get_client
from tests.job_factories import running_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _one_at_a_time(settings):
    # In the test's own thread and transaction; tests/test_jobs_runner.py covers the threads.
    settings.WECOM_CONCURRENCY = 1


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(username="teacher-wang", password="x", is_staff=True)


def store(*external_userids, refreshed_ago: dt.timedelta | None = dt.timedelta(minutes=5)) -> None:
    at = timezone.now() - refreshed_ago if refreshed_ago is not None else None
    ExternalContact.objects.bulk_create(
        ExternalContact(external_userid=external_userid, last_refreshed_at=at) for external_userid in external_userids
    )


def item_ids(job: SyncJob) -> list[str]:
    return list(job.items.order_by("external_userid").values_list("external_userid", flat=True))


def test_sync_school_refreshes_the_roster_and_the_stored_parents_each_once(sandbox, staff):
    reachable = sandbox.school.external_userids(include_lost=False)
    store(reachable[0], "wmNOLONGERINWECOM")

    job = start_job(kind=JobKind.SYNC_SCHOOL, user=staff)

    roster = sync_roster(client=get_client()).external_userids
    assert job.status == JobStatus.FINISHED
    assert job.started_at <= job.finished_at
    assert item_ids(job) == sorted({*roster, "wmNOLONGERINWECOM"})
    lost = set(sandbox.school.lost_external_userids()) & set(roster)
    progress = job_progress(job=job)
    assert progress.total == len(roster) + 1
    assert progress.failed == len(lost) + 1  # the lost parents, and the id WeCom no longer knows
    assert progress.done == progress.total - progress.failed
    assert progress.created == progress.done - 1  # all new but the one stored before
    assert (progress.left, progress.percent) == (0, 100)
    assert sandbox.stats["calls"]["externalcontact/get"] == progress.total
    refreshed = ExternalContact.objects.get(external_userid=reachable[0])
    assert (refreshed.last_trigger, refreshed.last_triggered_by) == (RefreshTrigger.JOB, staff)


def test_refresh_all_and_refresh_stale_take_the_stored_parents(sandbox):
    fresh, old, never = sandbox.school.external_userids(include_lost=False)[:3]
    store(fresh)
    store(old, refreshed_ago=dt.timedelta(days=2))
    store(never, refreshed_ago=None)

    stale_job = start_job(kind=JobKind.REFRESH_STALE)
    all_job = start_job(kind=JobKind.REFRESH_ALL)

    assert stale_job.stale_hours == 24
    assert item_ids(stale_job) == sorted([old, never])
    assert item_ids(all_job) == sorted([fresh, old, never])
    assert all_job.stale_hours is None
    assert {stale_job.status, all_job.status} == {JobStatus.FINISHED}


def test_a_parent_that_fails_is_recorded_with_its_hint_and_the_job_still_finishes(sandbox):
    lost = sandbox.school.lost_external_userids()[0]
    reachable = sandbox.school.external_userids(include_lost=False)[:2]
    store(lost, *reachable)

    job = start_job(kind=JobKind.REFRESH_ALL)

    assert job.status == JobStatus.FINISHED
    failed = job.items.get(status=JobItemStatus.FAILED)
    assert (failed.external_userid, failed.errcode) == (lost, 84061)
    assert "企业微信不再提供其信息" in error_text(failed.failure)  # the hint
    assert job.items.filter(status=JobItemStatus.DONE).count() == 2


def test_a_second_start_is_refused_while_one_is_active_and_allowed_once_it_ended(sandbox):
    running = SyncJob.objects.create(kind=JobKind.REFRESH_ALL, status=JobStatus.RUNNING, started_at=timezone.now())

    with pytest.raises(JobAlreadyActive) as refused:
        start_job(kind=JobKind.REFRESH_ALL)

    assert refused.value.job == running
    assert SyncJob.objects.count() == 1
    # Another kind is not held up.
    assert start_job(kind=JobKind.REFRESH_STALE).status == JobStatus.FINISHED

    SyncJob.objects.filter(pk=running.pk).update(status=JobStatus.FINISHED, finished_at=timezone.now())
    assert start_job(kind=JobKind.REFRESH_ALL).status == JobStatus.FINISHED


def test_a_job_that_made_no_progress_for_long_is_given_up_by_the_next_start(sandbox):
    stalled = SyncJob.objects.create(kind=JobKind.SYNC_SCHOOL, status=JobStatus.QUEUED)
    SyncJob.objects.filter(pk=stalled.pk).update(created_at=timezone.now() - dt.timedelta(hours=2))

    job = start_job(kind=JobKind.SYNC_SCHOOL)

    stalled.refresh_from_db()
    assert stalled.status == JobStatus.FAILED
    assert stalled.failure == {"code": "abandoned", "minutes": 5}
    assert "db_worker" in job_error_text(stalled)
    assert job.pk != stalled.pk and job.status == JobStatus.FINISHED


def test_a_failed_roster_read_fails_the_job_with_the_hint(sandbox):
    sandbox.set_fault_rate(1.0, ["60011"])  # the app cannot see the school's departments

    job = start_job(kind=JobKind.SYNC_SCHOOL)

    assert job.status == JobStatus.FAILED
    assert job.failure["code"] == "roster_failed"
    assert "60011" in job_error_text(job)
    assert "可见范围" in job_error_text(job)  # the hint: widen the visible range
    assert job.items.count() == 0
    assert job.finished_at is not None


def test_a_configuration_error_while_refreshing_fails_the_job_and_leaves_the_rest(sandbox):
    store(*sandbox.school.external_userids(include_lost=False)[:5])
    sandbox.set_fault_rate(1.0, ["60020"])  # this server's IP is not trusted

    job = start_job(kind=JobKind.REFRESH_ALL)

    assert job.status == JobStatus.FAILED
    assert "企业可信IP" in job_error_text(job)
    progress = job_progress(job=job)
    assert (progress.failed, progress.left) == (1, 4)
    assert sandbox.stats["calls"]["externalcontact/get"] == 1


def test_a_rate_limited_parent_pauses_the_job_and_is_refreshed_after_all(sandbox, settings):
    settings.WECOM_RATE_LIMIT_PAUSE = 0.05
    parents = sandbox.school.external_userids(include_lost=False)[:3]
    store(*parents)
    sandbox.set_fault(parents[1], "45009:1")

    job = start_job(kind=JobKind.REFRESH_ALL)

    assert job.status == JobStatus.FINISHED
    assert job_progress(job=job).done == 3
    assert job.paused_until is not None and job.pause_reason == PauseReason.WECOM_LIMIT
    assert sandbox.stats["errcodes"]["45009"] == 1


def test_a_job_is_split_into_chunks_that_claim_each_parent_once(sandbox):
    parents = sandbox.school.external_userids(include_lost=False)[:10]
    store(*parents)

    job = start_job(kind=JobKind.REFRESH_ALL, chunk_size=3)

    assert job.status == JobStatus.FINISHED
    assert job.items.filter(status=JobItemStatus.DONE).count() == 10
    assert not job.items.filter(claimed_at__isnull=True).exists()
    assert not job.items.filter(claimed_by="").exists()
    assert sandbox.stats["calls"]["externalcontact/get"] == 10


def test_a_chunk_takes_only_items_nobody_claimed(sandbox):
    parents = sandbox.school.external_userids(include_lost=False)[:4]
    job = running_job(*parents)
    job.items.filter(external_userid=parents[0]).update(
        claimed_by="other-worker", claimed_at=timezone.now(), lease_expires_at=timezone.now() + dt.timedelta(minutes=1)
    )

    summary = run_job_chunk(job_id=job.pk, worker_id="worker-a", chunk_size=2)

    assert summary.total == 2
    claims = dict(job.items.values_list("external_userid", "claimed_by"))
    assert claims == {parents[0]: "other-worker", parents[1]: "worker-a", parents[2]: "worker-a", parents[3]: ""}
    # The other worker's item is still under way: the job is not done.
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING


def test_the_last_chunk_finishes_the_job_exactly_once(sandbox):
    job = running_job(*sandbox.school.external_userids(include_lost=False)[:2])

    run_job_chunk(job_id=job.pk, worker_id="worker-a")

    job.refresh_from_db()
    assert job.status == JobStatus.FINISHED
    finished_at = job.finished_at
    assert finish_job_if_done(job_id=job.pk) is False
    job.refresh_from_db()
    assert job.finished_at == finished_at


def test_a_chunk_of_a_job_that_ended_does_nothing(sandbox):
    job = running_job(*sandbox.school.external_userids(include_lost=False)[:2])
    SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)

    assert run_job_chunk(job_id=job.pk, worker_id="worker-a") is None

    assert job.items.filter(status=JobItemStatus.PENDING, claimed_by="").count() == 2
    assert sandbox.stats["calls"].get("externalcontact/get", 0) == 0


def test_preparing_a_job_twice_lists_its_parents_once(sandbox):
    store(*sandbox.school.external_userids(include_lost=False)[:3])
    job = start_job(kind=JobKind.REFRESH_ALL)

    jobs.prepare_job(job_id=job.pk)

    assert job.items.count() == 3


def test_progress_is_one_query(django_assert_num_queries):
    job = running_job("wm1", "wm2", "wm3", "wm4", "wm5")
    job.items.filter(external_userid="wm1").update(status=JobItemStatus.DONE, created=True)
    job.items.filter(external_userid="wm2").update(status=JobItemStatus.DONE, changed=True)
    job.items.filter(external_userid="wm3").update(status=JobItemStatus.FAILED, errcode=84061)

    with django_assert_num_queries(1):
        progress = job_progress(job=job)

    assert (progress.total, progress.done, progress.created, progress.changed) == (5, 2, 1, 1)
    assert (progress.failed, progress.left, progress.percent) == (1, 2, 60)


def test_a_job_with_nothing_to_do_finishes_at_once(sandbox):
    job = start_job(kind=JobKind.REFRESH_ALL)

    assert job.status == JobStatus.FINISHED
    assert job_progress(job=job).percent == 100


@pytest.mark.django_db(transaction=True)
def test_a_whole_school_with_threads_uses_one_token(sandbox, settings):
    settings.WECOM_CONCURRENCY = 4

    job = start_job(kind=JobKind.SYNC_SCHOOL)

    assert job.status == JobStatus.FINISHED
    progress = job_progress(job=job)
    assert progress.failed == len(set(sandbox.school.lost_external_userids()) & set(item_ids(job)))
    assert progress.left == 0
    assert sandbox.stats["gettoken"] == 1
    assert sandbox.stats["calls"]["externalcontact/get"] == progress.total
