"""Background tasks (django-tasks): thin shells over the services.

Arguments must be JSON: a job's id and the chunk size, never model instances. Each task
imports its service when it runs; the services import this module to queue tasks.

Two queues, each with workers of its own (`python manage.py db_worker --queue-name …`):
"default" runs the jobs and writes large exports, "callbacks" applies WeCom's events, so that an event never
waits behind a job. With TASK_BACKEND=immediate every task runs inline.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from django_tasks import TaskContext, task

if TYPE_CHECKING:
    from contacts.services.runner import RunSummary

JOBS_QUEUE = "default"
CALLBACKS_QUEUE = "callbacks"


@task(takes_context=True, queue_name=JOBS_QUEUE)
def prepare_sync_job(context: TaskContext, job_id: int, chunk_size: int) -> None:
    from contacts.services.jobs import prepare_job

    prepare_job(job_id=job_id, chunk_size=chunk_size)


@task(takes_context=True, queue_name=JOBS_QUEUE)
def refresh_sync_job_chunk(context: TaskContext, job_id: int, chunk_size: int) -> dict[str, int] | None:
    from contacts.services.jobs import run_job_chunk

    return _counts(run_job_chunk(job_id=job_id, chunk_size=chunk_size, worker_id=_worker_id(context)))


@task(takes_context=True, queue_name=JOBS_QUEUE)
def watch_sync_job(context: TaskContext, job_id: int, chunk_size: int) -> dict[str, int] | None:
    """Takes back the parents of a worker that died; queued again and again while the job runs."""
    from contacts.services.jobs import watch_job

    return _counts(watch_job(job_id=job_id, chunk_size=chunk_size, worker_id=_worker_id(context)))


def _counts(summary: RunSummary | None) -> dict[str, int] | None:
    """A chunk's counts, kept as the task's result."""
    if summary is None:
        return None
    return {"refreshed": summary.refreshed, "failed": summary.failed, "left": summary.left}


def _worker_id(context: TaskContext) -> str:
    """The worker running the task (db_worker --worker-id), recorded on the items it claims."""
    worker_ids = context.task_result.worker_ids
    return worker_ids[-1] if worker_ids else f"{socket.gethostname()}:{os.getpid()}"


@task(queue_name=JOBS_QUEUE)
def write_parent_export(export_id: int) -> str:
    """Write the file of a parent list exported to Excel (contacts.services.exports)."""
    from contacts.services.exports import write_export

    export = write_export(export_id=export_id)
    return export.status if export is not None else "not queued"


@task(queue_name=JOBS_QUEUE)
def watch_parent_export(export_id: int) -> str:
    """Writes again an export whose worker died; queued again and again while the export is not done."""
    from contacts.services.exports import watch_export

    export = watch_export(export_id=export_id)
    return export.status if export is not None else "gone"


@task(queue_name=CALLBACKS_QUEUE)
def process_callback_event(event_id: int) -> str:
    """Apply one stored WeCom callback event (contacts.callbacks.services)."""
    from contacts.callbacks.services import process_event, requeue_stalled_events

    event = process_event(event_id=event_id)
    # A worker that died left its event behind: the next event a worker applies takes it up.
    requeue_stalled_events()
    return event.status if event is not None else "missing"
