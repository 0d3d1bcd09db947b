"""Every refresh worth remembering, read-only: answers that brought a change, and failures.

Phone numbers are masked unless the reader may see them.
"""

import json
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from contacts.admin.permissions import ReadOnlyAdminMixin, can_see_phones, reveal_phones_flag
from contacts.models import AuditAction, ContactSnapshot
from contacts.privacy import mask_phone
from contacts.services.audit import record_audit
from contacts.services.changes import record_lines


def mask_phones_in(value: Any) -> Any:
    """The raw answer with every remark_mobiles list masked."""
    if isinstance(value, dict):
        return {
            key: [mask_phone(str(p)) for p in item] if key == "remark_mobiles" and isinstance(item, list)
            else mask_phones_in(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_phones_in(item) for item in value]
    return value


class OutcomeFilter(admin.SimpleListFilter):
    title = _("结果")
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [("changed", _("成功")), ("failed", _("失败"))]

    def queryset(self, request, queryset):
        if self.value() == "changed":
            return queryset.filter(error="")
        if self.value() == "failed":
            return queryset.exclude(error="")
        return queryset


class SnapshotList(ChangeList):
    """The list never shows the raw answers, which can be large: do not load them."""

    def get_queryset(self, request, exclude_parameters=None):
        return super().get_queryset(request, exclude_parameters).defer("raw")


@admin.register(ContactSnapshot)
class ContactSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("fetched_at", "contact", "trigger", "triggered_by", "changes_display")
    list_filter = (OutcomeFilter, "trigger")
    list_select_related = ("contact", "triggered_by")
    search_fields = ("contact__external_userid", "contact__name")
    date_hierarchy = "fetched_at"
    fields = ("contact", "fetched_at", "trigger", "triggered_by", "changes_display", "errcode", "raw_display")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(reveal_phones=reveal_phones_flag(request))

    def get_changelist(self, request, **kwargs):
        return SnapshotList

    def change_view(self, request, object_id, form_url="", extra_context=None):
        snapshot = self.get_object(request, unquote(object_id))
        if (
            snapshot is not None
            and request.method == "GET"
            and self.has_view_permission(request, snapshot)
            and can_see_phones(request)
        ):
            record_audit(user=request.user, action=AuditAction.VIEW_PHONES, contact=snapshot.contact)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("变更"))
    def changes_display(self, snapshot: ContactSnapshot) -> str:
        reveal = bool(getattr(snapshot, "reveal_phones", False))
        return gettext("；").join(record_lines(changes=snapshot.changes, error=snapshot.error, reveal_phones=reveal))

    @admin.display(description=_("企业微信原始返回"))
    def raw_display(self, snapshot: ContactSnapshot):
        if snapshot.raw is None:
            return "—"
        raw = snapshot.raw if getattr(snapshot, "reveal_phones", False) else mask_phones_in(snapshot.raw)
        return format_html("<pre class=\"raw-json\">{}</pre>", json.dumps(raw, ensure_ascii=False, indent=2))
