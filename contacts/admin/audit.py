"""The audit log: who refreshed, looked up, or saw the full phones of which parent, and who searched by phone.

Superusers only."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from contacts.admin.permissions import (
    NotFoundAdminMixin,
    ReadOnlyAdminMixin,
    SidebarFiltersOnlyMixin,
    SuperuserOnlyAdminMixin,
)
from contacts.models import AuditEntry
from contacts.services.audit import audit_result_text


@admin.register(AuditEntry)
class AuditEntryAdmin(
    SidebarFiltersOnlyMixin, NotFoundAdminMixin, ReadOnlyAdminMixin, SuperuserOnlyAdminMixin, admin.ModelAdmin
):
    list_display = ("at", "username", "action", "external_userid", "contact", "result_display")
    list_filter = ("action",)
    list_select_related = ("contact",)
    # A phone search keeps its term: who tried a number is found by the number (in `outcome` for older entries).
    search_fields = ("username", "external_userid", "result__term", "outcome")
    date_hierarchy = "at"
    fields = ("at", "username", "user", "action", "external_userid", "contact", "result_display")
    readonly_fields = fields

    @admin.display(description=_("结果"))
    def result_display(self, entry: AuditEntry) -> str:
        return audit_result_text(entry)
