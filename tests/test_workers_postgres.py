"""Two real `db_worker` processes split one job on PostgreSQL: every parent refreshed once, by one of them.

Runs only on PostgreSQL (CI runs the suite there too): the claim relies on
SELECT ... FOR UPDATE SKIP LOCKED, and the workers must reach the test database
from other processes.
"""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from contacts.models import JobItemStatus, JobKind, JobStatus, SyncJob
from contacts.sandbox.school import build_school
from contacts.sandbox.server import SandboxServer
from contacts.services.jobs import start_job

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: row locks with SKIP LOCKED, and a database other processes can reach",
    ),
    # The workers are other processes: they see only what is committed.
    pytest.mark.django_db(transaction=True),
]

PARENTS = 60
CHUNK_SIZE = 4  # 15 chunks: plenty for both workers
CACHE_TABLE = "test_workers_cache"
WORKER_TIMEOUT = 120


@pytest.fixture
def slow_wecom(settings):
    """The simulator with enough latency that the job outlasts a worker's start-up."""
    server = SandboxServer(
        school=build_school(parents=PARENTS, seed=1),
        corp_id=settings.WECOM_CORP_ID,
        secret=settings.WECOM_SECRET,
        latency_ms=150,
    ).start()
    settings.WECOM_API_BASE = server.url
    yield server
    server.stop()


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def shared_cache_table():
    """A database cache the workers share: the access token and the rate limiter live there."""
    call_command("createcachetable", CACHE_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CACHE_TABLE}")  # noqa: S608 - a constant table name
    return CACHE_TABLE


def database_url() -> str:
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{credentials}{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


def worker_environment(server: SandboxServer, cache_table: str) -> dict[str, str]:
    return {
        **os.environ,
        # The real settings (the test settings would force the immediate backend and a private cache).
        "DJANGO_SETTINGS_MODULE": "schoolcontacts.settings",
        "IGNORE_DOTENV": "on",
        "DEBUG": "1",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url(),  # the test database
        "CACHE_URL": f"dbcache://{cache_table}",
        "TASK_BACKEND": "database",
        "WECOM_CORP_ID": settings.WECOM_CORP_ID,
        "WECOM_SECRET": settings.WECOM_SECRET,
        "WECOM_API_BASE": server.url,
        "WECOM_BACKOFF_SECONDS": "0",
        "WECOM_CONCURRENCY": "2",
        "WECOM_RATE_PER_MINUTE": "3000",
        "LOG_LEVEL": "WARNING",
    }


def start_worker(worker_id: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as output:
        return subprocess.Popen(  # noqa: S603 - this interpreter and fixed arguments
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--batch",
                "--no-startup-delay",
                "--no-reload",
                "--interval",
                "0.1",
                "--worker-id",
                worker_id,
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_for(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_two_workers_split_a_job_and_refresh_every_parent_once(
    slow_wecom, database_queue, shared_cache_table, tmp_path
):
    job = start_job(kind=JobKind.SYNC_SCHOOL, chunk_size=CHUNK_SIZE)
    assert job.status == JobStatus.QUEUED  # queued in the database, waiting for a worker
    env = worker_environment(slow_wecom, shared_cache_table)
    logs = {worker_id: tmp_path / f"{worker_id}.log" for worker_id in ("w1", "w2")}

    first = start_worker("w1", env, logs["w1"])
    # A batch worker leaves when the queue is empty: the second one starts once the first has
    # read the roster and queued the chunks.
    roster_read = SyncJob.objects.filter(pk=job.pk).exclude(status__in=[JobStatus.QUEUED, JobStatus.DISCOVERING])
    wait_for(roster_read.exists, timeout=60, what="the first worker to read the roster")
    second = start_worker("w2", env, logs["w2"])
    try:
        codes = [first.wait(timeout=WORKER_TIMEOUT), second.wait(timeout=WORKER_TIMEOUT)]
    finally:
        for worker in (first, second):
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    output = {worker_id: log.read_text(errors="replace") for worker_id, log in logs.items()}
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
