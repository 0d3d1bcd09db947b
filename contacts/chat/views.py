"""The chat toolbar page and what its script asks of the server.

`parent_page` is the page WeCom opens in a chat's toolbar. Its script registers with the WeCom
JS-SDK (signatures from `jssdk_signature`), asks WeCom which parent the chat is with
(getCurExternalContact), and shows that parent's card (`parent_card_fragment`, server-rendered
HTML). `refresh_parent` asks WeCom again, for staff who may.

Who may use them: a signed-in, active staff account with the permission to view parents; the
card itself shows only parents of the member's scope (contacts.chat.selectors). Someone not
signed in is sent through WeCom's sign-in, which inside the WeCom app needs no step at all.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from contacts.admin.permissions import can_look_up, can_refresh
from contacts.chat.selectors import CardState, ParentCard, parent_card
from contacts.models import AuditAction
from contacts.selectors import member_names
from contacts.services.audit import record_audit, refresh_contact_for_staff
from contacts.services.jssdk import NotThisSitesPage, SignatureKind, sign_page
from contacts.services.ratelimit import MAX_WAIT_IN_A_CALL, CallsHeldBack
from contacts.services.refresh import looks_like_external_userid
from contacts.sharedcache import SharedCacheUnavailable
from contacts.wecom.client import get_client
from contacts.wecom.errors import WeComError
from contacts.wecom.sign_in import sign_in_configured

VIEW_PERMISSION = "contacts.view_externalcontact"

SIGNED_OUT = _("登录已过期，请重新打开本页。")
NOT_ALLOWED = _("你的账号没有查看家长的权限。如需使用，请联系学校管理员。")
REFRESH_NOT_ALLOWED = _("从企业微信刷新家长需要“学校管理员”组的权限；“教师”组可以刷新自己的家长。")
LOOKUP_NOT_ALLOWED = _("按 external_userid 查找家长需要“学校管理员”组的权限。")
BAD_PARENT_ID = _("企业微信给出的家长编号无效。请关闭本页后从聊天工具栏重新打开。")


def may_use_chat(user) -> bool:
    """Signed in, active, staff (as the admin requires) and allowed to view parents."""
    return user.is_authenticated and user.is_active and user.is_staff and user.has_perm(VIEW_PERMISSION)


# -- the page -----------------------------------------------------------------------------------


@never_cache
@require_GET
def parent_page(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return _sign_in_first(request)
    if not may_use_chat(request.user):
        return _problem_page(request, title=_("没有权限"), advice=NOT_ALLOWED, status=403)
    if not sign_in_configured():
        return _problem_page(
            request,
            title=_("聊天工具栏尚未设置"),
            advice=_(
                "本系统还没有设置企业微信应用的 AgentId，企业微信不允许本页读取当前聊天。"
                "请学校的信息管理员设置 WECOM_AGENT_ID（见 docs/chat-toolbar.md）。"
            ),
            status=503,
        )
    config = {
        "corpId": settings.WECOM_CORP_ID,
        "agentId": settings.WECOM_AGENT_ID,
        "signatureUrl": reverse("chat_jssdk_signature"),
        "cardUrl": reverse("chat_parent_card"),
        "messages": {
            "loading": gettext("正在读取当前聊天的家长…"),
            "notInWecom": gettext("请在企业微信中打开本页：在与家长的单聊窗口中，点击聊天工具栏，选择本应用。"),
            "notInChat": gettext(
                "没有找到当前聊天的家长。本页只能在与家长的单聊中，从聊天工具栏打开（群聊和其他入口不支持）。"
            ),
            "sdkMissing": gettext(
                "企业微信接口（JS-SDK）没有加载成功。请点击“重试”；若仍如此，请告诉学校的信息管理员。"
            ),
            "sdkRefused": gettext(
                "企业微信没有允许本页读取当前聊天（%(reason)s）。请把这句话告诉学校的信息管理员："
                "需要检查本应用的可信域名、聊天工具栏设置和客户联系权限（docs/chat-toolbar.md）。"
            ),
            "signedOut": str(SIGNED_OUT),
            "unreachable": gettext("无法连接本系统，请检查网络后点击“重试”。"),
            "retry": gettext("重试"),
        },
    }
    return TemplateResponse(request, "chat/parent.html", {"config": config, "title": gettext("家长信息")})


# -- what the page's script asks ----------------------------------------------------------------


@never_cache
@require_GET
def jssdk_signature(request: HttpRequest) -> JsonResponse:
    """{timestamp, nonceStr, signature} for `?kind=config|agent_config&url=<the page's address>`, or {error}."""
    if not may_use_chat(request.user):
        status = 401 if not request.user.is_authenticated else 403
        return JsonResponse({"error": str(SIGNED_OUT if status == 401 else NOT_ALLOWED)}, status=status)
    try:
        kind = SignatureKind(request.GET.get("kind", ""))
    except ValueError:
        return JsonResponse({"error": "kind must be config or agent_config"}, status=400)
    language = get_language()
    try:
        signature = sign_page(
            url=request.GET.get("url", ""),
            kind=kind,
            client=get_client(max_wait=MAX_WAIT_IN_A_CALL),
            site_host=request.get_host(),
            https_only=request.is_secure(),
        )
    except NotThisSitesPage:
        return JsonResponse({"error": gettext("只能为本系统的页面签名。")}, status=400)
    except WeComError as error:
        return JsonResponse({"error": error.for_reader()}, status=502)
    except (CallsHeldBack, SharedCacheUnavailable) as error:
        return JsonResponse({"error": error.describe(language=language)}, status=503)
    return JsonResponse(signature.as_json())


def for_one_parent(view):
    """A fragment view about the parent of `external_userid` (in the query, or the form of a POST).

    It answers in place of the view for someone not signed in or not allowed, and for an id
    that is not WeCom's kind; the view gets the id.
    """

    @wraps(view)
    def checked(request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated:
            return _notice_fragment(request, SIGNED_OUT, status=401)
        if not may_use_chat(request.user):
            return _notice_fragment(request, NOT_ALLOWED, status=403)
        data = request.POST if request.method == "POST" else request.GET
        external_userid = data.get("external_userid", "").strip()
        if not looks_like_external_userid(external_userid):
            return _notice_fragment(request, BAD_PARENT_ID, status=400)
        return view(request, external_userid=external_userid)

    return checked


@never_cache
@require_GET
@for_one_parent
def parent_card_fragment(request: HttpRequest, *, external_userid: str) -> HttpResponse:
    """The card of `?external_userid=`, as an HTML fragment for the page to insert."""
    return _card_fragment(request, parent_card(user=request.user, external_userid=external_userid))


@never_cache
@require_POST
@for_one_parent
def refresh_parent(request: HttpRequest, *, external_userid: str) -> HttpResponse:
    """Ask WeCom for a parent of the reader's again, or for a parent not stored yet (a look-up, for staff
    who see every parent), then answer the card with what happened."""
    card = parent_card(user=request.user, external_userid=external_userid)
    if card.state is CardState.OUT_OF_SCOPE:
        return _card_fragment(request, card, status=403)
    if card.shown and not can_refresh(request):
        return _notice_fragment(request, REFRESH_NOT_ALLOWED, status=403)
    if not card.shown and not can_look_up(request):
        return _notice_fragment(request, LOOKUP_NOT_ALLOWED, status=403)

    language = get_language()
    action = AuditAction.REFRESH if card.shown else AuditAction.LOOKUP
    try:
        result = refresh_contact_for_staff(external_userid=external_userid, user=request.user, action=action)
    except WeComError as error:
        outcome, failed = _refresh_failure(error, stored=card.shown), True
    except (CallsHeldBack, SharedCacheUnavailable) as error:
        outcome, failed = error.describe(language=language) + " " + gettext("本地数据未改动。"), True
    else:
        summary = result.changes.summary(
            reveal_phones=card.reveals_phones, names=member_names(userids=result.changes.teacher_userids)
        )
        outcome, failed = gettext("已从企业微信刷新：%(summary)s") % {"summary": summary}, False
    # Read again: a refresh stores the answer, and a failed one may have marked the parent not connected.
    card = parent_card(user=request.user, external_userid=external_userid)
    return _card_fragment(request, card, outcome=outcome, failed=failed)


# -- answers ------------------------------------------------------------------------------------


def _sign_in_first(request: HttpRequest) -> HttpResponse:
    """To WeCom's sign-in (silent inside the WeCom app), back to this page afterwards."""
    login_url = reverse("wecom_sign_in") if sign_in_configured() else reverse("admin:login")
    return redirect_to_login(request.get_full_path(), login_url=login_url)


def _card_fragment(
    request: HttpRequest, card: ParentCard, *, outcome: str = "", failed: bool = False, status: int = 200
) -> HttpResponse:
    if card.shows_whole_phones:
        record_audit(user=request.user, action=AuditAction.VIEW_PHONES, contact=card.contact)
    context = {
        "card": card,
        "outcome": outcome,
        "failed": failed,
        "may_refresh": can_refresh(request),
        "may_look_up": can_look_up(request),
        "admin_url": reverse("admin:contacts_externalcontact_change", args=[card.contact.pk]) if card.contact else "",
    }
    return TemplateResponse(request, "chat/card.html", context, status=status)


def _notice_fragment(request: HttpRequest, text, *, status: int) -> HttpResponse:
    return TemplateResponse(request, "chat/notice.html", {"text": text}, status=status)


def _problem_page(request: HttpRequest, *, title, advice, status: int) -> HttpResponse:
    return TemplateResponse(request, "chat/problem.html", {"title": title, "advice": advice}, status=status)


def _refresh_failure(error: WeComError, *, stored: bool) -> str:
    if error.errcode == 40096:
        return gettext("企业微信中没有这位家长（external_userid 无效）。")
    text = gettext("刷新失败：%(error)s") % {"error": error.for_reader()}
    if error.not_connected and stored:
        return text + " " + gettext("已标记为“已无联系”，本地数据已保留。")
    return text + " " + gettext("本地数据未改动。")
