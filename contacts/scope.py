"""Who sees which parents: the one decision every list, page, search, filter and action follows.

Staff with the permission `contacts.view_all_parents` (the roles 查看家长 and 学校管理员, and
superusers) see every parent. Everybody else sees the families of a teacher: the parents the
WeCom member linked to their account follows now (a follow user with their userid, not ended),
and the parents of the children in the classes that member heads or teaches
(`classes_taught`). An account linked to no member sees no parent.

What a page shows besides parents follows from the parents in scope: their refreshes, the
teachers who follow them, the classes of their children, the tags teachers gave them. Each
selector answers with a queryset, the scope written into it as subqueries, so a page costs as
many queries for a teacher as for the office.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet

from contacts.models import (
    ContactSnapshot,
    Department,
    DepartmentAdmin,
    DepartmentType,
    ExternalContact,
    FollowUser,
    FollowUserTag,
    Guardianship,
    StaffMember,
    Student,
)
from contacts.selectors import classes_taught

VIEW_ALL_PERMISSION = "contacts.view_all_parents"

Account = AbstractBaseUser | AnonymousUser


def sees_all_parents(*, user: Account) -> bool:
    return user.is_active and user.has_perm(VIEW_ALL_PERMISSION)


def linked_userid(*, user: Account) -> str | None:
    """The WeCom userid of the member the account is linked to (one query, then kept on the user)."""
    account = getattr(user, "wecom_account", None)
    return account.userid if account is not None else None


def visible_contacts(*, user: Account, contacts: QuerySet[ExternalContact] | None = None) -> QuerySet[ExternalContact]:
    """The parents among `contacts` (every stored parent by default) that `user` may see."""
    if contacts is None:
        contacts = ExternalContact.objects.all()
    if sees_all_parents(user=user):
        return contacts
    userid = linked_userid(user=user)
    if userid is None:
        return contacts.none()
    followed = FollowUser.objects.filter(contact=OuterRef("pk"), userid=userid, ended_at__isnull=True)
    in_a_class_taught = Guardianship.objects.filter(
        guardian__external_userid=OuterRef("external_userid"),
        gone_at__isnull=True,
        student__gone_at__isnull=True,
        student__department__in=classes_taught(userid=userid),
    )
    return contacts.filter(Exists(followed) | Exists(in_a_class_taught))


def visible_snapshots(
    *, user: Account, snapshots: QuerySet[ContactSnapshot] | None = None
) -> QuerySet[ContactSnapshot]:
    """The refreshes among `snapshots` of the parents `user` may see."""
    if snapshots is None:
        snapshots = ContactSnapshot.objects.all()
    if sees_all_parents(user=user):
        return snapshots
    return snapshots.filter(contact__in=visible_contacts(user=user))


def visible_follow_users(*, user: Account) -> QuerySet[FollowUser]:
    """The teachers' current relations with the parents `user` may see."""
    current = FollowUser.objects.filter(ended_at__isnull=True)
    if sees_all_parents(user=user):
        return current
    return current.filter(contact__in=visible_contacts(user=user))


def visible_tags(*, user: Account) -> QuerySet[FollowUserTag]:
    """The tags teachers following them now gave the parents `user` may see."""
    return FollowUserTag.objects.filter(follow_user__in=visible_follow_users(user=user))


def visible_classes(*, user: Account) -> QuerySet[Department]:
    """The classes on the roster `user` may see: for a teacher, the classes they teach and the
    classes of their families' children."""
    classes = Department.objects.filter(type=DepartmentType.CLASS, gone_at__isnull=True)
    if sees_all_parents(user=user):
        return classes
    userid = linked_userid(user=user)
    if userid is None:
        return classes.none()
    families = Guardianship.objects.filter(
        gone_at__isnull=True,
        student__gone_at__isnull=True,
        guardian__external_userid__in=visible_contacts(user=user).values("external_userid"),
    )
    return classes.filter(
        Q(pk__in=classes_taught(userid=userid).values("pk")) | Q(pk__in=families.values("student__department"))
    )


def visible_students(*, user: Account, students: QuerySet[Student] | None = None) -> QuerySet[Student]:
    """The students among `students` (every one by default) `user` may see, with all their guardians,
    connected to WeCom or not: for a teacher, the students of the classes they teach and the children
    of their families."""
    if students is None:
        students = Student.objects.all()
    if sees_all_parents(user=user):
        return students
    userid = linked_userid(user=user)
    if userid is None:
        return students.none()
    families = Guardianship.objects.filter(
        gone_at__isnull=True, guardian__external_userid__in=visible_contacts(user=user).values("external_userid")
    )
    return students.filter(
        Q(department__in=classes_taught(userid=userid).values("pk")) | Q(pk__in=families.values("student"))
    )


def visible_grades(*, user: Account) -> QuerySet[Department]:
    """The grades on the roster `user` may see: every grade, or those of the classes they may see."""
    grades = Department.objects.filter(type=DepartmentType.GRADE, gone_at__isnull=True)
    if sees_all_parents(user=user):
        return grades
    return grades.filter(department_id__in=visible_classes(user=user).values("parent_department_id"))


def visible_roles(*, user: Account) -> QuerySet[DepartmentAdmin]:
    """What members head or teach now, in the departments `user` may see."""
    current = DepartmentAdmin.objects.filter(gone_at__isnull=True)
    if sees_all_parents(user=user):
        return current
    return current.filter(Q(department__in=visible_classes(user=user)) | Q(department__in=visible_grades(user=user)))


def visible_staff_members(*, user: Account, members: QuerySet[StaffMember] | None = None) -> QuerySet[StaffMember]:
    """The members among `members` (every member by default) that `user` may see: for a teacher,
    themselves, the teachers following their families and the teachers of their classes."""
    if members is None:
        members = StaffMember.objects.all()
    if sees_all_parents(user=user):
        return members
    userid = linked_userid(user=user)
    if userid is None:
        return members.none()
    colleagues = DepartmentAdmin.objects.filter(department__in=classes_taught(userid=userid), gone_at__isnull=True)
    return members.filter(
        Q(userid=userid)
        | Q(userid__in=visible_follow_users(user=user).values("userid"))
        | Q(userid__in=colleagues.values("userid"))
    )
