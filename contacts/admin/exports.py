"""Contact sheets in the admin: the 导出 Excel button of the parent list, and each person's exports.

The button exports exactly what the list shows: the list's own queryset, with its filters, its
search (by phone only with the phone permission) and whatever limits the reader's list, built by
the list itself. Phones are masked unless the reader may see them. Up to EXPORT_INLINE_ROWS
parents download at once; more are written in the background, and the export's page offers the
file when it is ready, to its owner only (and superusers), for EXPORT_RETENTION_DAYS. Staff need
`contacts.export_externalcontact` (every role has it); every export is in the audit log.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from contacts.admin.permissions import (
    ReadOnlyAdminMixin,
    SidebarFiltersOnlyMixin,
    can_export,
    can_see_phones,
)
from contacts.admin_site import NotAllowed
from contacts.models import EXPORT_ACTIVE_STATUSES, Export, ExportStatus
from contacts.services.exports import (
    PARENT_LIST_SHEET,
    XLSX_CONTENT_TYPE,
    ExportedSheet,
    ExportFileGone,
    ExportNotReady,
    ExportNotStarted,
    ParentSheet,
    export_parents_now,
    open_export_file,
    runs_in_background,
    start_parent_export,
)

# Seconds between reloads of a page showing an export being written.
REFRESH_SECONDS = 3
FULL_PHONES_REFUSED = _("这个文件含完整手机号，下载需要查看完整手机号的权限；请重新导出（手机号将隐藏）。")


def export_url(export: Export) -> str:
    return reverse("admin:contacts_export_change", args=[export.pk])


def exports_url() -> str:
    return reverse("admin:contacts_export_changelist")


def sheet_response(sheet: ExportedSheet) -> FileResponse:
    return FileResponse(sheet.file, as_attachment=True, filename=sheet.filename, content_type=XLSX_CONTENT_TYPE)


def described_filters(changelist: ChangeList) -> str:
    """What a list was narrowed to, as its reader chose it: "搜索「李」；班级：三年级 · 1班"."""
    parts = []
    if changelist.query:
        parts.append(gettext("搜索「%(term)s」") % {"term": changelist.query})
    for spec in changelist.filter_specs:
        if not getattr(spec, "used_parameters", None):
            continue
        chosen = [str(choice["display"]) for choice in spec.choices(changelist) if choice["selected"]]
        if chosen:
            parts.append(f"{spec.title}：{'、'.join(chosen)}")
    return "；".join(parts) or gettext("全部家长（未筛选）")


class ParentExportMixin:
    """The 导出 Excel button of the parent list (POST with CSRF: an export is written to the audit log)."""

    export_sheet: ParentSheet = PARENT_LIST_SHEET

    def has_export_permission(self, request: HttpRequest) -> bool:
        return can_export(request) and self.has_view_permission(request)

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("export/", self.admin_site.admin_view(self.export_view), name=f"{prefix}_export"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_export": self.has_export_permission(request)}
        return super().changelist_view(request, extra_context)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_export_permission(request):
            raise NotAllowed(gettext("导出家长名单需要导出权限，请联系学校管理员。"))
        # The list's address, without its page: the export holds every page.
        query = request.GET.copy()
        query.pop(PAGE_VAR, None)
        request.GET = query
        list_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        shown_list_url = f"{list_url}?{query.urlencode()}" if query else list_url
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            self.message_user(request, gettext("筛选条件有误，请在列表中重新筛选后再导出。"), messages.ERROR)
            return HttpResponseRedirect(list_url)
        rows = changelist.result_count
        if not rows:
            self.message_user(request, gettext("列表中没有家长，未导出。"), messages.WARNING)
            return HttpResponseRedirect(shown_list_url)
        arguments = {
            "user": request.user,
            "contacts": changelist.queryset,
            "description": described_filters(changelist),
            "reveal_phones": can_see_phones(request),
            "sheet": self.export_sheet,
        }
        if not runs_in_background(rows=rows):
            return sheet_response(export_parents_now(**arguments))
        try:
            export = start_parent_export(**arguments)
        except ExportNotStarted:
            self.message_user(
                request, gettext("导出未能加入后台队列，请联系系统管理员（详见服务器日志）。"), messages.ERROR
            )
            return HttpResponseRedirect(shown_list_url)
        self.message_user(
            request,
            gettext("共 %(rows)d 位家长，超过 %(limit)d 位，正在后台生成；完成后在本页下载。")
            % {"rows": export.row_count, "limit": settings.EXPORT_INLINE_ROWS},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(export_url(export))


@admin.register(Export)
class ExportAdmin(SidebarFiltersOnlyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each person's own exports (a superuser's: everyone's), and the download of a finished one."""

    list_display = ("__str__", "status", "row_count", "description", "created_at", "download_link")
    list_per_page = 25
    fields = (
        "status",
        "row_count",
        "description",
        "phones_display",
        "created_at",
        "finished_at",
        "expires_at",
        "error",
    )
    readonly_fields = fields
    change_form_template = "admin/contacts/export/change_form.html"
    change_list_template = "admin/contacts/export/change_list.html"

    def has_module_permission(self, request) -> bool:
        return can_export(request)

    def has_view_permission(self, request, obj=None) -> bool:
        if not can_export(request):
            return False
        return obj is None or obj.user_id == request.user.pk or request.user.is_superuser

    def get_queryset(self, request):
        exports = super().get_queryset(request).defer("contact_ids")
        return exports if request.user.is_superuser else exports.filter(user=request.user)

    def get_fields(self, request, obj=None):
        if obj is not None and not obj.error:
            return [name for name in self.fields if name != "error"]
        return self.fields

    def get_list_display(self, request):
        if request.user.is_superuser:
            return ("__str__", "username", *self.list_display[1:])
        return self.list_display

    @admin.display(description=_("手机号"))
    def phones_display(self, export: Export) -> str:
        return gettext("含完整手机号") if export.reveal_phones else gettext("已隐藏")

    @admin.display(description=_("到期删除"))
    def expires_at(self, export: Export) -> str:
        expires = timezone.localtime(export.created_at + dt.timedelta(days=settings.EXPORT_RETENTION_DAYS))
        return date_format(expires, "DATETIME_FORMAT")

    @admin.display(description=_("下载"))
    def download_link(self, export: Export):
        if export.status != ExportStatus.FINISHED:
            return export.get_status_display()
        return format_html('<a href="{}" class="download-link">{}</a>', download_url(export), gettext("下载"))

    def changelist_view(self, request, extra_context=None):
        active = self.get_queryset(request).filter(status__in=EXPORT_ACTIVE_STATUSES).exists()
        extra_context = {**(extra_context or {}), "auto_refresh": active, "refresh_seconds": REFRESH_SECONDS}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        export = self.get_object(request, unquote(object_id))
        if export is not None:
            extra_context = {
                **(extra_context or {}),
                "auto_refresh": export.is_active,
                "refresh_seconds": REFRESH_SECONDS,
                "download_url": download_url(export) if export.status == ExportStatus.FINISHED else "",
                "may_download": not export.reveal_phones or can_see_phones(request),
                "refused": FULL_PHONES_REFUSED,
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="contacts_export_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise NotAllowed(gettext("下载导出文件需要导出权限，请联系学校管理员。"))
        # Another person's export is not found either: the page says nothing about it.
        export = self.get_object(request, unquote(object_id))
        if export is None:
            return self._gone(request)
        if export.reveal_phones and not can_see_phones(request):
            raise NotAllowed(FULL_PHONES_REFUSED)
        try:
            return sheet_response(open_export_file(export=export))
        except ExportNotReady:
            self.message_user(request, gettext("这个导出尚未生成完成，请稍候。"), messages.WARNING)
            return HttpResponseRedirect(export_url(export))
        except ExportFileGone:
            return self._gone(request)

    def _gone(self, request: HttpRequest) -> HttpResponse:
        self.message_user(
            request,
            gettext("导出文件不存在或已过期删除（导出文件保留 %(days)d 天），请在家长列表重新导出。")
            % {"days": settings.EXPORT_RETENTION_DAYS},
            messages.WARNING,
        )
        return HttpResponseRedirect(exports_url())


def download_url(export: Export) -> str:
    return reverse("admin:contacts_export_download", args=[export.pk])
