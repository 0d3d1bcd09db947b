"""The permissions beyond Django's own as the admin checks them, and what no list or page allows."""

from django.contrib.admin import SimpleListFilter
from django.db.models import BooleanField, Value
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest

REFRESH_PERMISSION = "contacts.refresh_externalcontact"
PHONE_PERMISSION = "contacts.view_phone_numbers"
EXPORT_PERMISSION = "contacts.export_externalcontact"


def can_refresh(request: HttpRequest) -> bool:
    return request.user.has_perm(REFRESH_PERMISSION)


def can_see_phones(request: HttpRequest) -> bool:
    return request.user.has_perm(PHONE_PERMISSION)


def can_export(request: HttpRequest) -> bool:
    return request.user.has_perm(EXPORT_PERMISSION)


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


class SidebarFiltersOnlyMixin:
    """A list's address filters only by what the list offers: its sidebar filters, its date
    hierarchy and `url_filters`.

    Django's admin also accepts any lookup on the model's own fields in the address, such as
    ?subscriber_remark__icontains=1391234 or ?raw__icontains=1391234: a search of texts, phones
    and raw answers past the search box, its permission decisions and its audit.
    """

    url_filters: tuple[str, ...] = ()

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        return lookup.split(LOOKUP_SEP)[0] in self._offered_filters(request) and super().lookup_allowed(
            lookup, value, request
        )

    def _offered_filters(self, request) -> set[str]:
        offered = {self.date_hierarchy, *self.url_filters}
        for item in self.get_list_filter(request) if request is not None else self.list_filter:
            if isinstance(item, type) and issubclass(item, SimpleListFilter):
                offered.add(item.parameter_name)
            elif isinstance(item, (list, tuple)):
                offered.add(item[0])
            else:
                offered.add(item)
        return offered
