"""Apply one roster change WeCom announced (change_school_contact) to the stored roster.

Only the student or parent concerned is read again, with school/user/get (doc 92337),
never the whole roster. As in the full sync (contacts.services.roster), nothing is
deleted: what WeCom removed gets `gone_at`, and loses it when seen again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from contacts.callbacks.outcomes import OUTCOMES
from contacts.models import Department, DepartmentType, Guardian, Guardianship, Student
from contacts.texts import Message
from contacts.wecom.errors import WeComError

API = "school/user/get"


@dataclass(frozen=True)
class RosterChange:
    summary: Message  # an OUTCOMES message
    external_userids: tuple[str, ...] = ()  # the parents concerned, to refresh


def apply_school_user(*, answer: Mapping[str, Any], previous_userid: str = "", now: dt.datetime) -> RosterChange:
    """Store what school/user/get answered; `previous_userid` when WeCom changed the userid (NewId)."""
    if isinstance(answer.get("parent"), dict):
        return _apply_parent(parent=answer["parent"], previous_userid=previous_userid, now=now)
    if isinstance(answer.get("student"), dict):
        return _apply_student(student=answer["student"], previous_userid=previous_userid, now=now)
    raise WeComError.malformed(f"{API}: neither a student nor a parent object", api=API)


def remove_parent(*, parent_userid: str, now: dt.datetime) -> RosterChange:
    with transaction.atomic():
        guardian = Guardian.objects.select_for_update().filter(parent_userid=parent_userid).first()
        if guardian is None:
            return RosterChange(OUTCOMES.message("roster_parent_unknown", userid=parent_userid))
        Guardian.objects.filter(pk=guardian.pk, gone_at__isnull=True).update(gone_at=now)
        Guardianship.objects.filter(guardian=guardian, gone_at__isnull=True).update(gone_at=now)
    return RosterChange(
        OUTCOMES.message("roster_parent_removed", userid=parent_userid), _ids([guardian.external_userid])
    )


def remove_student(*, student_userid: str, now: dt.datetime) -> RosterChange:
    with transaction.atomic():
        student = Student.objects.select_for_update().filter(student_userid=student_userid).first()
        if student is None:
            return RosterChange(OUTCOMES.message("roster_student_unknown", userid=student_userid))
        # The parents stay; only their link to this student ends.
        parents = list(
            Guardian.objects.filter(guardianships__student=student, guardianships__gone_at__isnull=True)
            .values_list("external_userid", flat=True)
        )
        Student.objects.filter(pk=student.pk, gone_at__isnull=True).update(gone_at=now)
        Guardianship.objects.filter(student=student, gone_at__isnull=True).update(gone_at=now)
    return RosterChange(OUTCOMES.message("roster_student_removed", userid=student_userid), _ids(parents))


# -- parents and students -------------------------------------------------------------------


def _apply_parent(*, parent: Mapping[str, Any], previous_userid: str, now: dt.datetime) -> RosterChange:
    parent_userid = _text(parent, "parent_userid")
    children = _list_of_objects(parent, "children")
    with transaction.atomic():
        _rename(Guardian, "parent_userid", previous_userid, parent_userid)
        before = Guardian.objects.select_for_update().filter(parent_userid=parent_userid).first()
        guardian, created = Guardian.objects.update_or_create(
            parent_userid=parent_userid,
            defaults={
                "external_userid": _optional_text(parent.get("external_userid")),
                "mobile": _optional_text(parent.get("mobile")),
                "is_subscribe": _flag(parent.get("is_subscribe")),
                "last_seen_at": now,
                "gone_at": None,
            },
        )
        seen = []
        for child in children:
            student = _touch_student(
                student_userid=_text(child, "student_userid"), name=_optional_text(child.get("name")), now=now
            )
            _link(guardian=guardian, student=student, relation=_optional_text(child.get("relation")), now=now)
            seen.append(student.pk)
        Guardianship.objects.filter(guardian=guardian, gone_at__isnull=True).exclude(student__in=seen).update(
            gone_at=now
        )
    summary = OUTCOMES.message("roster_parent_added" if created else "roster_parent_updated", userid=parent_userid)
    # After an unsubscribe WeCom may no longer give the external_userid: the one stored before still names the parent.
    return RosterChange(summary, _ids([guardian.external_userid, before.external_userid if before else None]))


def _apply_student(*, student: Mapping[str, Any], previous_userid: str, now: dt.datetime) -> RosterChange:
    student_userid = _text(student, "student_userid")
    parents = _list_of_objects(student, "parents")
    with transaction.atomic():
        _rename(Student, "student_userid", previous_userid, student_userid)
        created = not Student.objects.filter(student_userid=student_userid).exists()
        row = _touch_student(
            student_userid=student_userid,
            name=_optional_text(student.get("name")),
            department=_class_of(student.get("department")),
            now=now,
        )
        guardians = []
        for parent in parents:
            guardian = _touch_guardian(parent=parent, now=now)
            _link(guardian=guardian, student=row, relation=_optional_text(parent.get("relation")), now=now)
            guardians.append(guardian)
        Guardianship.objects.filter(student=row, gone_at__isnull=True).exclude(
            guardian__in=[g.pk for g in guardians]
        ).update(gone_at=now)
    summary = OUTCOMES.message("roster_student_added" if created else "roster_student_updated", userid=student_userid)
    return RosterChange(summary, _ids(g.external_userid for g in guardians))


def _touch_student(
    *, student_userid: str, name: str | None, now: dt.datetime, department: Department | None = None
) -> Student:
    student = Student.objects.filter(student_userid=student_userid).first()
    if student is None:
        return Student.objects.create(student_userid=student_userid, name=name, department=department, last_seen_at=now)
    # A parent's children list may name no student; a name known before is kept then.
    if name:
        student.name = name
    if department is not None:
        student.department = department
    student.last_seen_at, student.gone_at = now, None
    student.save(update_fields=["name", "department", "last_seen_at", "gone_at"])
    return student


def _touch_guardian(*, parent: Mapping[str, Any], now: dt.datetime) -> Guardian:
    """A student's parent: only the fields the answer carries are changed."""
    fields: dict[str, Any] = {"last_seen_at": now, "gone_at": None}
    if "mobile" in parent:
        fields["mobile"] = _optional_text(parent.get("mobile"))
    if "is_subscribe" in parent:
        fields["is_subscribe"] = _flag(parent.get("is_subscribe"))
    if "external_userid" in parent or fields.get("is_subscribe") is False:
        fields["external_userid"] = _optional_text(parent.get("external_userid"))
    parent_userid = _text(parent, "parent_userid")
    guardian, _created = Guardian.objects.update_or_create(parent_userid=parent_userid, defaults=fields)
    return guardian


def _link(*, guardian: Guardian, student: Student, relation: str | None, now: dt.datetime) -> None:
    Guardianship.objects.update_or_create(
        guardian=guardian, student=student, defaults={"relation": relation, "last_seen_at": now, "gone_at": None}
    )


def _rename(model: Any, key: str, previous: str, current: str) -> None:
    """Keep the row (and its links) of a user whose userid WeCom changed, under the new userid."""
    if not previous or previous == current or model.objects.filter(**{key: current}).exists():
        return
    model.objects.filter(**{key: previous}).update(**{key: current})


def _class_of(department_ids: Any) -> Department | None:
    if not isinstance(department_ids, list):
        return None
    ids = [i for i in department_ids if isinstance(i, int) and not isinstance(i, bool)]
    return Department.objects.filter(department_id__in=ids, type=DepartmentType.CLASS).order_by("department_id").first()


# -- reading the answer ---------------------------------------------------------------------


def _text(entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise WeComError.malformed(f"{API}: an entry without {key}", api=API)
    return value


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _flag(value: Any) -> bool | None:
    return None if value is None or isinstance(value, str) else bool(value)


def _list_of_objects(entry: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = entry.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise WeComError.malformed(f"{API}: {key} is not a list of objects", api=API)
    return items


def _ids(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))
