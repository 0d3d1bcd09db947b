"""The audit log: who refreshed, looked up, or saw the full phones of which parent. Superusers only."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from contacts.admin.permissions import ReadOnlyAdminMixin
from contacts.models import AuditEntry
from contacts.services.audit import audit_result_text


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "username", "action", "external_userid", "contact", "result_display")
    list_filter = ("action",)
    list_select_related = ("contact",)
    search_fields = ("username", "external_userid")
    date_hierarchy = "at"
    fields = ("at", "username", "user", "action", "external_userid", "contact", "result_display")
    readonly_fields = fields

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    @admin.display(description=_("结果"))
    def result_display(self, entry: AuditEntry) -> str:
        return audit_result_text(entry)
