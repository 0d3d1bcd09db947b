"""The two permissions beyond Django's own, as the admin checks them."""

from django.db.models import BooleanField, Value
from django.http import HttpRequest

REFRESH_PERMISSION = "contacts.refresh_externalcontact"
PHONE_PERMISSION = "contacts.view_phone_numbers"


def can_refresh(request: HttpRequest) -> bool:
    return request.user.has_perm(REFRESH_PERMISSION)


def can_see_phones(request: HttpRequest) -> bool:
    return request.user.has_perm(PHONE_PERMISSION)


def reveal_phones_flag(request: HttpRequest) -> Value:
    """An annotation carrying the phone permission on each row.

    Admin display methods receive only the object, never the request; the admin
    classes are shared between threads, so the request cannot be kept on them.
    """
    return Value(can_see_phones(request), output_field=BooleanField())


def staff_name(user) -> str | None:
    """Who did something, as plain text: Django would link the user's admin page, which
    only superusers may open. None shows as the admin's empty value."""
    return user.get_username() if user is not None else None


class ReadOnlyAdminMixin:
    """Nothing in this app is added, edited or deleted by hand: WeCom owns the data, and
    records (snapshots, jobs, events, the audit log) are history. Staff with the view
    permission see everything read-only."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SuperuserOnlyAdminMixin:
    """Pages that name staff, addresses or system internals: superusers only, whatever
    permissions a group was given. Put ReadOnlyAdminMixin first where nothing may be deleted."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser
