"""The permissions beyond Django's own as the admin checks them, and what no list or page allows.

Which parents a page shows is decided by contacts.scope; these decide what may be done.
"""

from django.contrib import admin
from django.contrib.admin import SimpleListFilter
from django.db.models import BooleanField, Value
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404, HttpRequest

from contacts.scope import sees_all_parents

REFRESH_PERMISSION = "contacts.refresh_externalcontact"
LOOKUP_PERMISSION = "contacts.lookup_externalcontact"
PHONE_PERMISSION = "contacts.view_phone_numbers"


def can_refresh(request: HttpRequest) -> bool:
    return request.user.has_perm(REFRESH_PERMISSION)


def can_look_up(request: HttpRequest) -> bool:
    """A look-up may fetch any parent of the school, so it is for staff who see every parent."""
    return request.user.has_perm(LOOKUP_PERMISSION) and sees_all_parents(user=request.user)


def can_see_phones(request: HttpRequest) -> bool:
    return request.user.has_perm(PHONE_PERMISSION)


def reveal_phones_flag(request: HttpRequest) -> Value:
    """An annotation carrying the phone permission on each row.

    Admin display methods receive only the object, never the request; the admin
    classes are shared between threads, so the request cannot be kept on them.
    """
    return Value(can_see_phones(request), output_field=BooleanField())


def staff_name(user) -> str:
    """Who did something, as plain text: Django would link the user's admin page, which
    only superusers may open. Nobody (a nightly job, WeCom's callback) shows as the admin's
    empty value: a read-only field would show None as "None"."""
    return user.get_username() if user is not None else admin.site.empty_value_display


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


class NotFoundAdminMixin:
    """A page of an object that does not exist, or that the reader may not see (the admin's
    get_queryset leaves it out), answers 404: Django's own redirect names the id asked for."""

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404


class WholeSchoolAdminMixin:
    """Pages about the whole school (jobs, WeCom's events): only for staff who see every parent,
    whatever view permission a group was given."""

    def has_module_permission(self, request) -> bool:
        return sees_all_parents(user=request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return sees_all_parents(user=request.user) and super().has_view_permission(request, obj)


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
