"""The audit log: who refreshed, looked up, or saw the full phones of which parent. Superusers only."""

from django.contrib import admin

from contacts.admin.permissions import ReadOnlyAdminMixin
from contacts.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "username", "action", "external_userid", "contact", "outcome")
    list_filter = ("action",)
    list_select_related = ("contact",)
    search_fields = ("username", "external_userid")
    date_hierarchy = "at"
    fields = ("at", "username", "user", "action", "external_userid", "contact", "outcome")
    readonly_fields = fields

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

