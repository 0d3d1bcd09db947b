"""An export whose worker dies while writing it is written again, not left "生成中" until it expires.

The writer renews the export's heartbeat every quarter lease (JOB_LEASE_SECONDS); the export's watch
queues the writing again once the heartbeat is older than a lease, at most MAX_EXPORT_ATTEMPTS tries
in all. Here the watch is called as its task would call it; tasks run inline (the test settings), so
the writing it queues happens at once. tests/test_worker_death_postgres.py kills a real worker.
"""

import datetime as dt
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

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


def test_a_writer_thought_dead_that_wakes_up_does_not_end_the_export_of_the_next_try(parents, manager):
    export = interrupted_export(manager, heartbeat_seconds_ago=LEASE_SECONDS + 5)
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.QUEUED, heartbeat_at=None)
    write_export(export_id=export.pk)  # the second try writes the file
    # The first try's writer would end it only while it still holds it: it does not.
    assert not Export.objects.filter(pk=export.pk, status=ExportStatus.RUNNING, attempts=1).exists()

    export.refresh_from_db()
    assert export.status == ExportStatus.FINISHED
    assert export.attempts == 2


def test_the_writer_renews_the_heartbeat_while_it_writes(
    wecom, manager, settings, monkeypatch, django_capture_on_commit_callbacks
):
    for n in range(5):
        store_parent(wecom, parent_answer(f"wmParent{n:02d}", name=f"家长{n}"))
    monkeypatch.setattr("contacts.services.exports.BATCH_SIZE", 2)
    settings.JOB_LEASE_SECONDS = 0  # every batch is due a heartbeat

    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        export = start_parent_export(
            user=manager, contacts=ExternalContact.objects.order_by("name"), description="全部", reveal_phones=False
        )

    assert Export.objects.get(pk=export.pk).status == ExportStatus.FINISHED
    sets = [query["sql"].split(" WHERE ")[0] for query in queries.captured_queries if query["sql"].startswith("UPDATE")]
    beats = [what for what in sets if "heartbeat_at" in what and "status" not in what]
    assert len(beats) == 3  # 5 parents, 2 a batch


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
