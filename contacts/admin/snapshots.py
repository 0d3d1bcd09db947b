"""Every refresh worth remembering about the parents the reader may see (contacts.scope), read-only:
answers that brought a change, and failures. Phone numbers, also those typed into text, are masked
unless the reader may see them.
"""

import json

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from contacts.admin.masking import PhoneSearchAuditMixin, parent_label, reveals_phones
from contacts.admin.permissions import (
    NotFoundAdminMixin,
    ReadOnlyAdminMixin,
    SidebarFiltersOnlyMixin,
    can_see_phones,
    reveal_phones_flag,
    staff_name,
)
from contacts.models import AuditAction, ContactSnapshot
from contacts.privacy import mask_phones_in_data
from contacts.scope import visible_snapshots
from contacts.selectors import member_names, search_snapshots
from contacts.services.audit import record_audit
from contacts.services.changes import ContactChanges, record_lines
from contacts.texts import error_text


class OutcomeFilter(admin.SimpleListFilter):
    title = _("结果")
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [("changed", _("成功")), ("failed", _("失败"))]

    def queryset(self, request, queryset):
        # A failure is a record, or the text of one written before records.
        failed = Q(failure__isnull=False) | ~Q(error="")
        if self.value() == "changed":
            return queryset.exclude(failed)
        if self.value() == "failed":
            return queryset.filter(failed)
        return queryset


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
class ContactSnapshotAdmin(
    PhoneSearchAuditMixin, SidebarFiltersOnlyMixin, NotFoundAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    list_display = ("fetched_at", "contact_display", "trigger", "triggered_by", "changes_display")
    list_filter = (OutcomeFilter, "trigger")
    list_select_related = ("contact", "triggered_by")
    # The search itself is search_snapshots(); this only turns the search box on.
    search_fields = ("contact__external_userid",)
    search_help_text = _("按家长查找，与家长列表的搜索相同")
    # A parent page links to all of that parent's refreshes.
    url_filters = ("contact",)
    date_hierarchy = "fetched_at"
    change_form_template = "admin/masked_change_form.html"
    fields = (
        "contact_display",
        "fetched_at",
        "trigger",
        "triggered_by_name",
        "changes_display",
        "errcode",
        "raw_display",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        snapshots = visible_snapshots(user=request.user, snapshots=super().get_queryset(request))
        return snapshots.annotate(reveal_phones=reveal_phones_flag(request))

    def get_changelist(self, request, **kwargs):
        return SnapshotList

    def get_search_results(self, request, queryset, search_term):
        found = search_snapshots(snapshots=queryset, term=search_term, may_search_phones=can_see_phones(request))
        return found, False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        snapshot = self.get_object(request, unquote(object_id))
        if snapshot is not None and self.has_view_permission(request, snapshot):
            reveal = can_see_phones(request)
            # The title names the parent as the list does, and never shows a phone the reader may not see.
            label = snapshot.titled(parent_label(snapshot.contact, reveal=reveal))
            extra_context = {**(extra_context or {}), "subtitle": label, "shown_label": label}
            if reveal and request.method == "GET":
                record_audit(user=request.user, action=AuditAction.VIEW_PHONES, contact=snapshot.contact)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("触发人"))
    def triggered_by_name(self, snapshot: ContactSnapshot) -> str:
        return staff_name(snapshot.triggered_by)

    @admin.display(description=_("家长"), ordering="contact__name")
    def contact_display(self, snapshot: ContactSnapshot):
        url = reverse("admin:contacts_externalcontact_change", args=[snapshot.contact_id])
        return format_html('<a href="{}">{}</a>', url, parent_label(snapshot.contact, reveal=reveals_phones(snapshot)))

    @admin.display(description=_("变更"))
    def changes_display(self, snapshot: ContactSnapshot) -> str:
        changes = ContactChanges.from_json(snapshot.changes)
        names = getattr(snapshot, "teacher_names", None)
        if names is None:  # the page of one snapshot
            names = member_names(userids=changes.teacher_userids)
        lines = record_lines(
            changes=changes,
            error=error_text(snapshot.failure, legacy=snapshot.error),
            reveal_phones=reveals_phones(snapshot),
            names=names,
        )
        return gettext("；").join(lines)

    @admin.display(description=_("企业微信原始返回"))
    def raw_display(self, snapshot: ContactSnapshot):
        if snapshot.raw is None:
            return "—"
        raw = snapshot.raw if reveals_phones(snapshot) else mask_phones_in_data(snapshot.raw)
        return format_html('<pre class="raw-json">{}</pre>', json.dumps(raw, ensure_ascii=False, indent=2))
