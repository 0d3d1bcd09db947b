"""Every answer WeCom gave, read-only; phone numbers masked unless the reader may see them."""

import json
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from contacts.admin.permissions import ReadOnlyAdminMixin, can_see_phones, reveal_phones_flag
from contacts.models import AuditAction, ContactSnapshot
from contacts.privacy import mask_phone
from contacts.selectors import member_names
from contacts.services.audit import record_audit
from contacts.services.changes import ContactChanges


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


class SnapshotList(ChangeList):
    """The list never shows the raw answers, which can be large: do not load them."""

    def get_queryset(self, request, exclude_parameters=None):
        return super().get_queryset(request, exclude_parameters).defer("raw")

    def get_results(self, request):
        super().get_results(request)
        # The teachers' names of the whole page in one query, not one per row.
        snapshots = list(self.result_list)
        userids = (userid for s in snapshots for userid in ContactChanges.from_json(s.changes).teacher_userids)
        names = member_names(userids=userids)
        for snapshot in snapshots:
            snapshot.teacher_names = names


@admin.register(ContactSnapshot)
class ContactSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("fetched_at", "contact", "trigger", "triggered_by", "changes_display")
    list_filter = ("trigger",)
    list_select_related = ("contact", "triggered_by")
    search_fields = ("contact__external_userid", "contact__name")
    date_hierarchy = "fetched_at"
    fields = ("contact", "fetched_at", "trigger", "triggered_by", "changes_display", "raw_display")
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
        changes = ContactChanges.from_json(snapshot.changes)
        names = getattr(snapshot, "teacher_names", None)
        if names is None:  # the page of one snapshot
            names = member_names(userids=changes.teacher_userids)
        return changes.summary(reveal_phones=reveal, names=names)

    @admin.display(description=_("企业微信原始返回"))
    def raw_display(self, snapshot: ContactSnapshot):
        raw = snapshot.raw if getattr(snapshot, "reveal_phones", False) else mask_phones_in(snapshot.raw)
        return format_html("<pre class=\"raw-json\">{}</pre>", json.dumps(raw, ensure_ascii=False, indent=2))
