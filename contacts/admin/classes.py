"""The class page (班级): the classes a reader may see, and per class its students and their guardians.

Read-only, like the rest of the roster. Staff who see every parent see every class; a teacher the
classes they teach and those of their families' children (contacts.scope), and a class outside
answers 404. The rows come from contacts.class_roster, which an export of the page reads too.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from contacts.admin.permissions import NotFoundAdminMixin, ReadOnlyAdminMixin, can_see_phones
from contacts.class_roster import class_roster
from contacts.models import Department, SchoolClass
from contacts.scope import visible_classes

NOT_CONNECTED_VAR = "not_connected"
SEARCH_VAR = "q"


@admin.register(SchoolClass)
class SchoolClassAdmin(NotFoundAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "grade_display", "student_count", "not_connected_count")
    list_display_links = ("name",)
    search_fields = ("name",)
    list_per_page = 100

    def get_queryset(self, request):
        grade = Department.objects.filter(department_id=OuterRef("parent_department_id")).values("name")[:1]
        current = Q(students__gone_at__isnull=True, students__guardianships__gone_at__isnull=True)
        not_connected = Q(students__guardianships__guardian__is_subscribe=False) | Q(
            students__guardianships__guardian__external_userid__isnull=True
        )
        return (
            visible_classes(user=request.user)
            .annotate(
                grade_name=Subquery(grade),
                students_on_roster=Count("students", filter=Q(students__gone_at__isnull=True), distinct=True),
                guardians_not_connected=Count(
                    "students__guardianships__guardian", filter=current & not_connected, distinct=True
                ),
            )
            .order_by("parent_department_id", "order", "department_id")
        )

    @admin.display(description=_("年级"), ordering="grade_name")
    def grade_display(self, school_class) -> str:
        return school_class.grade_name or ""

    @admin.display(description=_("学生"), ordering="students_on_roster")
    def student_count(self, school_class) -> int:
        return school_class.students_on_roster

    @admin.display(description=_("未连接的家长"), ordering="guardians_not_connected")
    def not_connected_count(self, school_class) -> int:
        return school_class.guardians_not_connected

    def change_view(self, request, object_id, form_url="", extra_context=None):
        school_class = self.get_object(request, object_id)
        if school_class is None or not self.has_view_permission(request, school_class):
            raise Http404
        not_connected_only = request.GET.get(NOT_CONNECTED_VAR) == "1"
        search = request.GET.get(SEARCH_VAR, "").strip()
        rows = class_roster(
            user=request.user,
            school_class=school_class,
            reveal_phones=can_see_phones(request),
            not_connected_only=not_connected_only,
            search=search,
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": school_class,
            "title": school_class.name,
            "subtitle": school_class.grade_name,
            "students": rows,
            "guardian_count": sum(len(row.guardians) for row in rows),
            "not_connected_only": not_connected_only,
            "search": search,
            "not_connected_var": NOT_CONNECTED_VAR,
            "search_var": SEARCH_VAR,
            "empty_text": gettext("没有符合条件的学生。"),
        }
        return TemplateResponse(request, "admin/contacts/schoolclass/class_page.html", context)
