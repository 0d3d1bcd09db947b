"""Reading the workbooks the exports write, and a small roster for their parents."""

from __future__ import annotations

import io

from django.utils import timezone
from openpyxl import load_workbook

from contacts.models import Department, DepartmentType, Guardian, Guardianship, StaffMember, Student

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def read_rows(content: bytes) -> list[list]:
    """Every row of the workbook's only sheet, header first, a missing cell as None."""
    workbook = load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == [workbook.active.title]
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def read_records(content: bytes) -> list[dict]:
    """Each parent's row as {header: value}."""
    header, *rows = read_rows(content)
    return [dict(zip(header, row, strict=True)) for row in rows]


def downloaded(response) -> bytes:
    """The file of a download response."""
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"].startswith("attachment;")
    return b"".join(response.streaming_content)


def class_with_children(
    class_name: str, *children: tuple[str, str, str], grade_name: str = "三年级", department_id: int = 31
) -> Department:
    """A class of a grade, with children each given as (student name, their parent's external_userid, relation)."""
    now = timezone.now()
    grade, _ = Department.objects.get_or_create(
        department_id=department_id * 100,
        defaults={"name": grade_name, "type": DepartmentType.GRADE, "last_seen_at": now},
    )
    klass = Department.objects.create(
        department_id=department_id,
        parent_department_id=grade.department_id,
        name=class_name,
        type=DepartmentType.CLASS,
        last_seen_at=now,
    )
    for number, (name, external_userid, relation) in enumerate(children):
        student = Student.objects.create(
            student_userid=f"s{department_id}-{number}", name=name, department=klass, last_seen_at=now
        )
        guardian, _ = Guardian.objects.get_or_create(
            parent_userid=f"p-{external_userid}", defaults={"external_userid": external_userid, "last_seen_at": now}
        )
        Guardianship.objects.create(guardian=guardian, student=student, relation=relation, last_seen_at=now)
    return klass


def named_teacher(userid: str, name: str) -> StaffMember:
    return StaffMember.objects.create(userid=userid, name=name, last_seen_at=timezone.now())
