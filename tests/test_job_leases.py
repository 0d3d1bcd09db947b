"""A worker's claim on a job's parents is a lease: renewed while it lives, taken back once it runs out.

In one process here; tests/test_worker_death_postgres.py kills a real worker.
Committed for real (transaction=True): the lease renewal runs in a thread of its own, on its
own database connection.
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django_tasks import default_task_backend

from contacts.models import ExternalContact, JobItem, JobItemStatus, JobKind, JobStatus, SyncJob
from contacts.selectors import job_progress
from contacts.services.job_errors import job_error_text
from contacts.services.jobs import (
    ABANDONED_AFTER,
    JobAlreadyActive,
    prepare_job,
    run_job_chunk,
    run_job_here,
    start_job,
    watch_job,
)
from tests.admin_factories import text_of
from tests.job_factories import running_job

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _one_at_a_time(settings):
    settings.WECOM_CONCURRENCY = 1


@pytest.fixture
def queue_kept(settings):
    """Tasks are kept in a queue to be looked at, never run."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default", "callbacks"]}
    }
    default_task_backend.clear()
    yield default_task_backend
    default_task_backend.clear()


EXPIRED = -dt.timedelta(seconds=1)
LIVE = dt.timedelta(minutes=1)


def held_by(job: SyncJob, external_userids, *, worker_id: str, claimed_ago: dt.timedelta, lease_left: dt.timedelta):
    now = timezone.now()
    job.items.filter(external_userid__in=external_userids).update(
        claimed_by=worker_id, claimed_at=now - claimed_ago, lease_expires_at=now + lease_left, claims=1
    )


def left_by_a_dead_worker(job: SyncJob, external_userids) -> None:
    held_by(job, external_userids, worker_id="dead-worker", claimed_ago=dt.timedelta(minutes=2), lease_left=EXPIRED)


def item(job: SyncJob, external_userid: str) -> JobItem:
    return job.items.get(external_userid=external_userid)


def test_a_chunk_takes_back_the_parents_of_a_worker_whose_lease_ran_out(sandbox):
    parents = sandbox.school.external_userids(include_lost=False)[:3]
    job = running_job(*parents)
    left_by_a_dead_worker(job, parents[:2])

    summary = run_job_chunk(job_id=job.pk, worker_id="worker-b")

    assert summary.refreshed == 3
    job.refresh_from_db()
    assert job.status == JobStatus.FINISHED
    assert {i.claimed_by for i in job.items.all()} == {"worker-b"}
    assert [item(job, p).claims for p in parents] == [2, 2, 1]
    assert job_progress(job=job).taken_back == 2


def test_a_worker_keeps_its_lease_while_a_parent_takes_longer_than_the_lease(sandbox, settings):
    settings.JOB_LEASE_SECONDS = 1
    sandbox.latency_ms = 1500  # every WeCom call: one parent takes longer than the lease
    first, second = sandbox.school.external_userids(include_lost=False)[:2]
    job = running_job(first, second)
    seen = []

    def when_the_first_is_done(outcome):
        if outcome.external_userid == first:
            seen.append(item(job, second))

    run_job_chunk(job_id=job.pk, worker_id="worker-a", on_outcome=when_the_first_is_done)

    [waiting] = seen
    # Claimed with the first, well over a lease ago, and still this worker's.
    assert timezone.now() - waiting.claimed_at > dt.timedelta(seconds=1.5)
    assert waiting.lease_expires_at > waiting.claimed_at + dt.timedelta(seconds=1.5)
    assert (waiting.claimed_by, waiting.status) == ("worker-a", JobItemStatus.PENDING)
    assert item(job, second).status == JobItemStatus.DONE


def test_an_outcome_is_written_only_by_the_worker_that_still_holds_the_parent(sandbox):
    first, second = sandbox.school.external_userids(include_lost=False)[:2]
    job = running_job(first, second)

    def taken_back_meanwhile(outcome):
        # worker-a looked dead for a while: another worker took its second parent back.
        if outcome.external_userid == first:
            held_by(job, [second], worker_id="worker-b", claimed_ago=dt.timedelta(0), lease_left=LIVE)

    run_job_chunk(job_id=job.pk, worker_id="worker-a", on_outcome=taken_back_meanwhile)

    assert item(job, first).status == JobItemStatus.DONE
    taken = item(job, second)
    # worker-a refreshed it too, but the outcome is worker-b's to write.
    assert (taken.status, taken.claimed_by, taken.finished_at) == (JobItemStatus.PENDING, "worker-b", None)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING


def test_a_live_lease_keeps_other_workers_off(sandbox):
    parents = sandbox.school.external_userids(include_lost=False)[:2]
    job = running_job(*parents)
    held_by(job, parents, worker_id="worker-a", claimed_ago=dt.timedelta(hours=3), lease_left=dt.timedelta(seconds=30))

    assert run_job_chunk(job_id=job.pk, worker_id="worker-b") is None

    assert set(job.items.values_list("claimed_by", flat=True)) == {"worker-a"}
    assert sandbox.stats["calls"].get("externalcontact/get", 0) == 0


# -- the watch -----------------------------------------------------------------------------------


def test_preparing_a_job_queues_its_chunks_and_a_watch_half_a_lease_later(sandbox, queue_kept, settings):
    settings.JOB_LEASE_SECONDS = 60
    ExternalContact.objects.bulk_create(ExternalContact(external_userid=f"wm{i}") for i in range(5))
    job = SyncJob.objects.create(kind=JobKind.REFRESH_ALL)

    before = timezone.now()
    prepare_job(job_id=job.pk, chunk_size=2)

    queued = [(r.task.name, r.task.queue_name, r.args) for r in queue_kept.results]
    assert queued == [("refresh_sync_job_chunk", "default", [job.pk, 2])] * 3 + [
        ("watch_sync_job", "default", [job.pk, 2])
    ]
    watch = queue_kept.results[-1].task
    assert before + dt.timedelta(seconds=30) <= watch.run_after <= timezone.now() + dt.timedelta(seconds=30)


def test_the_watch_takes_back_dead_workers_parents_and_watches_again_until_the_job_ends(sandbox, queue_kept):
    parents = sandbox.school.external_userids(include_lost=False)[:4]
    job = running_job(*parents)
    left_by_a_dead_worker(job, parents[:2])
    held_by(job, parents[2:], worker_id="live-worker", claimed_ago=dt.timedelta(0), lease_left=LIVE)

    summary = watch_job(job_id=job.pk, chunk_size=10, worker_id="worker-b")

    assert summary.refreshed == 2
    assert {item(job, p).claimed_by for p in parents[:2]} == {"worker-b"}
    assert [r.task.name for r in queue_kept.results] == ["watch_sync_job"]  # the job still runs: watched again
    job.items.filter(external_userid__in=parents[2:]).update(status=JobItemStatus.DONE)

    assert watch_job(job_id=job.pk, chunk_size=10, worker_id="worker-b") is None  # nothing left to take
    job.refresh_from_db()
    assert job.status == JobStatus.FINISHED
    queue_kept.clear()
    assert watch_job(job_id=job.pk, chunk_size=10, worker_id="worker-b") is None
    assert queue_kept.results == []  # the job ended: so does the watch


# -- a job nobody works on --------------------------------------------------------------------------


def test_a_job_whose_workers_died_does_not_block_the_nightly_sync(sandbox):
    dead = running_job("wm1", "wm2", kind=JobKind.SYNC_SCHOOL)
    # Killed a little more than ABANDONED_AFTER ago: its lease ran out a minute later.
    killed_ago = ABANDONED_AFTER + dt.timedelta(minutes=2)
    started = timezone.now() - killed_ago - dt.timedelta(minutes=1)
    SyncJob.objects.filter(pk=dead.pk).update(created_at=started, started_at=started)
    held_by(dead, ["wm1"], worker_id="killed-worker", claimed_ago=killed_ago, lease_left=-killed_ago + LIVE)

    job, summary = run_job_here(kind=JobKind.SYNC_SCHOOL, worker_id="nightly")

    dead.refresh_from_db()
    assert dead.status == JobStatus.FAILED
    assert dead.failure["code"] == "abandoned"
    with translation.override("zh-hans"):
        assert "没有后台进程" in job_error_text(dead) and "db_worker" in job_error_text(dead)
    assert job.status == JobStatus.FINISHED and summary.refreshed > 0


def test_a_job_a_live_worker_holds_is_never_given_up_however_long_it_runs(sandbox):
    held = running_job("wm1", "wm2")
    long_ago = timezone.now() - dt.timedelta(hours=3)
    SyncJob.objects.filter(pk=held.pk).update(created_at=long_ago, started_at=long_ago)
    held_by(held, ["wm1"], worker_id="busy-worker", claimed_ago=dt.timedelta(hours=3), lease_left=LIVE)

    with pytest.raises(JobAlreadyActive):
        start_job(kind=JobKind.REFRESH_ALL)

    held.refresh_from_db()
    assert held.status == JobStatus.RUNNING


def test_a_job_that_just_lost_its_worker_still_blocks_a_start_for_a_few_minutes(sandbox):
    recent = running_job("wm1")
    held_by(recent, ["wm1"], worker_id="killed-worker", claimed_ago=dt.timedelta(minutes=2), lease_left=EXPIRED)

    with pytest.raises(JobAlreadyActive):
        start_job(kind=JobKind.REFRESH_ALL)


# -- the job page -----------------------------------------------------------------------------------


def test_the_job_page_says_how_many_parents_were_taken_back(sandbox, manager_client):
    parents = sandbox.school.external_userids(include_lost=False)[:3]
    job = running_job(*parents)
    left_by_a_dead_worker(job, parents[:2])
    run_job_chunk(job_id=job.pk, worker_id="worker-b")

    page = text_of(manager_client.get(reverse("admin:contacts_syncjob_change", args=[job.pk])))

    assert "从停止的后台进程收回：<strong>2</strong>" in page
