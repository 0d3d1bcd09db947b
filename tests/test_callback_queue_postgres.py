"""During a whole-school job, a remark edited in WeCom reaches the parent within seconds: callbacks queue apart.

Real processes on the PostgreSQL test database (skipped on SQLite): the simulator sends the
callback to the app (a live server in this process), which stores the event and queues it;
a `db_worker` on the "callbacks" queue applies it while another, on the default queue, is
busy with the job.
"""

import time

import pytest
import requests
from django_tasks_db.models import DBTaskResult

from contacts.models import FollowUser, JobItemStatus, JobKind, JobStatus
from contacts.services.jobs import start_job
from tests.wecom_callbacks import AES_KEY, TOKEN
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

PARENTS = 100
CHUNK_SIZE = 10
# What the documentation promises: a callback is applied within seconds, even during a job.
CALLBACK_DEADLINE = 5.0


@pytest.fixture
def wecom_calling_back(settings, live_server):
    """The simulator, slow enough that a whole-school job takes a while, sending its callbacks to the app."""
    with simulator(
        settings,
        parents=PARENTS,
        latency_ms=200,
        callback_url=f"{live_server.url}/wecom/callback/",
        callback_token=TOKEN,
        callback_aes_key=AES_KEY,
    ) as server:
        yield server


def remark(external_userid: str, userid: str) -> str:
    return FollowUser.objects.get(contact__external_userid=external_userid, userid=userid).remark


def test_a_remark_edited_during_a_job_reaches_the_parent_within_seconds(
    wecom_calling_back, database_queue, shared_cache_table, tmp_path
):
    job = start_job(kind=JobKind.SYNC_SCHOOL, chunk_size=CHUNK_SIZE)
    env = worker_environment(wecom_calling_back, shared_cache_table)
    logs = {name: tmp_path / f"{name}.log" for name in ("jobs", "callbacks")}
    jobs_worker = start_worker("jobs", env, logs["jobs"], batch=False)
    callbacks_worker = start_worker("callbacks", env, logs["callbacks"], queue="callbacks", batch=False)

    with workers_stopped_at_the_end(jobs_worker, callbacks_worker):
        # A parent the job has refreshed already: only the callback can bring the new remark.
        refreshed = job.items.filter(status=JobItemStatus.DONE)
        wait_for(refreshed.exists, timeout=60, what="the job to be under way")
        parent = refreshed.first().external_userid
        teacher = FollowUser.objects.filter(contact__external_userid=parent).first().userid
        edited_at = time.monotonic()
        answer = requests.post(
            f"{wecom_calling_back.base_url}/sandbox/contacts/{parent}/follow_users/{teacher}",
            json={"remark": "回调送达"},
            timeout=30,
        ).json()
        assert answer["callback"]["accepted"] is True
        wait_for(lambda: remark(parent, teacher) == "回调送达", timeout=30, what="the edited remark", every=0.1)
        took = time.monotonic() - edited_at
        job.refresh_from_db()
        output = logs_of(logs)

    assert took < CALLBACK_DEADLINE, (took, output)
    assert job.status == JobStatus.RUNNING  # still busy with the job: the event did not wait for it
    [applied] = DBTaskResult.objects.filter(task_path="contacts.tasks.process_callback_event")
    assert (applied.queue_name, applied.worker_ids, applied.return_value) == ("callbacks", ["callbacks"], "processed")
