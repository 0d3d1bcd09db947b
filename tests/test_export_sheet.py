"""The contact sheet: parents as an Excel workbook, with the columns staff see and phones masked as on the pages."""

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from contacts.models import ExternalContact, FollowUser, Guardianship
from contacts.services.exports import PARENT_LIST_SHEET, ParentSheet, sheet_title, write_parent_sheet
from tests.admin_factories import (
    answer_with_teachers,
    other_parent_answer,
    parent_answer,
    seed,
    store_parent,
    teacher,
)
from tests.sheets import class_with_children, named_teacher, read_records, read_rows
from tests.test_admin_queries import add_parents

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

HEADERS = [
    "姓名",
    "external_userid",
    "学校备注",
    "学校备注的手机号",
    "孩子（班级，关系）",
    "跟进老师及其备注",
    "老师备注的手机号",
    "老师打的标签",
    "类型",
    "已关注学校通知",
    "状态",
    "最近成功刷新",
]


def sheet_of(contacts, *, reveal_phones: bool, sheet: ParentSheet = PARENT_LIST_SHEET) -> bytes:
    stream = io.BytesIO()
    write_parent_sheet(contacts=contacts, reveal_phones=reveal_phones, stream=stream, sheet=sheet)
    return stream.getvalue()


@pytest.fixture
def li_si(wecom):
    """李四 of the doc's example, with his son in 三年级 · 1班 and his teacher rocky known by name."""
    contact = store_parent(wecom, seed())
    class_with_children("1班", ("李小明", "woAAAA", "爸爸"))
    named_teacher("rocky", "罗凯")
    return contact


def test_the_sheet_has_the_columns_of_the_parent_list_with_full_phones_for_who_may_see_them(li_si):
    [header, row] = read_rows(sheet_of(ExternalContact.objects.all(), reveal_phones=True))

    assert header == HEADERS
    shown = dict(zip(header, row, strict=True))
    assert shown["姓名"] == "李四"
    assert shown["external_userid"] == "woAAAA"
    assert shown["学校备注"] == "李小明-爸爸"
    assert shown["学校备注的手机号"] == "10000000000, 10000000001"
    assert shown["孩子（班级，关系）"] == "李小明（三年级 · 1班，爸爸）"
    assert shown["跟进老师及其备注"] == "罗凯 (rocky)：李部长\ntommy：李总"
    assert shown["老师备注的手机号"] == "10000000003, 10000000004"
    assert shown["老师打的标签"] == "标签名称"
    assert shown["类型"] == "企业微信用户"
    assert shown["已关注学校通知"] == "是"
    assert shown["状态"] == "正常"
    refreshed = timezone.localtime(li_si.last_refreshed_at)
    assert shown["最近成功刷新"] == refreshed.replace(tzinfo=None, microsecond=0)


def test_without_the_phone_permission_every_phone_is_masked(li_si):
    [shown] = read_records(sheet_of(ExternalContact.objects.all(), reveal_phones=False))

    assert shown["学校备注的手机号"] == "100****0000, 100****0001"
    assert shown["老师备注的手机号"] == "100****0003, 100****0004"


def test_without_the_phone_permission_phones_typed_into_text_are_masked(wecom):
    answer = parent_answer(name="李四 13700001101", subscriber_info={"remark": "李小明-爸爸 139-0000-1105"})
    answer["follow_user"] = [teacher("rocky", "李部长 13900001106", tags=["爸爸 139 0000 1109"])]
    store_parent(wecom, answer)
    class_with_children("1班", ("李小明 13900001120", "woAAAA", "爸爸 13900001121"))

    [masked] = read_records(sheet_of(ExternalContact.objects.all(), reveal_phones=False))
    [whole] = read_records(sheet_of(ExternalContact.objects.all(), reveal_phones=True))

    assert masked["姓名"] == "李四 137****1101"
    assert masked["学校备注"] == "李小明-爸爸 139-****-1105"
    assert masked["跟进老师及其备注"] == "rocky：李部长 139****1106"
    assert masked["老师打的标签"] == "爸爸 139 **** 1109"
    assert masked["孩子（班级，关系）"] == "李小明 139****1120（三年级 · 1班，爸爸 139****1121）"
    assert whole["姓名"] == "李四 13700001101"
    assert whole["孩子（班级，关系）"] == "李小明 13900001120（三年级 · 1班，爸爸 13900001121）"


def test_a_teacher_whose_relation_ended_and_a_child_who_left_are_not_listed(li_si):
    FollowUser.objects.filter(userid="tommy").update(ended_at=timezone.now())
    class_with_children("2班", ("李小红", "woAAAA", "爸爸"), department_id=32)
    Guardianship.objects.filter(student__name="李小红").update(gone_at=timezone.now())

    [shown] = read_records(sheet_of(ExternalContact.objects.all(), reveal_phones=True))

    assert shown["跟进老师及其备注"] == "罗凯 (rocky)：李部长"
    assert shown["孩子（班级，关系）"] == "李小明（三年级 · 1班，爸爸）"


def test_a_parent_never_refreshed_and_not_known_to_subscribe_says_so(db):
    ExternalContact.objects.create(external_userid="wmNEW", name=None, type=None, is_subscribe=None)

    [shown] = read_records(sheet_of(ExternalContact.objects.all(), reveal_phones=True))

    assert shown["姓名"] is None
    assert shown["类型"] == "未知"
    assert shown["已关注学校通知"] == "未知"
    assert shown["最近成功刷新"] is None


def test_text_starting_with_an_equals_sign_stays_text_and_control_characters_are_dropped(wecom):
    formula = '=HYPERLINK("http://evil.test","点我")'
    store_parent(wecom, parent_answer(name=formula, subscriber_info={"remark": "李\x07小明"}))

    content = sheet_of(ExternalContact.objects.all(), reveal_phones=True)

    cell = load_workbook(io.BytesIO(content)).active["A2"]
    assert cell.value == formula
    assert cell.data_type == "s"
    [shown] = read_records(content)
    assert shown["学校备注"] == "李小明"


def test_rows_follow_the_order_of_the_queryset(wecom):
    for external_userid, name in (("woA", "甲"), ("woB", "乙"), ("woC", "丙")):
        store_parent(wecom, parent_answer(external_userid, name=name))

    records = read_records(sheet_of(ExternalContact.objects.order_by("-external_userid"), reveal_phones=True))

    assert [record["external_userid"] for record in records] == ["woC", "woB", "woA"]


def test_only_the_parents_of_the_queryset_are_written(wecom):
    store_parent(wecom, seed())
    store_parent(wecom, other_parent_answer())

    records = read_records(sheet_of(ExternalContact.objects.filter(name="王五"), reveal_phones=True))

    assert [record["姓名"] for record in records] == ["王五"]


def test_a_sheet_of_some_columns_shows_those_in_its_order(li_si):
    class_sheet = ParentSheet(title="三年级 · 1班", columns=("children", "name", "school_phones"))

    content = sheet_of(ExternalContact.objects.all(), reveal_phones=False, sheet=class_sheet)

    assert load_workbook(io.BytesIO(content)).sheetnames == ["三年级 · 1班"]
    assert read_rows(content) == [
        ["孩子（班级，关系）", "姓名", "学校备注的手机号"],
        ["李小明（三年级 · 1班，爸爸）", "李四", "100****0000, 100****0001"],
    ]


@pytest.mark.parametrize("columns", [(), ("name", "phone")])
def test_a_sheet_of_unknown_columns_is_refused(columns):
    with pytest.raises(ValueError, match="columns"):
        ParentSheet(title="x", columns=columns)


def test_a_title_excel_would_refuse_is_made_acceptable():
    assert sheet_title("三年级/1班: [家长]?") == "三年级1班 家长"
    assert sheet_title("很" * 40) == "很" * 31
    assert sheet_title("[]") == "Sheet1"


def test_the_number_of_queries_does_not_grow_with_the_parents_teachers_or_tags(db):
    def queries(count: int) -> int:
        ExternalContact.objects.all().delete()
        add_parents(0, count, teachers=3, tags=2)
        with CaptureQueriesContext(connection) as captured:
            rows = read_rows(sheet_of(ExternalContact.objects.all(), reveal_phones=False))
        assert len(rows) == count + 1
        return len(captured)

    assert queries(3) == queries(120)


def test_the_last_refresh_is_the_schools_local_time(db):
    refreshed = dt.datetime(2026, 3, 1, 0, 30, tzinfo=dt.UTC)
    ExternalContact.objects.create(external_userid="wmTIME", name="赵六", last_refreshed_at=refreshed)

    [shown] = read_records(sheet_of(ExternalContact.objects.all(), reveal_phones=True))

    assert shown["最近成功刷新"] == dt.datetime(2026, 3, 1, 8, 30)


def test_many_teachers_each_get_a_line(wecom):
    store_parent(wecom, answer_with_teachers(3))

    [shown] = read_records(sheet_of(ExternalContact.objects.all(), reveal_phones=False))

    assert shown["跟进老师及其备注"].splitlines() == [f"teacher00{i}：老师备注{i}" for i in range(3)]
    assert shown["老师打的标签"] == "标签0-0、标签0-1、标签1-0、标签1-1、标签2-0、标签2-1"
