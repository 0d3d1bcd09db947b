"""A class as its head teacher reads it: each student with their guardians, connected to WeCom or not.

`class_roster` answers the rows of the class page (and of anything that lists a class the same
way, such as an export): the students of one class the reader may see (contacts.scope), each with
the guardians the roster lists (relation, phone masked unless the reader may see phones, whether
the guardian is connected on WeCom) and, for connected guardians the reader may see, every
teacher's remark by the teacher's name. A fixed number of queries, however big the class.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q

from contacts.models import Department, ExternalContact, FollowUser, Guardianship
from contacts.privacy import mask_phone, mask_phones_in_text, phone_search_digits, shown_text
from contacts.scope import Account, visible_contacts, visible_students
from contacts.selectors import member_names


@dataclass(frozen=True)
class TeacherRemark:
    teacher: str  # the teacher's name, else their userid
    remark: str


@dataclass(frozen=True)
class GuardianLine:
    parent_userid: str
    relation: str
    phone: str  # masked unless the reader may see phones; "" when WeCom gave none
    connected: bool
    contact_id: int | None  # the parent's page, when stored and the reader may see it
    remarks: tuple[TeacherRemark, ...]
    # The parent's WeCom id and name, when connected and the reader may see them (as contact_id).
    external_userid: str = ""
    name: str = ""


@dataclass(frozen=True)
class StudentLine:
    student_userid: str
    name: str
    guardians: tuple[GuardianLine, ...]


def class_roster(
    *,
    user: Account,
    school_class: Department,
    reveal_phones: bool,
    not_connected_only: bool = False,
    search: str = "",
) -> list[StudentLine]:
    """The students of `school_class` that `user` may see, with a guardian on the roster, by name.

    With `not_connected_only`, only the guardians not yet connected (and the students who have one);
    `search` keeps the students whose name contains it, and, for readers who may see phones
    (`reveal_phones`), those with a guardian whose phone holds the digits searched: a guardian not on
    WeCom has no name of their own, only their child's and their number."""
    links = Guardianship.objects.filter(gone_at__isnull=True, guardian__gone_at__isnull=True)
    # A student whose every guardian left them is a family that left the class, as far as a teacher can tell.
    students = visible_students(user=user).filter(
        Exists(links.filter(student=OuterRef("pk"))), department=school_class, gone_at__isnull=True
    )
    if search:
        found = Q(name__icontains=search)
        digits = phone_search_digits(search) if reveal_phones else ""
        if digits:
            found |= Exists(links.filter(student=OuterRef("pk"), guardian__mobile__contains=digits))
        students = students.filter(found)
    students = students.prefetch_related(
        Prefetch("guardianships", queryset=links.select_related("guardian").order_by("pk"), to_attr="current_links")
    )
    students = list(students)
    connected = {
        link.guardian.external_userid
        for student in students
        for link in student.current_links
        if link.guardian.is_connected
    }
    contacts, remarks = _contacts_and_remarks(user=user, external_userids=connected, reveal_phones=reveal_phones)
    lines = []
    for student in students:
        guardians = tuple(
            _guardian_line(link=link, contacts=contacts, remarks=remarks, reveal_phones=reveal_phones)
            for link in student.current_links
            if not (not_connected_only and link.guardian.is_connected)
        )
        if guardians or not not_connected_only:
            lines.append(StudentLine(student.student_userid, student.name or student.student_userid, guardians))
    return lines


def _contacts_and_remarks(
    *, user: Account, external_userids: set[str], reveal_phones: bool
) -> tuple[dict[str, tuple[int, str]], dict[str, tuple[TeacherRemark, ...]]]:
    """The stored parents among `external_userids` the reader may see (external_userid -> pk and name, its
    phones masked unless `reveal_phones`), and the remarks of the teachers following them now; three queries."""
    if not external_userids:
        return {}, {}
    stored = visible_contacts(user=user, contacts=ExternalContact.objects.filter(external_userid__in=external_userids))
    contacts = {
        external_userid: (pk, shown_text(name, reveal=reveal_phones) or "")
        for external_userid, pk, name in stored.values_list("external_userid", "pk", "name")
    }
    follows = list(
        FollowUser.objects.filter(contact__in=[pk for pk, _name in contacts.values()], ended_at__isnull=True)
        .exclude(remark__isnull=True)
        .exclude(remark="")
        .select_related("contact")
        .order_by("contact", "userid")
    )
    names = member_names(userids=[follow.userid for follow in follows])
    remarks: dict[str, list[TeacherRemark]] = {}
    for follow in follows:
        remark = follow.remark if reveal_phones else mask_phones_in_text(follow.remark)
        teacher = names.get(follow.userid, follow.userid)
        remarks.setdefault(follow.contact.external_userid, []).append(TeacherRemark(teacher, remark))
    return contacts, {external_userid: tuple(found) for external_userid, found in remarks.items()}


def _guardian_line(
    *,
    link: Guardianship,
    contacts: dict[str, tuple[int, str]],
    remarks: dict[str, tuple[TeacherRemark, ...]],
    reveal_phones: bool,
) -> GuardianLine:
    guardian = link.guardian
    mobile = guardian.mobile or ""
    external_userid = guardian.external_userid if guardian.is_connected else None
    contact_id, name = contacts.get(external_userid, (None, "")) if external_userid else (None, "")
    return GuardianLine(
        parent_userid=guardian.parent_userid,
        relation=link.relation or "",
        phone=mobile if reveal_phones or not mobile else mask_phone(mobile),
        connected=guardian.is_connected,
        contact_id=contact_id,
        remarks=remarks.get(external_userid, ()) if external_userid else (),
        external_userid=external_userid if contact_id is not None else "",
        name=name,
    )
