"""The 导出 Excel button of a class page: the page's rows as a workbook, walked as each role.

One row per guardian, as the page shows them (its filter and search, the reader's scope), phones
masked unless the reader may see them, and every export in the audit log.
"""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from contacts.models import AuditAction, AuditEntry, Department
from contacts.services.audit import audit_result_text
from tests.admin_factories import TEACHER_GROUP, linked, logged_in, make_staff, text_of
from tests.scope_factories import CLASS_3_1, CLASS_4_2, CLASS_5_1
from tests.sheets import downloaded, read_records
from tests.test_admin_class_page import GRANDMA_PHONE, LI_PHONE, WANG_DAD_PHONE, class_url

# The class page's school: 李小明's grandma and 王小红's father on the roster, not on WeCom (`classes`).
pytest_plugins = ["tests.admin_factories", "tests.scope_factories", "tests.test_admin_class_page"]
pytestmark = pytest.mark.django_db

HEADERS = ["学生", "班级", "关系", "手机号", "已连接企业微信", "家长姓名", "external_userid", "老师备注"]


def export_url(class_id: int, query: str = "") -> str:
    pk = Department.objects.get(department_id=class_id).pk
    url = reverse("admin:contacts_schoolclass_export", args=[pk])
    return f"{url}?{query}" if query else url


def exported(client: Client, class_id: int = CLASS_3_1, query: str = "") -> list[dict]:
    return read_records(downloaded(client.post(export_url(class_id, query))))


def client_of(request, classes, role: str) -> Client:
    return logged_in(classes.rocky) if role == "teacher" else request.getfixturevalue(f"{role}_client")


def rows_of(records: list[dict]) -> list[tuple]:
    return [(r["学生"], r["关系"], r["手机号"], r["已连接企业微信"]) for r in records]


# -- the button ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["superuser", "manager", "viewer", "teacher"])
def test_every_role_has_the_export_button_carrying_the_pages_filter(request, classes, role):
    html = text_of(client_of(request, classes, role).get(class_url(CLASS_3_1), {"not_connected": "1", "q": "李"}))

    assert 'class="refresh-form export-form"' in html
    assert f'action="{export_url(CLASS_3_1, "not_connected=1&amp;q=%E6%9D%8E")}"' in html
    assert "csrfmiddlewaretoken" in html


def test_an_export_is_posted_not_fetched(classes, viewer_client):
    assert viewer_client.get(export_url(CLASS_3_1)).status_code == 405
    assert not AuditEntry.objects.exists()


def test_an_export_without_the_forms_csrf_token_is_refused(classes, viewer):
    assert logged_in(viewer, enforce_csrf_checks=True).post(export_url(CLASS_3_1)).status_code == 403
    assert not AuditEntry.objects.exists()


def test_staff_without_the_export_permission_have_no_button_and_are_refused(classes):
    client = logged_in(make_staff("reader", perms=["view_schoolclass", "view_externalcontact"]))

    assert "export-form" not in text_of(client.get(class_url(CLASS_3_1)))
    response = client.post(export_url(CLASS_3_1))
    assert response.status_code == 403
    assert "导出班级名单需要导出权限" in text_of(response)
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("class_id", [CLASS_4_2, CLASS_5_1])
def test_a_teacher_cannot_export_a_class_outside_their_scope(classes, class_id):
    response = logged_in(classes.rocky).post(export_url(class_id))

    assert response.status_code == 404
    assert WANG_DAD_PHONE[-4:] not in text_of(response)
    assert not AuditEntry.objects.exists()


# -- what each role gets -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["superuser", "manager"])
def test_staff_who_may_see_phones_export_them_whole(request, classes, role):
    records = exported(client_of(request, classes, role))

    assert list(records[0]) == HEADERS
    assert rows_of(records) == [
        ("李小明", "爸爸", LI_PHONE, "是"),
        ("李小明", "奶奶", GRANDMA_PHONE, "否"),
        ("赵小三", "妈妈", None, "是"),
    ]
    dad = records[0]
    assert (dad["班级"], dad["家长姓名"], dad["external_userid"]) == ("三年级1班", "李四", "woAAAA")
    assert dad["老师备注"] == "罗凯：李部长\n唐明：李总"
    assert (records[1]["家长姓名"], records[1]["external_userid"]) == (None, None)


@pytest.mark.parametrize("role", ["viewer", "teacher"])
def test_staff_without_the_phone_permission_export_every_phone_masked(request, classes, role):
    records = exported(client_of(request, classes, role))

    assert rows_of(records) == [
        ("李小明", "爸爸", "138****4321", "是"),
        ("李小明", "奶奶", "139****5678", "否"),
        ("赵小三", "妈妈", None, "是"),
    ]


def test_a_phone_typed_into_a_teachers_remark_is_masked_without_the_permission(classes, viewer_client):
    classes.contacts["woAAAA"].follow_users.filter(remark="李部长").update(remark="李部长 13900001106")

    [dad, *_] = exported(viewer_client)

    assert dad["老师备注"].startswith("罗凯：李部长 139****1106")


def test_the_rows_are_the_rows_the_page_shows(classes, viewer_client):
    page = viewer_client.get(class_url(CLASS_3_1)).context["students"]

    records = exported(viewer_client)

    assert [(r["学生"], r["关系"], r["手机号"] or "", r["已连接企业微信"] == "是") for r in records] == [
        (student.name, line.relation, line.phone, line.connected) for student in page for line in student.guardians
    ]


def test_a_teacher_exports_only_the_families_they_see(classes):
    client = logged_in(linked(make_staff("dave", groups=[TEACHER_GROUP]), "dave"))

    assert [(r["学生"], r["关系"]) for r in exported(client)] == [("赵小三", "妈妈")]


# -- the page's filter and search ------------------------------------------------------------------


def test_the_export_keeps_only_the_guardians_not_connected_when_the_page_does(classes, viewer_client):
    assert rows_of(exported(viewer_client, query="not_connected=1")) == [("李小明", "奶奶", "139****5678", "否")]


def test_the_export_keeps_the_students_the_search_finds(classes, viewer_client):
    assert [r["学生"] for r in exported(viewer_client, query="q=赵")] == ["赵小三"]


def test_an_export_of_a_page_showing_nobody_holds_the_headers_only(classes, viewer_client):
    assert exported(viewer_client, query="q=赵&not_connected=1") == []


# -- the audit log --------------------------------------------------------------------------------


def test_each_export_is_written_to_the_audit_log_with_its_class_rows_and_filter(classes, viewer, viewer_client):
    exported(viewer_client, query="not_connected=1&q=李")

    [entry] = AuditEntry.objects.all()
    assert (entry.action, entry.user) == (AuditAction.EXPORT, viewer)
    assert audit_result_text(entry) == "1 位家长，手机号已隐藏；班级：三年级1班；未连接企业微信；搜索「李」"


def test_an_export_with_full_phones_says_so_in_the_audit_log(classes, manager_client):
    exported(manager_client)

    [entry] = AuditEntry.objects.all()
    assert audit_result_text(entry) == "3 位家长，含完整手机号；班级：三年级1班"


# -- in English -------------------------------------------------------------------------------------


@pytest.fixture
def english_viewer_client(viewer_client, settings):
    viewer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    yield viewer_client
    translation.activate(settings.LANGUAGE_CODE)


def test_an_english_reader_gets_english_headers_and_file_name(classes, english_viewer_client):
    response = english_viewer_client.post(export_url(CLASS_3_1, "q=赵"))

    assert "''Parents of 三年级1班-" in unquote(response["Content-Disposition"])
    [record] = read_records(downloaded(response))
    assert (record["Student"], record["Relationship"], record["On WeCom"]) == ("赵小三", "妈妈", "Yes")
    assert (record["Parent's name"], record["Teachers' remarks"]) == ("赵六", "丁一：丁老师的备注")
