"""Sidebar filters of the parent list.

Their choices come from what the reader may see (contacts.scope): a teacher is offered the
teachers, tags, classes and grades of their own families, never another's. A value typed into
the address narrows the list the reader sees; it never widens it.
"""

import datetime as dt

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.admin.permissions import can_see_phones
from contacts.models import Department, FollowUser, FollowUserTag, Guardianship, member_label
from contacts.privacy import mask_phones_in_text
from contacts.scope import visible_classes, visible_follow_users, visible_grades, visible_tags
from contacts.selectors import member_names


class TeacherFilter(admin.SimpleListFilter):
    title = _("跟进老师")
    parameter_name = "teacher"

    def lookups(self, request, model_admin):
        userids = list(
            visible_follow_users(user=request.user).order_by("userid").values_list("userid", flat=True).distinct()
        )
        names = member_names(userids=userids)
        return [(userid, member_label(userid, names.get(userid))) for userid in userids]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        followed = FollowUser.objects.filter(contact=OuterRef("pk"), userid=self.value(), ended_at__isnull=True)
        return queryset.filter(Exists(followed))


class TagFilter(admin.SimpleListFilter):
    """Tags are text teachers typed: without the phone permission, their phones are masked in the
    choices, and a choice keeps the parents whose tag shows so; a tag cannot be guessed by its phone."""

    title = _("老师打的标签")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        names = self._current_names(request)
        if not can_see_phones(request):
            names = list(dict.fromkeys(mask_phones_in_text(name) for name in names))
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        if can_see_phones(request):
            names = [self.value()]
        else:
            names = [name for name in self._current_names(request) if mask_phones_in_text(name) == self.value()]
        tagged = FollowUserTag.objects.filter(
            follow_user__contact=OuterRef("pk"), follow_user__ended_at__isnull=True, tag_name__in=names
        )
        return queryset.filter(Exists(tagged))

    @staticmethod
    def _current_names(request) -> list[str]:
        return list(
            visible_tags(user=request.user)
            .exclude(tag_name__isnull=True)
            .order_by("tag_name")
            .values_list("tag_name", flat=True)
            .distinct()
        )


class StaleFilter(admin.SimpleListFilter):
    title = _("刷新情况")
    parameter_name = "stale"

    DAYS = {"1": 1, "7": 7, "30": 30}

    def lookups(self, request, model_admin):
        return [
            ("1", _("超过 1 天未刷新")),
            ("7", _("超过 7 天未刷新")),
            ("30", _("超过 30 天未刷新")),
            ("never", _("从未成功刷新")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "never":
            return queryset.filter(last_refreshed_at__isnull=True)
        if value in self.DAYS:
            cutoff = timezone.now() - dt.timedelta(days=self.DAYS[value])
            return queryset.filter(Q(last_refreshed_at__lt=cutoff) | Q(last_refreshed_at__isnull=True))
        return queryset


def _in_order(departments) -> list[Department]:
    """Departments in WeCom's order (a larger order first)."""
    return sorted(departments, key=lambda d: (d.standard_grade or 0, -(d.order or 0), d.department_id))


def _with_child_in(queryset, **student_department):
    """Parents with a child, still linked on the roster, in the given class(es)."""
    linked = Guardianship.objects.filter(
        guardian__external_userid=OuterRef("external_userid"),
        gone_at__isnull=True,
        **{f"student__department__{key}": value for key, value in student_department.items()},
    )
    return queryset.filter(Exists(linked))


class ClassFilter(admin.SimpleListFilter):
    title = _("班级")
    parameter_name = "class"

    def lookups(self, request, model_admin):
        grades = {
            grade.department_id: (position, grade.name)
            for position, grade in enumerate(_in_order(visible_grades(user=request.user)))
        }
        classes = sorted(
            _in_order(visible_classes(user=request.user)),
            key=lambda c: (grades.get(c.parent_department_id, (len(grades), ""))[0], -(c.order or 0), c.department_id),
        )
        return [(str(klass.department_id), self._label(klass, grades)) for klass in classes]

    @staticmethod
    def _label(klass: Department, grades: dict[int, tuple[int, str]]) -> str:
        grade_name = grades.get(klass.parent_department_id, (0, ""))[1]
        if not grade_name or grade_name in klass.name:
            return klass.name
        return f"{grade_name} · {klass.name}"

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return _with_child_in(queryset, department_id=int(value))


class GradeFilter(admin.SimpleListFilter):
    title = _("年级")
    parameter_name = "grade"

    def lookups(self, request, model_admin):
        return [(str(grade.department_id), grade.name) for grade in _in_order(visible_grades(user=request.user))]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return _with_child_in(queryset, parent_department_id=int(value))
