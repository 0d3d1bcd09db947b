"""The school's admin site: its names, the order of its apps, its sign-in page and its refusals.

It is Django's default admin site (`schoolcontacts.apps.SchoolAdminConfig` makes it so),
so `admin.site` and `@admin.register` mean this site everywhere. It lives outside the
contacts.admin package: importing that package registers the admins on this very site.
"""

from functools import update_wrapper

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

SCHOOL_APP = "contacts"


class NotAllowed(PermissionDenied):
    """A refusal whose message says, in the reader's language, what needs which group.

    The admin shows the message on its refusal page.
    """


class SchoolAdminSite(admin.AdminSite):
    site_header = _("家校通讯录")
    site_title = _("家校通讯录")
    index_title = _("学校家长信息")

    def get_app_list(self, request, app_label=None):
        # What the school works with comes first; the rest (sign-in, background tasks,
        # lockouts) is for whoever runs the system and keeps Django's alphabetical order.
        apps = super().get_app_list(request, app_label)
        return sorted(apps, key=lambda app: app["app_label"] != SCHOOL_APP)

    def login(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "login_failure_limit": settings.LOGIN_FAILURE_LIMIT,
            "login_lockout_minutes": settings.LOGIN_LOCKOUT_MINUTES,
        }
        return super().login(request, extra_context)

    def admin_view(self, view, cacheable=False):
        def refusing_in_the_admin(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except PermissionDenied as refusal:
                return self.permission_denied(request, refusal)

        return super().admin_view(update_wrapper(refusing_in_the_admin, view), cacheable)

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        # No page here has an autocomplete field. The view would list the rows of any admin by
        # their str(): past the masking of phones in names and the recording of phone searches.
        raise Http404

    def permission_denied(self, request: HttpRequest, refusal: PermissionDenied) -> HttpResponse:
        """A refusal as an admin page: why, whom to ask, and the pages this person may open instead.

        Django's own refusals say nothing and get the general explanation; this project's
        say what was refused (NotAllowed).
        """
        context = {
            **self.each_context(request),
            "title": gettext("没有权限"),
            "reason": str(refusal) if isinstance(refusal, NotAllowed) else "",
        }
        return TemplateResponse(request, "admin/permission_denied.html", context, status=403)
