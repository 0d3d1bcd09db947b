"""A class page as an Excel workbook (.xlsx): one row per guardian, as the page shows them.

The rows are the page's own (contacts.class_roster): the reader's scope, the page's filter and
search, phones masked unless the reader may see them. A class holds at most a few hundred
guardians, so the workbook is always written in the request, never by a background job. Each
export is recorded in the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from django.utils.translation import gettext, pgettext

from contacts.class_roster import StudentLine, class_roster
from contacts.models import Department, class_label
from contacts.scope import Account
from contacts.services.exports import CellValue, ExportedSheet, record_export, temporary_sheet, write_workbook


def export_class_now(
    *,
    user: Account,
    school_class: Department,
    reveal_phones: bool,
    not_connected_only: bool = False,
    search: str = "",
) -> ExportedSheet:
    """The rows of `school_class`'s page as `user` sees them, in a workbook to download; recorded in the audit log."""
    grade = Department.objects.filter(department_id=school_class.parent_department_id).first()
    label = class_label(school_class.name, grade.name if grade else None)
    students = class_roster(
        user=user,
        school_class=school_class,
        reveal_phones=reveal_phones,
        not_connected_only=not_connected_only,
        search=search,
    )
    headers = [
        (pgettext("one", "学生"), 14),
        (gettext("班级"), 16),
        (gettext("关系"), 10),
        (gettext("手机号"), 16),
        (gettext("已连接企业微信"), 12),
        (gettext("家长姓名"), 16),
        ("external_userid", 22),
        (gettext("老师备注"), 30),
    ]
    exported = temporary_sheet(
        title=gettext("%(class)s 家长名单") % {"class": label},
        write=partial(write_workbook, title=label, headers=headers, rows=_rows(students=students, label=label)),
    )
    record_export(
        user=user,
        rows=exported.rows,
        description=_described(label=label, not_connected_only=not_connected_only, search=search),
        reveal_phones=reveal_phones,
    )
    return exported


def _rows(*, students: list[StudentLine], label: str) -> Iterator[list[CellValue]]:
    yes, no = gettext("是"), gettext("否")
    for student in students:
        if not student.guardians:
            yield [student.name, label, "", "", "", "", "", ""]
        for guardian in student.guardians:
            remarks = "\n".join(f"{remark.teacher}：{remark.remark}" for remark in guardian.remarks)
            yield [
                student.name,
                label,
                guardian.relation,
                guardian.phone,
                yes if guardian.connected else no,
                guardian.name,
                guardian.external_userid,
                remarks,
            ]


def _described(*, label: str, not_connected_only: bool, search: str) -> str:
    """What the audit log says was exported: "班级：三年级 · 1班；未连接企业微信；搜索「李」"."""
    parts = [gettext("班级：%(class)s") % {"class": label}]
    if not_connected_only:
        parts.append(gettext("未连接企业微信"))
    if search:
        parts.append(gettext("搜索「%(term)s」") % {"term": search})
    return "；".join(parts)
