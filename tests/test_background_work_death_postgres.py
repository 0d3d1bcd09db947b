"""A worker killed (kill -9) while it writes an export or applies a WeCom event: another does it after all.

Real `db_worker` processes on the PostgreSQL test database (skipped on SQLite), with a lease of 2 s:
the export's watch writes it again once the dead writer's heartbeat is older than a lease; the
event's claim runs out after a lease, and the next event a worker applies queues it again.
"""

import signal
import time

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation

from contacts import tasks
from contacts.models import CallbackEvent, CallbackStatus, Export, ExportStatus, ExternalContact
from contacts.services.exports import start_parent_export
from tests.sheets import read_records
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

LEASE_SECONDS = 2
# Enough parents that writing them takes long enough to kill the writer in the middle.
EXPORTED_PARENTS = 4000
FINISH_TIMEOUT = 90


@pytest.fixture
def short_lease(settings, tmp_path):
    settings.JOB_LEASE_SECONDS = LEASE_SECONDS
    settings.EXPORT_ROOT = tmp_path / "exports"
    return {"JOB_LEASE_SECONDS": str(LEASE_SECONDS), "EXPORT_ROOT": str(settings.EXPORT_ROOT)}


@pytest.fixture
def wecom(settings):
    with simulator(settings, parents=20, latency_ms=0, slow_seconds=30) as server:
        yield server


def test_an_export_whose_writer_is_killed_is_written_by_another_worker(
    wecom, short_lease, database_queue, shared_cache_table, tmp_path
):
    ExternalContact.objects.bulk_create(
        ExternalContact(external_userid=f"wmExport{n:06d}", name=f"家长{n:04d}") for n in range(EXPORTED_PARENTS)
    )
    user = get_user_model().objects.create_user("office", password="not-used")
    env = worker_environment(wecom, shared_cache_table, **short_lease)
    logs = {worker_id: tmp_path / f"{worker_id}.log" for worker_id in ("doomed", "survivor")}
    doomed = start_worker("doomed", env, logs["doomed"], batch=False)
    with translation.override("zh-hans"):  # the sheet's headers are in the language it was asked in
        export = start_parent_export(
            user=user, contacts=ExternalContact.objects.order_by("name"), description="全部", reveal_phones=False
        )

    with workers_stopped_at_the_end(doomed):
        writing = Export.objects.filter(pk=export.pk, status=ExportStatus.RUNNING)
        wait_for(writing.exists, timeout=60, what="the doomed worker to write the export", every=0.005)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    assert Export.objects.get(pk=export.pk).status == ExportStatus.RUNNING, "the writer finished before the kill"
    survivor = start_worker("survivor", env, logs["survivor"], batch=False)
    with workers_stopped_at_the_end(survivor):
        ended = Export.objects.filter(pk=export.pk, status__in=[ExportStatus.FINISHED, ExportStatus.FAILED])
        wait_for(ended.exists, timeout=FINISH_TIMEOUT, what="the export to end", every=0.2)
        output = logs_of(logs)

    export.refresh_from_db()
    assert export.status == ExportStatus.FINISHED, (export.error, output)
    assert export.attempts == 2
    assert export.row_count == EXPORTED_PARENTS
    records = read_records(export.path.read_bytes())
    assert [record["姓名"] for record in records] == [f"家长{n:04d}" for n in range(EXPORTED_PARENTS)]
    assert not list(export.path.parent.glob("*.part"))
    assert "it is written again" in output["survivor"]


def stored_event(external_userid: str, number: int) -> CallbackEvent:
    return CallbackEvent.objects.create(
        fingerprint=f"{number:064x}",
        event="change_external_contact",
        change_type="edit_external_contact",
        external_userid=external_userid,
        userid="rocky",
        payload={},
    )


def test_an_event_whose_worker_is_killed_is_applied_after_the_next_one(
    wecom, short_lease, database_queue, shared_cache_table, tmp_path
):
    wecom.set_fault("woAAAA", "slow")  # the worker is still waiting for WeCom when it is killed
    env = worker_environment(wecom, shared_cache_table, **short_lease)
    logs = {worker_id: tmp_path / f"{worker_id}.log" for worker_id in ("doomed", "survivor")}
    doomed = start_worker("doomed", env, logs["doomed"], queue="callbacks", batch=False)
    left_behind = stored_event("woAAAA", 1)
    tasks.process_callback_event.enqueue(event_id=left_behind.pk)

    with workers_stopped_at_the_end(doomed):
        claimed = CallbackEvent.objects.filter(pk=left_behind.pk, claimed_at__isnull=False)
        wait_for(claimed.exists, timeout=60, what="the doomed worker to take the event", every=0.01)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    killed_at = time.monotonic()
    wecom.clear_faults()
    assert CallbackEvent.objects.get(pk=left_behind.pk).status == CallbackStatus.RECEIVED

    survivor = start_worker("survivor", env, logs["survivor"], queue="callbacks", batch=False)
    with workers_stopped_at_the_end(survivor):
        # The next event comes once the dead worker's claim has run out.
        time.sleep(max(LEASE_SECONDS + 0.5 - (time.monotonic() - killed_at), 0))
        other = wecom.school.external_userids()[1]
        tasks.process_callback_event.enqueue(event_id=stored_event(other, 2).pk)
        applied = CallbackEvent.objects.filter(pk=left_behind.pk).exclude(status=CallbackStatus.RECEIVED)
        wait_for(applied.exists, timeout=FINISH_TIMEOUT, what="the left-behind event to be applied", every=0.1)
        output = logs_of(logs)

    left_behind.refresh_from_db()
    assert left_behind.status == CallbackStatus.PROCESSED, (left_behind.result, output)
    assert left_behind.attempts == 2
    assert ExternalContact.objects.filter(external_userid="woAAAA").exists()
    assert "queued again" in output["survivor"]
