"""An export whose worker dies while writing it is written again, not left "生成中" until it expires.

The writer renews the export's heartbeat every quarter lease (JOB_LEASE_SECONDS); the export's watch
queues the writing again once the heartbeat is older than a lease, at most MAX_EXPORT_ATTEMPTS tries
in all. Here the watch is called as its task would call it; tasks run inline (the test settings), so
the writing it queues happens at once. tests/test_worker_death_postgres.py kills a real worker.
"""

import datetime as dt
import io
import time
from pathlib import Path

import pytest
from django.utils import timezone, translation
from openpyxl import Workbook

from contacts.models import Export, ExportStatus, ExternalContact
from contacts.services.exports import (
    MAX_EXPORT_ATTEMPTS,
    ExportNotReady,
    open_export_file,
    start_parent_export,
    watch_export,
    write_export,
)
from tests.admin_factories import parent_answer, store_parent
from tests.sheets import read_records

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

LEASE_SECONDS = 60


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path) -> Path:
    settings.EXPORT_ROOT = tmp_path / "exports"
    settings.JOB_LEASE_SECONDS = LEASE_SECONDS
    return settings.EXPORT_ROOT


@pytest.fixture
def parents(wecom):
    return [store_parent(wecom, parent_answer(f"wmParent{n:02d}", name=f"家长{n}")) for n in range(3)]


def interrupted_export(manager, *, attempts: int = 1, heartbeat_seconds_ago: float) -> Export:
    """An export a worker had claimed (try number `attempts`) and was writing when it died."""
    with translation.override("zh-hans"):  # the sheet's headers are in the language it was asked in
        export = start_parent_export(
            user=manager, contacts=ExternalContact.objects.order_by("name"), description="全部", reveal_phones=False
        )
    Export.objects.filter(pk=export.pk).update(
        status=ExportStatus.RUNNING,
        attempts=attempts,
        heartbeat_at=timezone.now() - dt.timedelta(seconds=heartbeat_seconds_ago),
        finished_at=None,
        contact_ids=list(ExternalContact.objects.order_by("name").values_list("pk", flat=True)),
    )
    export.path.parent.mkdir(parents=True, exist_ok=True)
    export.path.with_name(f"{export.path.name}.{attempts}.part").write_bytes(b"half a workbook")
    return Export.objects.get(pk=export.pk)


def test_an_export_whose_writer_stopped_renewing_its_heartbeat_is_written_again(parents, manager):
    export = interrupted_export(manager, heartbeat_seconds_ago=LEASE_SECONDS + 5)

    watch_export(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == ExportStatus.FINISHED
    assert export.attempts == 2
    assert export.row_count == len(parents)
    sheet = open_export_file(export=export)
    with sheet.file:
        assert [row["姓名"] for row in read_records(sheet.file.read())] == ["家长0", "家长1", "家长2"]
    assert not list(export.path.parent.glob("*.part"))  # the new try wrote a file of its own


def test_an_export_being_written_with_a_fresh_heartbeat_is_left_to_its_writer(parents, manager):
    export = interrupted_export(manager, heartbeat_seconds_ago=LEASE_SECONDS - 5)

    watch_export(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == ExportStatus.RUNNING
    assert export.attempts == 1


def test_after_its_last_try_an_interrupted_export_fails_and_says_why(parents, manager):
    export = interrupted_export(manager, attempts=MAX_EXPORT_ATTEMPTS, heartbeat_seconds_ago=LEASE_SECONDS + 5)

    watch_export(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert f"写文件的后台进程停止了 {MAX_EXPORT_ATTEMPTS} 次，请重新导出" in export.error
    assert export.finished_at is not None
    assert export.contact_ids == []
    with pytest.raises(ExportNotReady):
        open_export_file(export=export)


def test_a_writer_thought_dead_that_finishes_late_leaves_the_next_trys_file_alone(parents, manager, monkeypatch):
    export = interrupted_export(manager, heartbeat_seconds_ago=0)
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.QUEUED, attempts=0)
    real_save = Workbook.save
    stalled = []

    def save(workbook, stream):
        if not stalled:
            # Try 1 stalls here for longer than a lease: it is thought dead and try 2 writes the file.
            stalled.append(True)
            Export.objects.filter(pk=export.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
            watch_export(export_id=export.pk)
            real_save(workbook, io.BytesIO())
            stream.write(b"what try 1 had")
            return
        real_save(workbook, stream)

    monkeypatch.setattr(Workbook, "save", save)
    write_export(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == ExportStatus.FINISHED
    assert export.attempts == 2
    sheet = open_export_file(export=export)
    with sheet.file:
        assert len(read_records(sheet.file.read())) == len(parents)
    assert not list(export.path.parent.glob("*.part"))


@pytest.mark.django_db(transaction=True)  # the renewing thread has a connection of its own
def test_the_writer_renews_the_heartbeat_while_it_writes(parents, manager, settings, monkeypatch):
    export = interrupted_export(manager, heartbeat_seconds_ago=0)
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.QUEUED, attempts=0)
    settings.JOB_LEASE_SECONDS = 0.2  # a renewal every 50 ms
    real_save = Workbook.save
    heartbeats = []

    def slow_save(workbook, stream):
        # Saving a large workbook takes a while; the heartbeat goes on meanwhile.
        for _ in range(4):
            time.sleep(0.1)
            heartbeats.append(Export.objects.get(pk=export.pk).heartbeat_at)
        real_save(workbook, stream)

    monkeypatch.setattr(Workbook, "save", slow_save)
    write_export(export_id=export.pk)

    assert Export.objects.get(pk=export.pk).status == ExportStatus.FINISHED
    assert len(set(heartbeats)) >= 3


def queued(results) -> list[tuple[str, dt.datetime | None]]:
    return [(result.task.name, result.task.run_after) for result in results]


def test_an_export_is_queued_with_its_watch_one_lease_later(
    parents, manager, kept_tasks, django_capture_on_commit_callbacks
):
    before = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        start_parent_export(
            user=manager, contacts=ExternalContact.objects.all(), description="全部", reveal_phones=False
        )

    (write, _), (watch, run_after) = queued(kept_tasks)
    assert (write, watch) == ("write_parent_export", "watch_parent_export")
    assert before + dt.timedelta(seconds=LEASE_SECONDS) <= run_after <= timezone.now() + dt.timedelta(
        seconds=LEASE_SECONDS
    )


def test_the_watch_looks_again_while_the_export_is_queued_or_written_and_then_stops(parents, manager, kept_tasks):
    export = interrupted_export(manager, heartbeat_seconds_ago=5)
    kept_tasks.clear()

    watch_export(export_id=export.pk)
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.QUEUED)
    watch_export(export_id=export.pk)
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.FINISHED)
    watch_export(export_id=export.pk)

    assert [name for name, _ in queued(kept_tasks)] == ["watch_parent_export", "watch_parent_export"]


def test_an_export_that_ended_is_no_longer_watched(parents, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        export = start_parent_export(
            user=manager, contacts=ExternalContact.objects.all(), description="全部", reveal_phones=False
        )
    export.refresh_from_db()
    assert export.status == ExportStatus.FINISHED

    assert watch_export(export_id=export.pk).status == ExportStatus.FINISHED
    assert watch_export(export_id=export.pk + 1000) is None


def test_an_export_no_worker_began_writing_within_an_hour_fails_and_says_to_check_the_workers(parents, manager):
    export = start_parent_export(
        user=manager, contacts=ExternalContact.objects.all(), description="全部", reveal_phones=False
    )  # its task never runs: the transaction is not committed
    Export.objects.filter(pk=export.pk).update(created_at=timezone.now() - dt.timedelta(minutes=59))
    assert watch_export(export_id=export.pk).status == ExportStatus.QUEUED

    Export.objects.filter(pk=export.pk).update(created_at=timezone.now() - dt.timedelta(minutes=61))
    export = watch_export(export_id=export.pk)

    assert export.status == ExportStatus.FAILED
    assert "一小时内没有后台进程开始生成，已放弃" in export.error
    write_export(export_id=export.pk)  # the lost task, run at last, writes nothing
    assert Export.objects.get(pk=export.pk).status == ExportStatus.FAILED
    assert not export.path.exists()
