"""WeCom's side of staff sign-in (docs 98151, 98152, 91023): the login page, and the codes it hands out.

The real page shows a QR code to scan with the WeCom app (or, inside the app, signs the
member in silently); here it lists the school's staff to choose from, and a visitor who is
not a member. Choosing sends the browser back to the app's `redirect_uri` with `code` and
`state`, as WeCom does. A code works once and for 5 minutes; auth/getuserinfo redeems it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .replies import HTML_TYPE, Reply
from .school import School

CODE_TTL = 300
# The visitor who is not a member of the school: a parent's WeChat scanning the code.
OUTSIDER = "__outsider__"
OUTSIDER_OPENID = "oOUTSIDER-wechat-user-0001"
OUTSIDER_EXTERNAL_USERID = "wmOUTSIDERparent000000001"

LOGIN_PATH = "/wwlogin/sso/login"
OAUTH_PATH = "/connect/oauth2/authorize"
CHOOSE_PATH = "/wwlogin/sso/choose"


@dataclass(frozen=True)
class Identity:
    """What auth/getuserinfo answers for a code: a member's userid, or a non-member's openid."""

    userid: str = ""
    openid: str = ""
    external_userid: str = ""

    def answer(self) -> dict[str, str]:
        if self.userid:
            return {"userid": self.userid}
        return {"openid": self.openid, "external_userid": self.external_userid}


class CodeStore:
    """Sign-in codes: each works once, within `ttl` seconds."""

    def __init__(self, ttl: float = CODE_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, tuple[Identity, float]] = {}

    def issue(self, identity: Identity) -> str:
        with self._lock:
            now = self._clock()
            self._codes = {code: entry for code, entry in self._codes.items() if entry[1] > now}
            code = secrets.token_urlsafe(24)
            self._codes[code] = (identity, now + self.ttl)
            return code

    def redeem(self, code: str) -> Identity | None:
        """The identity of a code, once; None for an unknown, used or expired code."""
        with self._lock:
            entry = self._codes.pop(code, None)
            if entry is None or entry[1] <= self._clock():
                return None
            return entry[0]


class SignInPages:
    """The login pages of one simulated school and app (corp id and AgentID)."""

    def __init__(self, *, school: School, corp_id: str, agent_id: str, codes: CodeStore) -> None:
        self.school = school
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.codes = codes

    def login_page(self, path: str, params: dict[str, str]) -> Reply:
        """GET of the web login (LOGIN_PATH) or of the in-app authorization (OAUTH_PATH)."""
        problem = self._check(path, params)
        if problem:
            return _page("企业微信登录", f'<p class="error">{escape(problem)}</p>', status=400)
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{escape(params.get(name, ""))}">'
            for name in ("redirect_uri", "state")
        )
        buttons = "".join(
            f'<li><button name="userid" value="{escape(userid)}">{escape(name)}（{escape(userid)}）</button>'
            f" <small>{escape(roles)}</small></li>"
            for userid, name, roles in self.school.teachers()
        )
        body = (
            f"<p>模拟的企业微信：真实的企业微信在此显示二维码，请用企业微信扫码。"
            f"这里请选择以哪位成员登录「{escape(self.school.name)}」。</p>"
            f'<form method="post" action="{CHOOSE_PATH}">{hidden}<ul class="members">{buttons}</ul>'
            f'<p><button name="userid" value="{OUTSIDER}" class="outsider">'
            f"不是本校成员（用家长的个人微信扫码）</button></p></form>"
        )
        return _page("企业微信登录", body)

    def choose(self, form: dict[str, str]) -> Reply:
        """POST of the page: back to the app with a code for the chosen member, as WeCom redirects."""
        redirect_uri = form.get("redirect_uri", "")
        if not _is_web_url(redirect_uri):
            return _page("企业微信登录", '<p class="error">redirect_uri 参数错误</p>', status=400)
        userid = form.get("userid", "")
        if userid == OUTSIDER:
            identity = Identity(openid=OUTSIDER_OPENID, external_userid=OUTSIDER_EXTERNAL_USERID)
        elif self.school.staff_name(userid) is not None:
            identity = Identity(userid=userid)
        else:
            return _page("企业微信登录", '<p class="error">没有这位成员</p>', status=400)
        code = self.codes.issue(identity)
        return Reply(302, b"", HTML_TYPE, location=_with_params(redirect_uri, code=code, state=form.get("state", "")))

    def _check(self, path: str, params: dict[str, str]) -> str:
        """What WeCom would refuse in the request, in its words; "" when nothing."""
        if params.get("appid") != self.corp_id:
            return "appid 参数错误：应为企业的 CorpID"
        if params.get("agentid") != self.agent_id:
            return "agentid 参数错误：应为应用的 AgentID"
        if path == LOGIN_PATH and params.get("login_type") != "CorpApp":
            return "login_type 参数错误：企业自建应用应为 CorpApp"
        if path == OAUTH_PATH and (params.get("response_type") != "code" or params.get("scope") != "snsapi_base"):
            return "response_type 应为 code，scope 应为 snsapi_base"
        if not _is_web_url(params.get("redirect_uri", "")):
            return "redirect_uri 参数错误"
        return ""


def getuserinfo(codes: CodeStore, params: dict[str, str]) -> dict[str, str] | None:
    """The fields of auth/getuserinfo's answer for the code in `params`; None means errcode 40029."""
    identity = codes.redeem(params.get("code", ""))
    return identity.answer() if identity else None


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _with_params(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _page(title: str, body: str, status: int = 200) -> Reply:
    html = (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em}"
        "ul.members{list-style:none;padding:0}ul.members li{margin:.4em 0}"
        "button{font-size:1em;padding:.3em .8em;cursor:pointer}.error{color:#b00}</style></head>\n"
        f"<body><h1>{escape(title)}</h1>{body}</body>\n</html>\n"
    )
    return Reply(status, html.encode(), HTML_TYPE)
