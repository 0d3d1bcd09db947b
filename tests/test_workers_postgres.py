"""Two real `db_worker` processes split one job on PostgreSQL: every parent refreshed once, by one of them.

Runs only on PostgreSQL (CI runs the suite there too): the claim relies on
SELECT ... FOR UPDATE SKIP LOCKED, and the workers must reach the test database
from other processes.
"""

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

PARENTS = 60
CHUNK_SIZE = 4  # 15 chunks: plenty for both workers
WORKER_TIMEOUT = 120


@pytest.fixture
def slow_wecom(settings):
    """The simulator with enough latency that the job outlasts a worker's start-up."""
    with simulator(settings, parents=PARENTS, latency_ms=150) as server:
        yield server


def test_two_workers_split_a_job_and_refresh_every_parent_once(
    slow_wecom, database_queue, shared_cache_table, tmp_path
):
    job = start_job(kind=JobKind.SYNC_SCHOOL, chunk_size=CHUNK_SIZE)
    assert job.status == JobStatus.QUEUED  # queued in the database, waiting for a worker
    env = worker_environment(slow_wecom, shared_cache_table)
    logs = {worker_id: tmp_path / f"{worker_id}.log" for worker_id in ("w1", "w2")}

    first = start_worker("w1", env, logs["w1"])
    with workers_stopped_at_the_end(first):
        # A batch worker leaves when the queue is empty: the second one starts once the first has
        # read the roster and queued the chunks.
        roster_read = SyncJob.objects.filter(pk=job.pk).exclude(status__in=[JobStatus.QUEUED, JobStatus.DISCOVERING])
        wait_for(roster_read.exists, timeout=60, what="the first worker to read the roster")
        second = start_worker("w2", env, logs["w2"])
        with workers_stopped_at_the_end(second):
            codes = [first.wait(timeout=WORKER_TIMEOUT), second.wait(timeout=WORKER_TIMEOUT)]
    output = logs_of(logs)
    assert codes == [0, 0], output

    job.refresh_from_db()
    assert job.status == JobStatus.FINISHED, (job.error, output)
    items = list(job.items.all())
    lost = set(slow_wecom.school.lost_external_userids())
    assert len(items) == len(slow_wecom.school.external_userids())
    assert all(item.status != JobItemStatus.PENDING and item.finished_at for item in items)
    assert {i.external_userid for i in items if i.status == JobItemStatus.FAILED} == lost
    # Split between the two workers, each item claimed by exactly one of them.
    assert {item.claimed_by for item in items} == {"w1", "w2"}
    stats = slow_wecom.stats
    # WeCom saw each parent once (no item refreshed twice), and one access token served both processes.
    assert stats["calls"]["externalcontact/get"] == len(items)
    assert stats["gettoken"] == 1
