"""The 导出 Excel button of the parent list, the page of each person's exports, and their downloads.

An export holds exactly what the list shows (its filters, its search, by phone only with the
phone permission), masks phones as the list does, is written to the audit log, and is written in
the background above EXPORT_INLINE_ROWS parents, for its owner alone to download.
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import translation

from contacts.models import AuditAction, AuditEntry, Export, ExportStatus
from contacts.services.audit import audit_result_text
from contacts.services.exports import ExportNotReady, open_export_file
from tests.admin_factories import (
    MANAGER_GROUP,
    VIEWER_GROUP,
    list_url,
    logged_in,
    make_staff,
    other_parent_answer,
    parent_answer,
    seed,
    shown_messages,
    store_parent,
    teacher,
    text_of,
)
from tests.sheets import downloaded, named_teacher, read_records

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

ROLES = ["manager", "viewer", "teacher", "superuser"]
GONE = ("warning", "导出文件不存在或已过期删除（导出文件保留 7 天），请在家长列表重新导出。")
TYPED_REMARK = "李部长 13900001106"


def export_url(query: str = "") -> str:
    url = reverse("admin:contacts_externalcontact_export")
    return f"{url}?{query}" if query else url


def exports_page() -> str:
    return reverse("admin:contacts_export_changelist")


def export_page(export: Export) -> str:
    return reverse("admin:contacts_export_change", args=[export.pk])


def download_url(export: Export) -> str:
    return reverse("admin:contacts_export_download", args=[export.pk])


def client_of(request, role: str) -> Client:
    return request.getfixturevalue("teacher_client" if role == "teacher" else f"{role}_client")


def exported(client: Client, query: str = "") -> list[dict]:
    return read_records(downloaded(client.post(export_url(query))))


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path) -> Path:
    settings.EXPORT_ROOT = tmp_path / "exports"
    return settings.EXPORT_ROOT


@pytest.fixture
def parents(wecom):
    """李四 (a teacher typed a phone into his remark) and 王五 (13800000000), stored through the refresh."""
    li = seed()
    li["follow_user"][0]["remark"] = TYPED_REMARK
    return [store_parent(wecom, li), store_parent(wecom, other_parent_answer())]


@pytest.fixture
def background(settings):
    """Every export is written in the background."""
    settings.EXPORT_INLINE_ROWS = 0


def start_in_background(client: Client, django_capture_on_commit_callbacks, query: str = "") -> Export:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(export_url(query))
    export = Export.objects.get()
    assert response.status_code == 302
    assert response["Location"] == export_page(export)
    return export


# -- the button ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_the_export_button(parents, request, role):
    html = text_of(client_of(request, role).get(list_url(), {"q": "王五"}))

    assert 'class="refresh-form export-form"' in html
    assert f'action="{export_url("q=%E7%8E%8B%E4%BA%94")}"' in html


def test_staff_without_the_export_permission_have_no_button_and_are_refused(parents):
    client = logged_in(make_staff("reader", perms=["view_externalcontact"]))

    assert "export-form" not in text_of(client.get(list_url()))
    response = client.post(export_url())
    assert response.status_code == 403
    assert "导出家长名单需要导出权限" in text_of(response)
    assert not AuditEntry.objects.exists()


def test_the_export_is_refused_to_visitors_not_signed_in(parents, client):
    response = client.post(export_url())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_an_export_is_posted_not_fetched(parents, manager_client):
    assert manager_client.get(export_url()).status_code == 405
    assert not AuditEntry.objects.exists()


def test_an_export_without_the_forms_csrf_token_is_refused(parents, manager):
    client = logged_in(manager, enforce_csrf_checks=True)

    assert client.post(export_url()).status_code == 403
    assert not AuditEntry.objects.exists()


# -- what each role gets -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "superuser"])
def test_staff_who_may_see_phones_export_them_whole(parents, request, role):
    records = {record["姓名"]: record for record in exported(client_of(request, role))}

    assert set(records) == {"李四", "王五"}
    assert records["李四"]["学校备注的手机号"] == "10000000000, 10000000001"
    assert records["李四"]["老师备注的手机号"] == "10000000003, 10000000004"
    assert records["李四"]["跟进老师及其备注"].startswith(f"rocky：{TYPED_REMARK}")
    assert records["王五"]["学校备注的手机号"] == "13800000000"


@pytest.mark.parametrize("role", ["viewer", "teacher"])
def test_staff_without_the_phone_permission_export_every_phone_masked(parents, request, role):
    records = {record["姓名"]: record for record in exported(client_of(request, role))}

    assert records["李四"]["学校备注的手机号"] == "100****0000, 100****0001"
    assert records["李四"]["老师备注的手机号"] == "100****0003, 100****0004"
    assert records["李四"]["跟进老师及其备注"].startswith("rocky：李部长 139****1106")
    if role == "viewer":
        assert records["王五"]["学校备注的手机号"] == "138****0000"
    assert "13900001106" not in str(records)


def test_a_teacher_exports_only_their_own_families(parents, teacher_client):
    # The teacher is rocky, who follows 李四 and not 王五.
    records = {record["姓名"]: record for record in exported(teacher_client)}

    assert set(records) == {"李四"}


# -- exactly what the list shows ------------------------------------------------------------------


def test_the_export_holds_what_the_search_finds(parents, viewer_client):
    assert [record["姓名"] for record in exported(viewer_client, "q=王五")] == ["王五"]


def test_the_export_holds_what_the_filters_keep(parents, wecom, viewer_client):
    store_parent(wecom, parent_answer("woCCCC", name="赵六", type=1))

    records = exported(viewer_client, "type__exact=1")

    assert sorted(record["姓名"] for record in records) == ["王五", "赵六"]


def test_the_export_holds_every_page_of_the_list_in_its_order(wecom, viewer_client, settings):
    for number in range(60):
        store_parent(wecom, parent_answer(f"wo{number:03d}", name=f"家长{number:03d}"))

    records = exported(viewer_client, "o=-2&p=2")

    assert [record["external_userid"] for record in records] == [f"wo{n:03d}" for n in reversed(range(60))]


def test_a_viewer_finds_nobody_by_phone_in_an_export_either(parents, viewer_client, manager_client):
    response = viewer_client.post(export_url("q=13800000000"), follow=True)

    assert ("warning", "列表中没有家长，未导出。") in shown_messages(response)
    assert [record["姓名"] for record in exported(manager_client, "q=13800000000")] == ["王五"]


def test_a_viewer_does_not_find_a_parent_by_a_phone_typed_into_a_remark(parents, viewer_client, manager_client):
    response = viewer_client.post(export_url("q=13900001106"), follow=True)

    assert ("warning", "列表中没有家长，未导出。") in shown_messages(response)
    assert [record["姓名"] for record in exported(manager_client, "q=13900001106")] == ["李四"]


def test_a_filter_the_list_does_not_offer_is_refused(parents, manager_client):
    response = manager_client.post(export_url("subscriber_remark__icontains=1380"))

    assert response.status_code == 400
    assert not AuditEntry.objects.exists()


def test_an_invalid_filter_value_says_what_to_do(parents, manager_client):
    response = manager_client.post(export_url("is_subscribe__exact=maybe"), follow=True)

    assert ("error", "筛选条件有误，请在列表中重新筛选后再导出。") in shown_messages(response)
    assert not AuditEntry.objects.exists()


# -- the audit log --------------------------------------------------------------------------------


def test_each_export_is_written_to_the_audit_log_with_its_rows_and_filters(parents, viewer, viewer_client):
    exported(viewer_client, "q=王&type__exact=1")

    [entry] = AuditEntry.objects.all()
    assert entry.action == AuditAction.EXPORT
    assert entry.user == viewer
    assert audit_result_text(entry) == "1 位家长，手机号已隐藏；搜索「王」；类型：微信用户"


def test_an_export_with_full_phones_says_so_in_the_audit_log(parents, manager_client):
    exported(manager_client)

    [entry] = AuditEntry.objects.all()
    assert audit_result_text(entry) == "2 位家长，含完整手机号；全部家长（未筛选）"


# -- in the background ---------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "in_background"), [(2, False), (1, True)])
def test_an_export_of_more_parents_than_the_limit_is_written_in_the_background(
    parents, settings, manager_client, limit, in_background
):
    settings.EXPORT_INLINE_ROWS = limit

    response = manager_client.post(export_url())

    assert Export.objects.exists() == in_background
    assert (response.status_code == 302) == in_background


def test_a_large_export_is_written_in_the_background_and_downloaded_from_its_page(
    parents, background, viewer, viewer_client, django_capture_on_commit_callbacks, export_root
):
    export = start_in_background(viewer_client, django_capture_on_commit_callbacks)

    export.refresh_from_db()
    assert export.status == ExportStatus.FINISHED
    assert export.row_count == 2
    assert export.user == viewer
    assert export.path.parent == export_root
    assert [path.name for path in export_root.iterdir()] == [export.file_name]
    page = text_of(viewer_client.get(export_page(export)))
    assert f'href="{download_url(export)}"' in page
    assert 'http-equiv="refresh"' not in page
    records = read_records(downloaded(viewer_client.get(download_url(export))))
    assert sorted(record["学校备注的手机号"] for record in records) == ["100****0000, 100****0001", "138****0000"]


def test_a_background_export_waits_for_the_transaction_then_runs_on_the_jobs_queue(
    parents, background, viewer_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = viewer_client.post(export_url())

    export = Export.objects.get()
    assert len(queued) == 1
    assert export.status == ExportStatus.QUEUED
    assert not export.path.exists()
    page = text_of(viewer_client.get(response["Location"]))
    assert '<meta http-equiv="refresh" content="3">' in page
    assert "正在后台生成" in page
    assert 'http-equiv="refresh"' in text_of(viewer_client.get(exports_page()))

    queued[0]()

    export.refresh_from_db()
    assert export.status == ExportStatus.FINISHED
    assert export.contact_ids == []
    assert 'http-equiv="refresh"' not in text_of(viewer_client.get(exports_page()))


def test_a_background_export_holds_the_parents_the_list_showed_when_asked(
    parents, wecom, background, manager_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        manager_client.post(export_url("q=王五"))
    store_parent(wecom, other_parent_answer("woDDDD"))

    queued[0]()

    export = Export.objects.get()
    assert export.row_count == 1
    records = read_records(downloaded(manager_client.get(download_url(export))))
    assert [record["external_userid"] for record in records] == ["woBBBB"]


def test_a_background_export_is_written_to_the_audit_log_when_asked(
    parents, background, manager_client, django_capture_on_commit_callbacks
):
    export = start_in_background(manager_client, django_capture_on_commit_callbacks, "q=李")

    [entry] = AuditEntry.objects.all()
    assert audit_result_text(entry) == f"1 位家长，含完整手机号；搜索「李」 （后台生成：家长名单 #{export.pk}）"


def test_a_background_export_that_cannot_write_its_file_fails_and_says_so(
    parents, background, viewer_client, django_capture_on_commit_callbacks, settings, tmp_path
):
    occupied = tmp_path / "a-file"
    occupied.write_text("not a folder")
    settings.EXPORT_ROOT = occupied

    export = start_in_background(viewer_client, django_capture_on_commit_callbacks)

    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert "生成失败（FileExistsError），请重新导出" in text_of(viewer_client.get(export_page(export)))
    with pytest.raises(ExportNotReady):
        open_export_file(export=export)


def test_a_download_of_an_export_still_being_written_says_to_wait(
    parents, background, viewer_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        viewer_client.post(export_url())
    export = Export.objects.get()

    response = viewer_client.get(download_url(export), follow=True)

    assert ("warning", "这个导出尚未生成完成，请稍候。") in shown_messages(response)


# -- who may download -----------------------------------------------------------------------------


@pytest.fixture
def viewers_export(parents, background, viewer_client, django_capture_on_commit_callbacks) -> Export:
    return start_in_background(viewer_client, django_capture_on_commit_callbacks)


def test_another_person_cannot_download_an_export_nor_see_it(viewers_export, manager_client):
    response = manager_client.get(download_url(viewers_export), follow=True)

    assert GONE in shown_messages(response)
    assert response.get("Content-Disposition") is None
    assert viewers_export.file_name not in text_of(manager_client.get(exports_page()))
    assert f"家长名单 #{viewers_export.pk}" not in text_of(manager_client.get(exports_page()))
    assert manager_client.get(export_page(viewers_export)).status_code == 302


def test_a_visitor_not_signed_in_cannot_download_an_export(viewers_export, client):
    response = client.get(download_url(viewers_export))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_superuser_may_download_anyones_export(viewers_export, superuser_client):
    records = read_records(downloaded(superuser_client.get(download_url(viewers_export))))

    assert len(records) == 2
    assert "viewer" in text_of(superuser_client.get(exports_page()))


def test_an_owner_who_lost_the_export_permission_cannot_download(viewers_export, viewer, viewer_client):
    viewer.groups.clear()
    viewer.user_permissions.clear()

    response = viewer_client.get(download_url(viewers_export))

    assert response.status_code == 403
    assert response.get("Content-Disposition") is None


def test_a_file_with_full_phones_is_refused_to_its_owner_once_they_may_no_longer_see_phones(
    parents, background, manager, manager_client, django_capture_on_commit_callbacks
):
    export = start_in_background(manager_client, django_capture_on_commit_callbacks)
    manager.groups.set([Group.objects.get(name=VIEWER_GROUP)])
    client = logged_in(manager)

    response = client.get(download_url(export))

    assert response.status_code == 403
    assert "这个文件含完整手机号" in text_of(response)
    assert "下载 Excel 文件" not in text_of(client.get(export_page(export)))
    manager.groups.set([Group.objects.get(name=MANAGER_GROUP)])
    assert len(read_records(downloaded(logged_in(manager).get(download_url(export))))) == 2


def test_an_export_file_cannot_be_reached_by_its_address(viewers_export, viewer_client, export_root):
    name = viewers_export.file_name
    for guess in (f"/{name}", f"/media/{name}", f"/static/{name}", f"/var/exports/{name}", f"/exports/{name}"):
        response = viewer_client.get(guess)
        assert response.status_code == 404, guess
    # A random name, nothing to guess from: not the export's number, its owner or its time.
    assert re.fullmatch(r"[0-9a-f]{32}\.xlsx", name)


def test_a_file_gone_from_the_disk_is_said_to_be_expired(viewers_export, viewer_client):
    viewers_export.path.unlink()

    response = viewer_client.get(download_url(viewers_export), follow=True)

    assert GONE in shown_messages(response)


# -- the page of one's exports, as each role ------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_each_role_lists_its_own_exports(parents, background, request, role, django_capture_on_commit_callbacks):
    client = client_of(request, role)
    export = start_in_background(client, django_capture_on_commit_callbacks)

    index = text_of(client.get(reverse("admin:index")))
    listing = text_of(client.get(exports_page()))
    page = text_of(client.get(export_page(export)))

    assert exports_page() in index
    assert f"家长名单 #{export.pk}" in listing
    assert f'href="{download_url(export)}"' in listing
    assert "全部家长（未筛选）" in page
    assert ("含完整手机号" if role in ("manager", "superuser") else "已隐藏") in page


def test_staff_without_the_export_permission_have_no_exports_page(parents):
    client = logged_in(make_staff("reader", perms=["view_externalcontact"]))

    assert exports_page() not in text_of(client.get(reverse("admin:index")))
    assert client.get(exports_page()).status_code == 403


def test_nobody_edits_or_deletes_an_export_by_hand(viewers_export, viewer_client, superuser_client):
    for client in (viewer_client, superuser_client):
        assert client.post(reverse("admin:contacts_export_delete", args=[viewers_export.pk])).status_code == 403
        assert client.get(reverse("admin:contacts_export_add")).status_code == 403
    assert Export.objects.filter(pk=viewers_export.pk).exists()


def test_the_exports_page_accepts_only_its_own_filters(viewers_export, viewer_client):
    assert viewer_client.get(exports_page(), {"description__icontains": "x"}).status_code == 400


def test_the_teacher_remark_column_shows_the_teacher_by_name_when_known(wecom, viewer_client):
    answer = parent_answer()
    answer["follow_user"] = [teacher("rocky", "李部长")]
    store_parent(wecom, answer)
    named_teacher("rocky", "罗凯")

    [record] = exported(viewer_client)

    assert record["跟进老师及其备注"] == "罗凯 (rocky)：李部长"


# -- in English -------------------------------------------------------------------------------------


@pytest.fixture
def english_viewer_client(viewer_client, settings):
    viewer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    yield viewer_client
    translation.activate(settings.LANGUAGE_CODE)


def test_an_english_reader_gets_english_headers_and_file_name(parents, english_viewer_client):
    response = english_viewer_client.post(export_url("q=王五"))

    assert 'filename="Parents-' in response["Content-Disposition"]
    [record] = read_records(downloaded(response))
    assert record["Name"] == "王五"
    assert record["Teachers and their remarks"] == "alice：王老师"
    assert record["Status"] == "Active"


def test_a_background_export_is_written_in_the_language_it_was_asked_in(
    parents, background, english_viewer_client, django_capture_on_commit_callbacks
):
    export = start_in_background(english_viewer_client, django_capture_on_commit_callbacks)

    response = english_viewer_client.get(download_url(export))

    assert 'filename="Parents-' in response["Content-Disposition"]
    assert "Phones noted by teachers" in read_records(downloaded(response))[0]
