"""A worker killed mid-job (kill -9): another takes its parents back and the job finishes with every parent.

Two real `db_worker` processes on the PostgreSQL test database (skipped on SQLite). The
lease is 2 s and each chunk takes longer than that, so the test also shows that a live
worker keeps its claim however long its chunk takes.
"""

import signal

import pytest

from contacts.models import JobItemStatus, JobKind, JobStatus, SyncJob
from contacts.services.jobs import start_job
from tests.worker_processes import (
    NEEDS_POSTGRESQL,
    logs_of,
    simulator,
    start_worker,
    wait_for,
    worker_environment,
    workers_stopped_at_the_end,
)

pytest_plugins = ["tests.worker_processes"]
pytestmark = [NEEDS_POSTGRESQL, pytest.mark.django_db(transaction=True)]

PARENTS = 80
CHUNK_SIZE = 20  # 20 parents, 2 at a time, 300 ms each: 3 s a chunk, longer than a lease
LEASE_SECONDS = 2
# The survivor's own work and the taking back, with room for a slow machine.
FINISH_TIMEOUT = 90


@pytest.fixture
def slow_wecom(settings):
    with simulator(settings, parents=PARENTS, latency_ms=300) as server:
        yield server


def test_the_parents_of_a_killed_worker_are_taken_back_and_the_job_finishes(
    slow_wecom, database_queue, shared_cache_table, tmp_path
):
    job = start_job(kind=JobKind.SYNC_SCHOOL, chunk_size=CHUNK_SIZE)
    env = worker_environment(slow_wecom, shared_cache_table, JOB_LEASE_SECONDS=str(LEASE_SECONDS))
    logs = {worker_id: tmp_path / f"{worker_id}.log" for worker_id in ("survivor", "doomed")}
    # Not in batch mode: like workers in production, they wait for the work queued for later.
    survivor = start_worker("survivor", env, logs["survivor"], batch=False)
    doomed = start_worker("doomed", env, logs["doomed"], batch=False)

    with workers_stopped_at_the_end(survivor, doomed):
        held = job.items.filter(claimed_by="doomed", status=JobItemStatus.PENDING)
        wait_for(lambda: held.count() >= CHUNK_SIZE // 2, timeout=60, what="the doomed worker to hold parents")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        left_behind = set(held.values_list("external_userid", flat=True))
        finished = SyncJob.objects.filter(pk=job.pk).exclude(status=JobStatus.RUNNING)
        wait_for(finished.exists, timeout=FINISH_TIMEOUT, what="the job to end", every=0.5)
        output = logs_of(logs)

    job.refresh_from_db()
    assert job.status == JobStatus.FINISHED, (job.error, output)
    items = list(job.items.all())
    assert len(items) == len(slow_wecom.school.external_userids())
    assert all(item.status != JobItemStatus.PENDING and item.finished_at for item in items)
    lost = set(slow_wecom.school.lost_external_userids())
    assert {i.external_userid for i in items if i.status == JobItemStatus.FAILED} == lost
    # What the dead worker left was taken back by the survivor, and nothing else was: a live
    # worker's leases held all along.
    taken_back = {i.external_userid for i in items if i.claims > 1}
    assert taken_back == left_behind, output
    assert {i.claimed_by for i in items if i.external_userid in left_behind} == {"survivor"}
    assert "takes back" in output["survivor"]
    # Each parent went to WeCom once, but for those the dead worker was refreshing when it died.
    calls = slow_wecom.stats["calls"]["externalcontact/get"]
    assert len(items) <= calls <= len(items) + 2
