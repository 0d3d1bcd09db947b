"""The two steps of a WeCom sign-in a browser goes through.

`wecom_sign_in` (from the login page's 企业微信登录) sends the browser to WeCom with a new
state; WeCom sends it back to `wecom_sign_in_callback` with a code, which signs the member in.
Whatever goes wrong gets a page saying what happened and what to do, and no session.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from contacts.signin.services import SignInProblem, SignInRefused, sign_in_account
from contacts.signin.state import finish_sign_in, start_sign_in
from contacts.wecom.client import get_client
from contacts.wecom.errors import WeComError
from contacts.wecom.sign_in import is_wecom_app, sign_in_configured, sign_in_url

# The backend the session records; WeCom sign-in bypasses authenticate(), so it is named here.
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"
ERRCODE_BAD_CODE = 40029


@dataclass(frozen=True)
class Refusal:
    title: Promise
    advice: Promise  # may name %(userid)s and %(username)s
    status: int


REFUSALS: dict[str, Refusal] = {
    "not_configured": Refusal(
        _("未启用企业微信登录"),
        _("学校尚未设置企业微信登录。请使用账号密码登录，或请学校的信息管理员按说明设置（WECOM_AGENT_ID）。"),
        404,
    ),
    "no_state": Refusal(
        _("登录请求不完整"),
        _("企业微信没有带回本次登录的凭证。请回到登录页，重新点击「企业微信登录」。"),
        400,
    ),
    "foreign_state": Refusal(
        _("登录请求已失效"),
        _(
            "这次登录不是在本浏览器中发起的，或已经完成过、超过了 10 分钟。"
            "请在同一个浏览器中回到登录页，重新点击「企业微信登录」。"
        ),
        400,
    ),
    "no_code": Refusal(
        _("没有完成企业微信登录"),
        _("企业微信没有确认你的身份（可能取消了扫码或授权）。请回到登录页，重新点击「企业微信登录」。"),
        400,
    ),
    "bad_code": Refusal(
        _("企业微信登录凭证无效"),
        _(
            "登录凭证已经用过或已过期（只能用一次，5 分钟内有效）。"
            "请回到登录页重新登录；登录后不要刷新或重复打开返回的页面。"
        ),
        400,
    ),
    "wecom_failed": Refusal(
        _("暂时无法通过企业微信确认身份"),
        _("请稍后回到登录页重试。若问题持续，请把本页内容告诉学校的信息管理员。"),
        503,
    ),
    SignInProblem.NOT_MEMBER.value: Refusal(
        _("不是本校企业微信成员"),
        _(
            "扫码的账号不是本校企业微信中的成员，不能登录。"
            "请用你在本校企业微信中的账号扫码；家长请通过学校通知联系学校。"
        ),
        403,
    ),
    SignInProblem.NO_ACCOUNT.value: Refusal(
        _("还没有你的账号"),
        _(
            "学校尚未为你（企业微信账号 %(userid)s）开通账号。"
            "请把这个账号告诉学校管理员：开通并关联后即可用企业微信登录。"
        ),
        403,
    ),
    SignInProblem.DISABLED.value: Refusal(
        _("账号已停用"),
        _("你的账号（%(username)s）已被停用。如需继续使用，请联系学校管理员。"),
        403,
    ),
    SignInProblem.NOT_STAFF.value: Refusal(
        _("账号没有使用本系统的权限"),
        _("你的账号（%(username)s）未开通“员工状态”，不能进入本系统。请联系学校管理员开通。"),
        403,
    ),
}


@never_cache
@require_GET
def wecom_sign_in(request: HttpRequest) -> HttpResponse:
    """Send the browser to WeCom's login, with a state issued to this session."""
    if not sign_in_configured():
        return _refused(request, "not_configured")
    next_url = request.GET.get("next", "")
    state = start_sign_in(request.session, next_url=next_url if _on_this_site(request, next_url) else "")
    redirect_uri = request.build_absolute_uri(reverse("wecom_sign_in_callback"))
    in_app = is_wecom_app(request.headers.get("User-Agent", ""))
    return HttpResponseRedirect(sign_in_url(redirect_uri=redirect_uri, state=state, in_wecom_app=in_app))


@never_cache
@require_GET
def wecom_sign_in_callback(request: HttpRequest) -> HttpResponse:
    """Where WeCom sends the browser back: sign the member in, or say why not."""
    if not sign_in_configured():
        return _refused(request, "not_configured")
    state, code = request.GET.get("state", ""), request.GET.get("code", "")
    if not state:
        return _refused(request, "no_state")
    pending = finish_sign_in(request.session, state=state)
    if pending is None:
        return _refused(request, "foreign_state")
    if not code:
        return _refused(request, "no_code")
    try:
        user = sign_in_account(code=code, client=get_client(), create_users=settings.WECOM_LOGIN_CREATE_USERS)
    except SignInRefused as refusal:
        return _refused(request, refusal.problem.value, userid=refusal.userid, username=refusal.username)
    except WeComError as error:
        if error.errcode == ERRCODE_BAD_CODE:
            return _refused(request, "bad_code")
        return _refused(request, "wecom_failed", detail=error.describe(language=get_language()))
    login(request, user, backend=SESSION_BACKEND)
    next_url = pending.next_url if _on_this_site(request, pending.next_url) else reverse("admin:index")
    return HttpResponseRedirect(next_url)


def _on_this_site(request: HttpRequest, url: str) -> bool:
    return bool(url) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def _refused(
    request: HttpRequest, reason: str, *, userid: str = "", username: str = "", detail: str = ""
) -> HttpResponse:
    refusal = REFUSALS[reason]
    context = {
        **admin.site.each_context(request),
        "title": refusal.title,
        "advice": str(refusal.advice) % {"userid": userid, "username": username},
        "detail": detail,
    }
    return TemplateResponse(request, "signin/refused.html", context, status=refusal.status)
