"""Read the school's roster from WeCom and store it (docs 92299, 92043, 90196).

`sync_roster` reads the department tree (with who heads and teaches each class), every
class's students with their parents (school/user/list: each student is listed in their own
class, so siblings in different classes are placed exactly; parents who never joined WeCom
are listed too, without an external_userid), the staff (each member's name, with user/get)
and the parents each teacher added; only once every WeCom call has succeeded does it write, in one transaction, with a
number of SQL queries that does not depend on the school's size.
Nothing is deleted: what WeCom no longer lists gets `gone_at`, and loses it when seen again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from contacts.models import (
    Department,
    DepartmentAdmin,
    DepartmentType,
    FollowUser,
    Guardian,
    Guardianship,
    StaffMember,
    Student,
)
from contacts.wecom.client import WeComClient
from contacts.wecom.errors import WeComError
from contacts.wecom.parsing import ParsedMember

logger = logging.getLogger("contacts.roster")

DEPARTMENTS_API = "school/department/list"
STUDENTS_API = "school/user/list"
ERRCODE_NO_SUCH_MEMBER = 60111

DEPARTMENT_FIELDS = ["parent_department_id", "name", "type", "register_year", "standard_grade", "order"]
SEEN_FIELDS = ["last_seen_at", "gone_at"]
# Two syncs writing at once would each mark the other's rows as not seen: one waits.
# (SQLite lets one writer at a time anyway.)
ADVISORY_LOCK_KEY = 0x5C0057E5


@dataclass(frozen=True)
class RosterSync:
    """What one sync read and what it changed."""

    external_userids: list[str]  # subscribed parents (roster order), then those the teachers added; each once
    departments: int = 0
    classes: int = 0
    students: int = 0
    guardians: int = 0
    links: int = 0
    staff: int = 0  # teachers whose externalcontact/list was read
    members: int = 0  # staff whose name user/get gave
    members_gone: int = 0
    departments_gone: int = 0
    students_gone: int = 0
    guardians_gone: int = 0
    links_gone: int = 0
    departments_back: int = 0
    students_back: int = 0
    guardians_back: int = 0
    links_back: int = 0

    def __str__(self) -> str:
        return (
            f"{self.classes} classes, {self.students} students, {self.guardians} parents, {self.links} links, "
            f"{len(self.external_userids)} external_userids; gone: {self.students_gone} students, "
            f"{self.guardians_gone} parents, {self.links_gone} links; back: {self.students_back} students, "
            f"{self.guardians_back} parents, {self.links_back} links"
        )


@dataclass
class _Roster:
    """The roster as read from WeCom, keyed as the database is."""

    departments: dict[int, dict[str, Any]] = field(default_factory=dict)
    class_students: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    students: dict[str, str | None] = field(default_factory=dict)  # student_userid -> name
    student_class: dict[str, int] = field(default_factory=dict)  # student_userid -> class department_id
    guardians: dict[str, dict[str, Any]] = field(default_factory=dict)  # parent_userid -> fields
    links: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (parent, student) -> relation
    # (department_id, userid, type, subject) of every department_admins entry
    department_admins: set[tuple[int, str, int, str]] = field(default_factory=set)
    members: dict[str, ParsedMember] = field(default_factory=dict)  # userid -> what user/get gave


# -- public API ---------------------------------------------------------------------------


def sync_roster(*, client: WeComClient) -> RosterSync:
    """Read the whole roster from WeCom, then store it; a failed WeCom call raises and writes nothing."""
    departments = client.list_departments()
    roster = _read_roster(departments=departments, client=client)
    staff = _staff_userids(departments=departments)
    roster.members = _read_members(userids=staff, client=client)
    external_userids = _external_userids(roster=roster, staff=staff, client=client)
    with transaction.atomic():
        _lock_roster()
        counts = _store(roster=roster, now=timezone.now())
    return RosterSync(external_userids=external_userids, staff=len(staff), **counts)


# -- reading WeCom ------------------------------------------------------------------------


def _read_roster(*, departments: list[dict[str, Any]], client: WeComClient) -> _Roster:
    roster = _Roster()
    for department in departments:
        department_id = _department_id(department)
        roster.departments.setdefault(department_id, department)
        for userid, admin_type, subject in _department_admins(department):
            if admin_type is None:
                logger.warning("%s: an admin of department %s has no type; not stored", DEPARTMENTS_API, department_id)
            else:
                roster.department_admins.add((department_id, userid, admin_type, subject))
    for department_id, department in roster.departments.items():
        if department.get("type") == DepartmentType.CLASS:
            roster.class_students[department_id] = client.list_students(department_id)
    for class_id, students in roster.class_students.items():
        for student in students:
            _add_student(roster=roster, class_id=class_id, student=student)
    return roster


def _department_id(department: Mapping[str, Any]) -> int:
    department_id = department.get("id")
    if not isinstance(department_id, int) or isinstance(department_id, bool):
        raise WeComError.malformed(f"{DEPARTMENTS_API}: a department without an integer id", api=DEPARTMENTS_API)
    return department_id


def _text(entry: Mapping[str, Any], key: str, api: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise WeComError.malformed(f"{api}: an entry without {key}", api=api)
    return value


def _parents(student: Mapping[str, Any]) -> list[dict[str, Any]]:
    parents = student.get("parents", [])
    if not isinstance(parents, list) or not all(isinstance(parent, dict) for parent in parents):
        raise WeComError.malformed(f"{STUDENTS_API}: parents is not a list of objects", api=STUDENTS_API)
    return parents


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _add_student(*, roster: _Roster, class_id: int, student: Mapping[str, Any]) -> None:
    """One student of a class's listing: listed per class, so siblings in other classes are placed exactly.

    A student listed in two classes (WeCom allows it) keeps the first."""
    student_userid = _text(student, "student_userid", STUDENTS_API)
    if roster.students.get(student_userid) is None:
        roster.students[student_userid] = _optional_text(student.get("name"))
    roster.student_class.setdefault(student_userid, class_id)
    for parent in _parents(student):
        parent_userid = _text(parent, "parent_userid", STUDENTS_API)
        is_subscribe = parent.get("is_subscribe")
        roster.guardians.setdefault(
            parent_userid,
            {
                "external_userid": _optional_text(parent.get("external_userid")),
                "mobile": _optional_text(parent.get("mobile")),
                "is_subscribe": None if is_subscribe is None else bool(is_subscribe),
            },
        )
        roster.links.setdefault((parent_userid, student_userid), _optional_text(parent.get("relation")))


def _staff_userids(*, departments: Iterable[Mapping[str, Any]]) -> list[str]:
    """Teachers seen as active follow users, then the departments' admins; each once."""
    found: dict[str, None] = dict.fromkeys(
        FollowUser.objects.filter(ended_at__isnull=True).order_by("userid").values_list("userid", flat=True).distinct()
    )
    for department in departments:
        for userid, _type, _subject in _department_admins(department):
            found.setdefault(userid, None)
    return list(found)


def _department_admins(department: Mapping[str, Any]) -> list[tuple[str, int | None, str]]:
    """(userid, type, subject) of each of a department's admins; entries without a userid are skipped."""
    admins = department.get("department_admins") or []
    entries = []
    for admin in admins if isinstance(admins, list) else []:
        userid = admin.get("userid") if isinstance(admin, dict) else None
        if isinstance(userid, str) and userid:
            admin_type = _optional_int(admin.get("type"))
            entries.append((userid, admin_type, _optional_text(admin.get("subject")) or ""))
    return entries


def _read_members(*, userids: Iterable[str], client: WeComClient) -> dict[str, ParsedMember]:
    """Each member's user/get answer; a member WeCom no longer knows (60111, left the school) is left out."""
    members: dict[str, ParsedMember] = {}
    for userid in userids:
        try:
            member = client.get_member(userid)
        except WeComError as error:
            if error.errcode != ERRCODE_NO_SUCH_MEMBER:
                raise
            logger.info("user/get: no member %s any more (60111)", userid)
        else:
            members[member.userid] = member
    return members


def _external_userids(*, roster: _Roster, staff: list[str], client: WeComClient) -> list[str]:
    found: dict[str, None] = {}
    for guardian in roster.guardians.values():
        if guardian["external_userid"]:
            found.setdefault(guardian["external_userid"], None)
    for userid in staff:
        for external_userid in client.list_external_contacts(userid):
            found.setdefault(external_userid, None)
    return list(found)


# -- storing ------------------------------------------------------------------------------


def _lock_roster() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])


def _store(*, roster: _Roster, now: datetime) -> dict[str, int]:
    """Upsert everything seen, mark what was not seen as gone; a fixed number of queries."""
    counts: dict[str, int] = {
        "departments": len(roster.departments),
        "classes": len(roster.class_students),
        "students": len(roster.students),
        "guardians": len(roster.guardians),
        "links": len(roster.links),
    }
    counts["departments_back"] = _count_back(Department, "department_id", roster.departments)
    counts["students_back"] = _count_back(Student, "student_userid", roster.students)
    counts["guardians_back"] = _count_back(Guardian, "parent_userid", roster.guardians)
    counts["links_back"] = _count_links_back(roster.links)
    counts["members"] = len(roster.members)

    department_pks = _store_departments(roster=roster, now=now)
    student_pks = _store_students(roster=roster, department_pks=department_pks, now=now)
    guardian_pks = _store_guardians(roster=roster, now=now)
    _store_links(roster=roster, guardian_pks=guardian_pks, student_pks=student_pks, now=now)
    _store_members(roster=roster, now=now)
    _store_department_admins(roster=roster, department_pks=department_pks, now=now)

    _mark_gone(DepartmentAdmin, now)
    counts["members_gone"] = _mark_gone(StaffMember, now)
    counts["links_gone"] = _mark_gone(Guardianship, now)
    counts["students_gone"] = _mark_gone(Student, now)
    counts["guardians_gone"] = _mark_gone(Guardian, now)
    counts["departments_gone"] = _mark_gone(Department, now)
    return counts


def _count_back(model: type[models.Model], key: str, seen: Mapping[Any, Any]) -> int:
    gone = model.objects.filter(gone_at__isnull=False).values_list(key, flat=True)
    return sum(1 for value in gone if value in seen)


def _count_links_back(seen: Mapping[tuple[str, str], Any]) -> int:
    gone = Guardianship.objects.filter(gone_at__isnull=False).values_list(
        "guardian__parent_userid", "student__student_userid"
    )
    return sum(1 for pair in gone if pair in seen)


def _pks(model: type[models.Model], key: str) -> dict[Any, int]:
    return dict(model.objects.values_list(key, "pk"))


def _store_departments(*, roster: _Roster, now: datetime) -> dict[int, int]:
    rows = [
        Department(
            department_id=department_id,
            parent_department_id=_optional_int(department.get("parentid")),
            name=_optional_text(department.get("name")) or str(department_id),
            type=_optional_int(department.get("type")),
            register_year=_optional_int(department.get("register_year")),
            standard_grade=_optional_int(department.get("standard_grade")),
            order=_optional_int(department.get("order")),
            last_seen_at=now,
            gone_at=None,
        )
        for department_id, department in roster.departments.items()
    ]
    _upsert(Department, rows, "department_id", DEPARTMENT_FIELDS)
    return _pks(Department, "department_id")


def _store_students(*, roster: _Roster, department_pks: Mapping[int, int], now: datetime) -> dict[str, int]:
    rows = [
        Student(
            student_userid=student_userid,
            name=name,
            department_id=department_pks.get(roster.student_class.get(student_userid, 0)),
            last_seen_at=now,
            gone_at=None,
        )
        for student_userid, name in roster.students.items()
    ]
    _upsert(Student, rows, "student_userid", ["name", "department"])
    return _pks(Student, "student_userid")


def _store_guardians(*, roster: _Roster, now: datetime) -> dict[str, int]:
    rows = [
        Guardian(parent_userid=parent_userid, **fields, last_seen_at=now, gone_at=None)
        for parent_userid, fields in roster.guardians.items()
    ]
    _upsert(Guardian, rows, "parent_userid", ["external_userid", "mobile", "is_subscribe"])
    return _pks(Guardian, "parent_userid")


def _store_links(
    *, roster: _Roster, guardian_pks: Mapping[str, int], student_pks: Mapping[str, int], now: datetime
) -> None:
    rows = [
        Guardianship(
            guardian_id=guardian_pks[parent_userid],
            student_id=student_pks[student_userid],
            relation=relation,
            last_seen_at=now,
            gone_at=None,
        )
        for (parent_userid, student_userid), relation in roster.links.items()
    ]
    _upsert(Guardianship, rows, ["guardian", "student"], ["relation"])


def _store_members(*, roster: _Roster, now: datetime) -> None:
    rows = [
        StaffMember(userid=member.userid, name=member.name, status=member.status, last_seen_at=now, gone_at=None)
        for member in roster.members.values()
    ]
    _upsert(StaffMember, rows, "userid", ["name", "status"])


def _store_department_admins(*, roster: _Roster, department_pks: Mapping[int, int], now: datetime) -> None:
    rows = [
        DepartmentAdmin(
            department_id=department_pks[department_id],
            userid=userid,
            type=admin_type,
            subject=subject,
            last_seen_at=now,
            gone_at=None,
        )
        for department_id, userid, admin_type, subject in sorted(roster.department_admins)
    ]
    _upsert(DepartmentAdmin, rows, ["department", "userid", "type", "subject"], [])


def _upsert(model: type[models.Model], rows: list[models.Model], unique: str | list[str], fields: list[str]) -> None:
    model.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=[unique] if isinstance(unique, str) else unique,
        update_fields=[*fields, *SEEN_FIELDS],
    )


def _mark_gone(model: type[models.Model], now: datetime) -> int:
    """Rows this sync did not touch, not yet gone: gone now."""
    return model.objects.filter(gone_at__isnull=True).exclude(last_seen_at=now).update(gone_at=now)


def _optional_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
