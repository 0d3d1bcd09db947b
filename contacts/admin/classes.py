"""The class page (班级): the classes a reader may see, and per class its students and their guardians.

Read-only, like the rest of the roster. Staff who see every parent see every class; a teacher the
classes they teach and those of their families' children (contacts.scope), and a class outside
answers 404. The rows come from contacts.class_roster, which the page's 导出 Excel button
(contacts.services.class_export) reads too.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from contacts.admin.exports import sheet_response
from contacts.admin.permissions import NotFoundAdminMixin, ReadOnlyAdminMixin, can_export, can_see_phones
from contacts.admin_site import NotAllowed
from contacts.class_roster import class_roster
from contacts.models import Department, SchoolClass
from contacts.privacy import looks_like_phone_search
from contacts.scope import visible_classes
from contacts.services.audit import record_phone_search
from contacts.services.class_export import export_class_now

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

    def get_urls(self):
        export = path(
            "<path:object_id>/export/", self.admin_site.admin_view(self.export_view), name="contacts_schoolclass_export"
        )
        return [export, *super().get_urls()]

    def has_export_permission(self, request: HttpRequest) -> bool:
        return can_export(request) and self.has_view_permission(request)

    def _shown_class(self, request: HttpRequest, object_id: str) -> SchoolClass:
        school_class = self.get_object(request, object_id)
        if school_class is None or not self.has_view_permission(request, school_class):
            raise Http404
        return school_class

    def export_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The page's rows as a workbook, with the page's filter and search (POST: the export is audited)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_export_permission(request):
            raise NotAllowed(gettext("导出班级名单需要导出权限，请联系学校管理员。"))
        school_class = self._shown_class(request, object_id)
        exported = export_class_now(
            user=request.user,
            school_class=school_class,
            reveal_phones=can_see_phones(request),
            not_connected_only=request.GET.get(NOT_CONNECTED_VAR) == "1",
            search=request.GET.get(SEARCH_VAR, "").strip(),
        )
        return sheet_response(exported)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        school_class = self._shown_class(request, object_id)
        not_connected_only = request.GET.get(NOT_CONNECTED_VAR) == "1"
        search = request.GET.get(SEARCH_VAR, "").strip()
        rows = class_roster(
            user=request.user,
            school_class=school_class,
            reveal_phones=can_see_phones(request),
            not_connected_only=not_connected_only,
            search=search,
        )
        if search and can_see_phones(request) and looks_like_phone_search(search):
            # As on the parent list: a search by phone, by staff who may search by phone, is audited.
            record_phone_search(
                user=request.user,
                term=search,
                list_model="contacts.schoolclass",
                found=sum(len(row.guardians) for row in rows),
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
            "can_export": self.has_export_permission(request),
            "export_url": reverse("admin:contacts_schoolclass_export", args=[school_class.pk]),
        }
        return TemplateResponse(request, "admin/contacts/schoolclass/class_page.html", context)
