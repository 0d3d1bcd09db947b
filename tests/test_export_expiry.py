"""Exports to Excel are deleted, files and records, after EXPORT_RETENTION_DAYS; their folder is never a public one.

By `purge_history`, by the nightly sync (both through purge_expired_history), and by every new
export written in the background, so files never pile up where no nightly sync runs.
"""

import datetime as dt
import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from contacts.models import Export, ExportStatus
from contacts.services.retention import purge_expired_exports, purge_expired_history
from tests.admin_factories import seed, shown_messages, store_parent
from tests.startup import start_app_with

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path) -> Path:
    settings.EXPORT_ROOT = tmp_path / "exports"
    settings.EXPORT_ROOT.mkdir()
    return settings.EXPORT_ROOT


def written_export(*, days_ago: float, user=None) -> Export:
    """A finished export made `days_ago`, with its file on the disk of that age."""
    number = Export.objects.count()
    export = Export.objects.create(
        user=user,
        username="viewer",
        title="家长名单",
        columns=["name"],
        status=ExportStatus.FINISHED,
        row_count=1,
        file_name=f"{number:032x}.xlsx",
    )
    made = NOW - dt.timedelta(days=days_ago)
    Export.objects.filter(pk=export.pk).update(created_at=made)
    export.path.write_bytes(b"xlsx")
    os.utime(export.path, (made.timestamp(), made.timestamp()))
    return export


def aged_file(folder: Path, name: str, *, days_ago: float) -> Path:
    path = folder / name
    path.write_bytes(b"data")
    made = (NOW - dt.timedelta(days=days_ago)).timestamp()
    os.utime(path, (made, made))
    return path


def test_exports_older_than_the_limit_go_with_their_files(settings):
    settings.EXPORT_RETENTION_DAYS = 7
    old, recent = written_export(days_ago=8), written_export(days_ago=6)

    assert purge_expired_exports(now=NOW) == 1

    assert list(Export.objects.all()) == [recent]
    assert not old.path.exists()
    assert recent.path.exists()


def test_the_limit_is_a_setting(settings):
    settings.EXPORT_RETENTION_DAYS = 1
    export = written_export(days_ago=2)

    purge_expired_exports(now=NOW)

    assert not Export.objects.exists()
    assert not export.path.exists()


def test_old_files_without_a_record_go_too_but_nothing_else_in_the_folder(export_root):
    orphan = aged_file(export_root, "0123456789abcdef0123456789abcdef.xlsx", days_ago=30)
    unfinished = aged_file(export_root, "0123456789abcdef0123456789abcdee.xlsx.1.part", days_ago=30)
    # Named as before each try had a file of its own.
    unfinished_before = aged_file(export_root, "0123456789abcdef0123456789abcdec.xlsx.part", days_ago=30)
    recent = aged_file(export_root, "0123456789abcdef0123456789abcded.xlsx", days_ago=1)
    someone_elses = aged_file(export_root, "notes.xlsx", days_ago=30)

    purge_expired_exports(now=NOW)

    assert not orphan.exists()
    assert not unfinished.exists()
    assert not unfinished_before.exists()
    assert recent.exists()
    assert someone_elses.exists()


def test_a_missing_folder_is_nothing_to_purge(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "never-made"

    assert purge_expired_exports(now=NOW) == 0


def test_the_nightly_retention_deletes_expired_exports_even_when_history_is_kept_for_ever(settings):
    settings.HISTORY_RETENTION_DAYS = 0
    written_export(days_ago=8)

    purge_expired_history()

    assert not Export.objects.exists()


def test_the_purge_history_command_deletes_expired_exports(settings):
    settings.HISTORY_RETENTION_DAYS = 0
    written_export(days_ago=8)
    out = StringIO()

    call_command("purge_history", stdout=out)

    assert "Deleted 1 export(s) to Excel older than 7 days" in out.getvalue()
    assert "no history was deleted" in out.getvalue()
    assert not Export.objects.exists()


def test_a_new_background_export_deletes_the_expired_ones_first(
    wecom, settings, viewer, viewer_client, django_capture_on_commit_callbacks
):
    store_parent(wecom, seed())
    settings.EXPORT_INLINE_ROWS = 0
    old = written_export(days_ago=8, user=viewer)

    with django_capture_on_commit_callbacks(execute=True):
        viewer_client.post(reverse("admin:contacts_externalcontact_export"))

    assert not Export.objects.filter(pk=old.pk).exists()
    assert not old.path.exists()
    assert Export.objects.get().status == ExportStatus.FINISHED


def test_an_expired_export_is_said_to_be_gone(settings, viewer, viewer_client):
    export = written_export(days_ago=8, user=viewer)
    url = reverse("admin:contacts_export_download", args=[export.pk])
    assert viewer_client.get(url).status_code == 200

    purge_expired_exports(now=NOW)
    response = viewer_client.get(url, follow=True)

    assert (
        "warning",
        "导出文件不存在或已过期删除（导出文件保留 7 天），请在家长列表重新导出。",
    ) in shown_messages(response)


def test_the_export_page_says_when_the_file_will_be_deleted(viewer, viewer_client):
    export = written_export(days_ago=2, user=viewer)

    page = viewer_client.get(reverse("admin:contacts_export_change", args=[export.pk])).content.decode()

    expires = timezone.localtime(Export.objects.get(pk=export.pk).created_at) + dt.timedelta(days=7)
    assert "到期删除" in page
    assert f"{expires.year}年{expires.month}月{expires.day}日" in page


# -- the settings -----------------------------------------------------------------------------------


def test_the_export_folder_may_not_be_one_the_web_server_serves(tmp_path):
    started = start_app_with(STATIC_ROOT=str(tmp_path / "static"), EXPORT_ROOT=str(tmp_path / "static" / "exports"))

    assert started.returncode != 0
    assert "EXPORT_ROOT" in started.stderr
    assert "must not be inside STATIC_ROOT" in started.stderr
    assert start_app_with(STATIC_ROOT=str(tmp_path / "static"), EXPORT_ROOT=str(tmp_path / "exports")).returncode == 0


@pytest.mark.parametrize(("name", "value"), [("EXPORT_RETENTION_DAYS", "0"), ("EXPORT_INLINE_ROWS", "-1")])
def test_export_settings_out_of_range_stop_the_app(name, value):
    started = start_app_with(**{name: value})

    assert started.returncode != 0
    assert "EXPORT_INLINE_ROWS must be 0 or more, and EXPORT_RETENTION_DAYS at least 1" in started.stderr
