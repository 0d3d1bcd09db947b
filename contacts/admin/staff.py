"""The school's teachers as the roster sync read them, and the link of a staff account to a WeCom member.

Teachers are read-only, like the rest of the roster. Staff who see every parent see every
member; a teacher sees themselves, the teachers following their families and the teachers of
their classes, each with what they do in the classes and grades the teacher may see
(contacts.scope). Linking an account to a member's userid (so that the member signs in to it with
WeCom) is for superusers, on the account's page.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from contacts.admin.permissions import NotFoundAdminMixin, ReadOnlyAdminMixin
from contacts.models import DepartmentAdmin, StaffMember, WeComAccount
from contacts.scope import visible_roles, visible_staff_members


def _attach_roles(*, user, members: list[StaffMember]) -> None:
    """What each member heads or teaches now, where the reader may see it, as `current_roles` (one query)."""
    roles: dict[str, list[DepartmentAdmin]] = {}
    current = visible_roles(user=user).filter(userid__in=[member.userid for member in members])
    for role in current.select_related("department").order_by("department__department_id", "type"):
        roles.setdefault(role.userid, []).append(role)
    for member in members:
        member.current_roles = roles.get(member.userid, [])


class StaffMemberList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # The roles of the whole page in one query, not one per row.
        _attach_roles(user=request.user, members=list(self.result_list))


@admin.register(StaffMember)
class StaffMemberAdmin(NotFoundAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "userid", "status", "roles_display", "last_seen_at", "gone_at")
    list_filter = ("status",)
    search_fields = ("userid", "name")
    fields = ("userid", "name", "status", "roles_display", "first_seen_at", "last_seen_at", "gone_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return visible_staff_members(user=request.user, members=super().get_queryset(request))

    def get_changelist(self, request, **kwargs):
        return StaffMemberList

    def get_object(self, request, object_id, from_field=None):
        # The page of one member shows its roles as the list does; a display method has no request.
        member = super().get_object(request, object_id, from_field)
        if member is not None:
            _attach_roles(user=request.user, members=[member])
        return member

    @admin.display(description=_("任教与职责"))
    def roles_display(self, member: StaffMember) -> str:
        return "、".join(
            f"{role.department.name} {role.get_type_display()}{f'（{role.subject}）' if role.subject else ''}"
            for role in member.current_roles
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
