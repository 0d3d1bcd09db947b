"""Sign-in lockouts (django-axes): the page a locked-out person sees, and the records superusers see.

Who is locked out is decided by django-axes from the settings LOGIN_FAILURE_LIMIT and
LOGIN_LOCKOUT_MINUTES; docs/operations.md says how an admin unlocks someone.
"""

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from contacts.admin.permissions import SuperuserOnlyAdminMixin


def locked_out(request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None) -> HttpResponse:
    """The lockout page (AXES_LOCKOUT_CALLABLE), the same whether or not the username exists.

    It does not repeat the username: the page must tell a guesser nothing Django's
    "wrong username or password" does not.
    """
    context = {
        **admin.site.each_context(request),
        "title": gettext("暂时无法登录"),
        "login_failure_limit": settings.LOGIN_FAILURE_LIMIT,
        "login_lockout_minutes": settings.LOGIN_LOCKOUT_MINUTES,
    }
    # Rendered now: it replaces the login page's response in the middleware, after the
    # point where Django renders template responses.
    return render(request, "admin/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)


@admin.register(AccessAttempt)
class LockoutAdmin(SuperuserOnlyAdminMixin, AccessAttemptAdmin):
    """Failures per username and address; deleting a row unlocks that username from that address."""


@admin.register(AccessFailureLog)
class LoginFailureAdmin(SuperuserOnlyAdminMixin, AccessFailureLogAdmin):
    """Every failed sign-in, and whether it locked the account."""
