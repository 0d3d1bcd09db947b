"""The audit log: who refreshed, looked up, or saw the full phones of which parent, and who searched by phone.

Superusers only."""

from django.contrib import admin

from contacts.admin.permissions import (
    NotFoundAdminMixin,
    ReadOnlyAdminMixin,
    SidebarFiltersOnlyMixin,
    SuperuserOnlyAdminMixin,
)
from contacts.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(
    SidebarFiltersOnlyMixin, NotFoundAdminMixin, ReadOnlyAdminMixin, SuperuserOnlyAdminMixin, admin.ModelAdmin
):
    list_display = ("at", "username", "action", "external_userid", "contact", "outcome")
    list_filter = ("action",)
    list_select_related = ("contact",)
    # The outcome holds a phone search's term: who tried a number is found by the number.
    search_fields = ("username", "external_userid", "outcome")
    date_hierarchy = "at"
    fields = ("at", "username", "user", "action", "external_userid", "contact", "outcome")
    readonly_fields = fields

