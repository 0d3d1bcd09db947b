"""The audit log: who refreshed, looked up, or saw the full phones of which parent. Superusers only."""

from django.contrib import admin

from contacts.admin.permissions import ReadOnlyAdminMixin, SuperuserOnlyAdminMixin
from contacts.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, SuperuserOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "username", "action", "external_userid", "contact", "outcome")
    list_filter = ("action",)
    list_select_related = ("contact",)
    search_fields = ("username", "external_userid")
    date_hierarchy = "at"
    fields = ("at", "username", "user", "action", "external_userid", "contact", "outcome")
    readonly_fields = fields

