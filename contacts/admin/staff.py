"""The school's teachers as the roster sync read them, and the link of a staff account to a WeCom member.

Teachers are read-only, like the rest of the roster. Linking an account to a member's
userid (so that the member signs in to it with WeCom) is for superusers, on the account's page.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from contacts.admin.permissions import ReadOnlyAdminMixin
from contacts.models import DepartmentAdmin, StaffMember, WeComAccount


def _current_roles(userids: list[str]) -> dict[str, list[DepartmentAdmin]]:
    """What each member heads or teaches now, by userid (one query)."""
    roles: dict[str, list[DepartmentAdmin]] = {}
    current = DepartmentAdmin.objects.filter(userid__in=userids, gone_at__isnull=True).select_related("department")
    for role in current.order_by("department__department_id", "type"):
        roles.setdefault(role.userid, []).append(role)
    return roles


class StaffMemberList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # The roles of the whole page in one query, not one per row.
        members = list(self.result_list)
        roles = _current_roles([member.userid for member in members])
        for member in members:
            member.current_roles = roles.get(member.userid, [])


@admin.register(StaffMember)
class StaffMemberAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "userid", "status", "roles_display", "last_seen_at", "gone_at")
    list_filter = ("status",)
    search_fields = ("userid", "name")
    fields = ("userid", "name", "status", "roles_display", "first_seen_at", "last_seen_at", "gone_at")
    readonly_fields = fields

    def get_changelist(self, request, **kwargs):
        return StaffMemberList

    @admin.display(description=_("任教与职责"))
    def roles_display(self, member: StaffMember) -> str:
        roles = getattr(member, "current_roles", None)
        if roles is None:  # the page of one member
            roles = _current_roles([member.userid]).get(member.userid, [])
        return "、".join(
            f"{role.department.name} {role.get_type_display()}{f'（{role.subject}）' if role.subject else ''}"
            for role in roles
        )


class WeComAccountInline(admin.StackedInline):
    model = WeComAccount
    fields = ("userid", "linked_at")
    readonly_fields = ("linked_at",)
    max_num = 1
    can_delete = True
    verbose_name = _("企业微信登录")
    verbose_name_plural = _("企业微信登录")

    # Who signs in to which account is for superusers only, whatever else a user may change.
    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, WeComAccountInline]
    list_display = (*UserAdmin.list_display, "wecom_userid")
    list_select_related = ("wecom_account",)
    search_fields = (*UserAdmin.search_fields, "wecom_account__userid")

    @admin.display(description=_("企业微信userid"), ordering="wecom_account__userid")
    def wecom_userid(self, user) -> str:
        account = getattr(user, "wecom_account", None)
        return account.userid if account else ""
