"""Real `db_worker` processes on the PostgreSQL test database, for the tests of what only real workers show.

The workers are other processes: they see only what the test committed
(`django_db(transaction=True)`), and they use the real settings, not the test settings,
which would force inline tasks and a cache of their own.

Test modules load the fixtures with `pytest_plugins = ["tests.worker_processes"]` and import
the functions before pytest loads it as a plugin, so its asserts cannot be rewritten;
PYTEST_DONT_REWRITE says so and keeps pytest quiet.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from contacts.sandbox.school import build_school
from contacts.sandbox.server import SandboxServer

NEEDS_POSTGRESQL = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: row locks with SKIP LOCKED, and a database other processes can reach",
)
CACHE_TABLE = "test_workers_cache"
QUEUES = ["default", "callbacks"]


@pytest.fixture
def database_queue(settings):
    """Tasks queued in the database, as in production, for the workers to take."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": QUEUES}}


@pytest.fixture
def shared_cache_table():
    """A database cache the workers share: the access token and the rate limiter live there."""
    call_command("createcachetable", CACHE_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CACHE_TABLE}")  # noqa: S608 - a constant table name
    return CACHE_TABLE


@contextmanager
def simulator(settings, *, parents: int, latency_ms: float, **options) -> Iterator[SandboxServer]:
    """The WeCom simulator with a school of `parents`, the app pointed at it."""
    server = SandboxServer(
        school=build_school(parents=parents, seed=1),
        corp_id=settings.WECOM_CORP_ID,
        secret=settings.WECOM_SECRET,
        latency_ms=latency_ms,
        **options,
    ).start()
    settings.WECOM_API_BASE = server.url
    try:
        yield server
    finally:
        server.stop()


def database_url() -> str:
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{credentials}{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


def worker_environment(server: SandboxServer, cache_table: str, **overrides: str) -> dict[str, str]:
    return {
        **os.environ,
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
        **overrides,
    }


def start_worker(
    worker_id: str, env: dict[str, str], log: Path, *, queue: str = "default", batch: bool = True
) -> subprocess.Popen:
    """A `db_worker` on one queue; a batch worker leaves once that queue has nothing ready."""
    arguments = ["--queue-name", queue, "--worker-id", worker_id, "--interval", "0.1"]
    arguments += ["--no-startup-delay", "--no-reload"]
    if batch:
        arguments.append("--batch")
    with log.open("wb") as output:
        return subprocess.Popen(  # noqa: S603 - this interpreter and fixed arguments
            [sys.executable, "manage.py", "db_worker", *arguments],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def workers_stopped_at_the_end(*workers: subprocess.Popen) -> Iterator[None]:
    """Whatever happens in the block, no worker outlives the test."""
    try:
        yield
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def logs_of(logs: dict[str, Path]) -> dict[str, str]:
    return {worker_id: log.read_text(errors="replace") for worker_id, log in logs.items()}
