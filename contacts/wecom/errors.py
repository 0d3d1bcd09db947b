"""The one error type of the WeCom client, and what each errcode means to an operator.

Every failure of a WeCom call, whatever its cause (an errcode, a timeout, an HTML
error page, an answer of the wrong shape), reaches callers as a `WeComError`. It
says whether trying again later can help (`permanent`), and carries the official
meaning and a hint for the operator in Chinese and English. It never holds the
access token or the app secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ErrorKind(str, Enum):  # noqa: UP042 (str() and format() stay as they are)
    TRANSIENT = "transient"  # retry with backoff
    TOKEN = "token"  # noqa: S105 (a kind of error, not a password): fetch a new access token, retry once
    RATE_LIMITED = "rate_limited"  # wait before the next call
    CONFIGURATION = "configuration"  # an operator must change a setting
    NOT_CONNECTED = "not_connected"  # the parent is no longer reachable
    PERMANENT = "permanent"  # retrying cannot help


@dataclass(frozen=True)
class ErrcodeInfo:
    meaning_zh: str
    meaning_en: str
    hint_zh: str
    hint_en: str
    kind: ErrorKind


ERRCODES: dict[int, ErrcodeInfo] = {
    -1: ErrcodeInfo(
        "系统繁忙", "system busy",
        "企业微信暂时繁忙，稍后会自动重试。", "WeCom is busy; the call is retried with backoff.",
        ErrorKind.TRANSIENT,
    ),
    6000: ErrcodeInfo(
        "数据版本冲突", "data version conflict",
        "企业微信数据正在变更，稍后重试即可。", "WeCom data was changing; try again shortly.",
        ErrorKind.TRANSIENT,
    ),
    40001: ErrcodeInfo(
        "不合法的secret参数", "invalid secret",
        "请检查 WECOM_SECRET 是否为本应用的 Secret（应用管理 → 应用 → Secret）。",
        "Check that WECOM_SECRET is this app's Secret (App Management → the app → Secret).",
        ErrorKind.CONFIGURATION,
    ),
    40013: ErrcodeInfo(
        "不合法的CorpID", "invalid corp id",
        "请检查 WECOM_CORP_ID 是否为本校的企业ID（我的企业 → 企业信息 → 企业ID）。",
        "Check WECOM_CORP_ID: it is the school's Corp ID (My Company → Company Info → Corp ID).",
        ErrorKind.CONFIGURATION,
    ),
    40014: ErrcodeInfo(
        "不合法的access_token", "invalid access_token",
        "访问凭证已失效，系统会自动获取新的凭证并重试一次。",
        "The access token was rejected; a new one is fetched and the call retried once.",
        ErrorKind.TOKEN,
    ),
    41001: ErrcodeInfo(
        "缺少access_token参数", "access_token missing",
        "请求未带访问凭证，这是本系统的缺陷，请联系开发者。",
        "The request carried no access token: a defect in this app; please report it.",
        ErrorKind.PERMANENT,
    ),
    42001: ErrcodeInfo(
        "access_token已过期", "access_token expired",
        "访问凭证已过期，系统会自动获取新的凭证并重试一次。",
        "The access token expired; a new one is fetched and the call retried once.",
        ErrorKind.TOKEN,
    ),
    40096: ErrcodeInfo(
        "不合法的外部联系人userid", "invalid external_userid",
        "该 external_userid 不存在或不属于本校，请核对后再试。",
        "This external_userid does not exist or does not belong to this school; check it.",
        ErrorKind.NOT_CONNECTED,
    ),
    45009: ErrcodeInfo(
        "接口调用超过限制", "API call frequency over the limit",
        "调用过于频繁，请等待限制窗口（约60秒）结束后再试，并减少同时进行的刷新。",
        "Too many calls: wait for the limit's window (about 60 s), then refresh fewer parents at once.",
        ErrorKind.RATE_LIMITED,
    ),
    45033: ErrcodeInfo(
        "接口并发调用超过限制", "too many concurrent calls",
        "并发调用过多，系统会退避重试；请减少同时进行的刷新。",
        "Too many concurrent calls; retried with backoff. Refresh fewer parents at once.",
        ErrorKind.TRANSIENT,
    ),
    48002: ErrcodeInfo(
        "API接口无权限调用", "API not permitted for this app",
        "请在企业微信管理后台为本应用开通「家校沟通」权限（家校沟通 → 设置 → API → 可调用接口的应用）。",
        "Grant this app 家校沟通 (school contacts) access in the WeCom admin console "
        "(家校沟通 → Settings → API → apps that may call the API).",
        ErrorKind.CONFIGURATION,
    ),
    60011: ErrcodeInfo(
        "指定的成员/部门/标签参数无权限", "no privilege for this member or department",
        "请扩大本应用的可见范围，使其包含相关老师和班级。",
        "Widen this app's visible range so it covers the teachers and classes concerned.",
        ErrorKind.CONFIGURATION,
    ),
    60020: ErrcodeInfo(
        "不安全的访问IP", "caller IP not in the trusted-IP list",
        "请将本服务器的出口IP加入应用的「企业可信IP」。",
        "Add this server's outgoing IP address to the app's 企业可信IP (trusted IPs).",
        ErrorKind.CONFIGURATION,
    ),
    40029: ErrcodeInfo(
        "不合法的oauth_code", "invalid OAuth code",
        "登录凭证无效、已用过或已过期（5分钟内有效，只能用一次），请重新登录。",
        "The sign-in code is invalid, already used or expired (it works once, within 5 minutes); sign in again.",
        ErrorKind.PERMANENT,
    ),
    60111: ErrcodeInfo(
        "UserID不存在", "userid not found",
        "企业微信中没有这个成员：成员已离开学校，或 userid 有误，请核对。",
        "WeCom has no such member: the member left the school, or the userid is wrong; check it.",
        ErrorKind.PERMANENT,
    ),
    84061: ErrcodeInfo(
        "不存在外部联系人的关系", "no relationship with this external contact",
        "学校与该家长已无联系关系（家长已删除或被移出），已保留本地数据。",
        "The school is no longer connected to this parent; the stored data is kept.",
        ErrorKind.NOT_CONNECTED,
    ),
    84074: ErrcodeInfo(
        "没有外部联系人权限", "no external-contact permission",
        "请为本应用开通「家校沟通」权限，并确认可见范围包含相关老师。",
        "Grant this app 家校沟通 access and make sure its visible range covers the teachers.",
        ErrorKind.CONFIGURATION,
    ),
}

RATE_LIMIT_WINDOW_SECONDS = 60


class WeComError(Exception):
    """A WeCom call failed. Safe to show: it never holds the token or the secret."""

    def __init__(
        self,
        message: str,
        *,
        errcode: int | None = None,
        errmsg: str = "",
        kind: ErrorKind = ErrorKind.PERMANENT,
        meaning_zh: str = "",
        meaning_en: str = "",
        hint_zh: str = "",
        hint_en: str = "",
        api: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errcode = errcode
        self.errmsg = errmsg
        self.kind = kind
        self.meaning_zh = meaning_zh
        self.meaning_en = meaning_en
        self.hint_zh = hint_zh
        self.hint_en = hint_en
        self.api = api
        self.retry_after = retry_after

    @classmethod
    def from_errcode(cls, errcode: int, errmsg: str = "", *, api: str = "") -> WeComError:
        info = ERRCODES.get(errcode)
        if info is None:
            return cls(
                f"WeCom answered errcode {errcode}: {errmsg or 'no message'}",
                errcode=errcode,
                errmsg=errmsg,
                kind=ErrorKind.PERMANENT,
                meaning_zh="未知错误码",
                meaning_en="unknown error code",
                hint_zh="请在企业微信开发者文档的「全局错误码」中查询该错误码。",
                hint_en="Look the code up in WeCom's global error code list.",
                api=api,
            )
        return cls(
            f"WeCom answered errcode {errcode} ({info.meaning_en})",
            errcode=errcode,
            errmsg=errmsg,
            kind=info.kind,
            meaning_zh=info.meaning_zh,
            meaning_en=info.meaning_en,
            hint_zh=info.hint_zh,
            hint_en=info.hint_en,
            api=api,
            retry_after=RATE_LIMIT_WINDOW_SECONDS if info.kind is ErrorKind.RATE_LIMITED else None,
        )

    @classmethod
    def unreachable(cls, detail: str, *, api: str = "") -> WeComError:
        """A timeout, refused connection or 5xx: worth trying again."""
        return cls(
            f"WeCom could not be reached: {detail}",
            kind=ErrorKind.TRANSIENT,
            meaning_zh="无法连接企业微信",
            meaning_en="WeCom could not be reached",
            hint_zh="网络或企业微信暂时不可用，稍后重试；若持续出现，请检查服务器能否访问 WECOM_API_BASE。",
            hint_en="Network or WeCom trouble; try again later. If it persists, check that this "
            "server can reach WECOM_API_BASE.",
            api=api,
        )

    @classmethod
    def malformed(cls, detail: str, *, api: str = "", transient: bool = False) -> WeComError:
        """An answer that is not JSON, is cut short, or has the wrong shape."""
        return cls(
            f"WeCom sent an answer that cannot be read: {detail}",
            kind=ErrorKind.TRANSIENT if transient else ErrorKind.PERMANENT,
            meaning_zh="企业微信返回的内容无法解析",
            meaning_en="unreadable answer from WeCom",
            hint_zh="可能是网关错误页或网络中断，稍后重试；若持续出现，请检查 WECOM_API_BASE 是否指向企业微信接口。",
            hint_en="Probably a gateway error page or a cut connection; try again later. If it "
            "persists, check that WECOM_API_BASE points at the WeCom API.",
            api=api,
        )

    @property
    def permanent(self) -> bool:
        """True when trying the same call again cannot succeed without someone changing something."""
        return self.kind in (ErrorKind.PERMANENT, ErrorKind.CONFIGURATION, ErrorKind.NOT_CONNECTED)

    @property
    def not_connected(self) -> bool:
        return self.kind is ErrorKind.NOT_CONNECTED

    @property
    def hint(self) -> str:
        """Both languages, for command output and logs."""
        return " / ".join(h for h in (self.hint_zh, self.hint_en) if h)

    def describe(self, *, language: str | None = None) -> str:
        """One line for staff and operators: what happened and what to do.

        Without a language, both hints (for logs and command output read by an IT
        person); with one ("zh-hans", "en"), the text in that language only, for pages.
        """
        english = bool(language) and language.startswith("en")
        meaning = self.meaning_en if english else self.meaning_zh
        head = f"[{self.errcode}] {meaning}" if self.errcode is not None else meaning or self.message
        if language is None:
            hint = self.hint
        elif english:
            hint = self.hint_en
        else:
            hint = self.hint_zh
        parts = [head, self.message, hint]
        return " — ".join(dict.fromkeys(p for p in parts if p))
