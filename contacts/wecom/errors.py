"""The one error type of the WeCom client, and what each errcode means to an operator.

Every failure of a WeCom call, whatever its cause (an errcode, a timeout, an HTML
error page, an answer of the wrong shape), reaches callers as a `WeComError`. It
says whether trying again later can help (`permanent`), and carries the official
meaning and a hint for the operator in Chinese and English. It never holds the
access token or the app secret.

An error is identified by its errcode, or by a `reason` when WeCom gave none; the
texts come from the tables below. `as_record()` is what the app stores of an error
(a job's failed parent, a parent's last error), and `from_record()` turns it back
into an error, so that a page shows it in the reader's language, not in the language
of whoever caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from django.conf import settings
from django.utils.translation import get_language


class ErrorKind(str, Enum):  # noqa: UP042 (str() and format() stay as they are)
    TRANSIENT = "transient"  # retry with backoff
    TOKEN = "token"  # noqa: S105 (a kind of error, not a password): fetch a new access token, retry once
    RATE_LIMITED = "rate_limited"  # wait before the next call
    CONFIGURATION = "configuration"  # an operator must change a setting
    NOT_CONNECTED = "not_connected"  # the parent is no longer reachable
    PERMANENT = "permanent"  # retrying cannot help


@dataclass(frozen=True)
class ErrorText:
    meaning_zh: str
    meaning_en: str
    hint_zh: str
    hint_en: str
    kind: ErrorKind


ERRCODES: dict[int, ErrorText] = {
    -1: ErrorText(
        "系统繁忙", "system busy",
        "企业微信暂时繁忙，稍后会自动重试。", "WeCom is busy; the call is retried with backoff.",
        ErrorKind.TRANSIENT,
    ),
    6000: ErrorText(
        "数据版本冲突", "data version conflict",
        "企业微信数据正在变更，稍后重试即可。", "WeCom data was changing; try again shortly.",
        ErrorKind.TRANSIENT,
    ),
    40001: ErrorText(
        "不合法的secret参数", "invalid secret",
        "请检查 WECOM_SECRET 是否为本应用的 Secret（应用管理 → 应用 → Secret）。",
        "Check that WECOM_SECRET is this app's Secret (App Management → the app → Secret).",
        ErrorKind.CONFIGURATION,
    ),
    40013: ErrorText(
        "不合法的CorpID", "invalid corp id",
        "请检查 WECOM_CORP_ID 是否为本校的企业ID（我的企业 → 企业信息 → 企业ID）。",
        "Check WECOM_CORP_ID: it is the school's Corp ID (My Company → Company Info → Corp ID).",
        ErrorKind.CONFIGURATION,
    ),
    40014: ErrorText(
        "不合法的access_token", "invalid access_token",
        "访问凭证已失效，系统会自动获取新的凭证并重试一次。",
        "The access token was rejected; a new one is fetched and the call retried once.",
        ErrorKind.TOKEN,
    ),
    41001: ErrorText(
        "缺少access_token参数", "access_token missing",
        "请求未带访问凭证，这是本系统的缺陷，请联系开发者。",
        "The request carried no access token: a defect in this app; please report it.",
        ErrorKind.PERMANENT,
    ),
    42001: ErrorText(
        "access_token已过期", "access_token expired",
        "访问凭证已过期，系统会自动获取新的凭证并重试一次。",
        "The access token expired; a new one is fetched and the call retried once.",
        ErrorKind.TOKEN,
    ),
    40096: ErrorText(
        "不合法的外部联系人userid", "invalid external_userid",
        "该 external_userid 不存在或不属于本校，请核对后再试。",
        "This external_userid does not exist or does not belong to this school; check it.",
        ErrorKind.NOT_CONNECTED,
    ),
    45009: ErrorText(
        "接口调用超过限制", "API call frequency over the limit",
        "调用过于频繁，请等待限制窗口（约60秒）结束后再试，并减少同时进行的刷新。",
        "Too many calls: wait for the limit's window (about 60 s), then refresh fewer parents at once.",
        ErrorKind.RATE_LIMITED,
    ),
    45033: ErrorText(
        "接口并发调用超过限制", "too many concurrent calls",
        "并发调用过多，系统会退避重试；请减少同时进行的刷新。",
        "Too many concurrent calls; retried with backoff. Refresh fewer parents at once.",
        ErrorKind.TRANSIENT,
    ),
    48002: ErrorText(
        "API接口无权限调用", "API not permitted for this app",
        "请在企业微信管理后台为本应用开通「家校沟通」权限（家校沟通 → 设置 → API → 可调用接口的应用）。",
        "Grant this app 家校沟通 (school contacts) access in the WeCom admin console "
        "(家校沟通 → Settings → API → apps that may call the API).",
        ErrorKind.CONFIGURATION,
    ),
    60011: ErrorText(
        "指定的成员/部门/标签参数无权限", "no privilege for this member or department",
        "请扩大本应用的可见范围，使其包含相关老师和班级。",
        "Widen this app's visible range so it covers the teachers and classes concerned.",
        ErrorKind.CONFIGURATION,
    ),
    60020: ErrorText(
        "不安全的访问IP", "caller IP not in the trusted-IP list",
        "请将本服务器的出口IP加入应用的「企业可信IP」。",
        "Add this server's outgoing IP address to the app's 企业可信IP (trusted IPs).",
        ErrorKind.CONFIGURATION,
    ),
    40029: ErrorText(
        "不合法的oauth_code", "invalid OAuth code",
        "登录凭证无效、已用过或已过期（5分钟内有效，只能用一次），请重新登录。",
        "The sign-in code is invalid, already used or expired (it works once, within 5 minutes); sign in again.",
        ErrorKind.PERMANENT,
    ),
    60111: ErrorText(
        "UserID不存在", "userid not found",
        "企业微信中没有这个成员：成员已离开学校，或 userid 有误，请核对。",
        "WeCom has no such member: the member left the school, or the userid is wrong; check it.",
        ErrorKind.PERMANENT,
    ),
    84061: ErrorText(
        "不存在外部联系人的关系", "no relationship with this external contact",
        "学校与该家长已无联系关系（家长删除了所有老师，或老师都删除了家长），企业微信不再提供其信息。",
        "The school is no longer connected to this parent (they removed every teacher, or every teacher removed "
        "them); WeCom no longer gives their details.",
        ErrorKind.NOT_CONNECTED,
    ),
    84074: ErrorText(
        "没有外部联系人权限", "no external-contact permission",
        "请为本应用开通「家校沟通」权限，并确认可见范围包含相关老师。",
        "Grant this app 家校沟通 access and make sure its visible range covers the teachers.",
        ErrorKind.CONFIGURATION,
    ),
}

# Errors WeCom gave no (known) errcode for, by reason.
UNKNOWN_ERRCODE = "unknown_errcode"
UNREACHABLE = "unreachable"
MALFORMED = "malformed"
BAD_API_BASE = "bad_api_base"
NOT_CONFIGURED = "not_configured"
INVALID_EXTERNAL_USERID = "invalid_external_userid"
STORING_FAILED = "storing_failed"

REASONS: dict[str, ErrorText] = {
    UNKNOWN_ERRCODE: ErrorText(
        "未知错误码", "unknown error code",
        "请在企业微信开发者文档的「全局错误码」中查询该错误码。", "Look the code up in WeCom's global error code list.",
        ErrorKind.PERMANENT,
    ),
    UNREACHABLE: ErrorText(
        "无法连接企业微信", "WeCom could not be reached",
        "网络或企业微信暂时不可用，稍后重试；若持续出现，请检查服务器能否访问 WECOM_API_BASE。",
        "Network or WeCom trouble; try again later. If it persists, check that this "
        "server can reach WECOM_API_BASE.",
        ErrorKind.TRANSIENT,
    ),
    MALFORMED: ErrorText(
        "企业微信返回的内容无法解析", "unreadable answer from WeCom",
        "可能是网关错误页或网络中断，稍后重试；若持续出现，请检查 WECOM_API_BASE 是否指向企业微信接口。",
        "Probably a gateway error page or a cut connection; try again later. If it "
        "persists, check that WECOM_API_BASE points at the WeCom API.",
        ErrorKind.PERMANENT,
    ),
    BAD_API_BASE: ErrorText(
        "无法调用企业微信接口", "WeCom could not be called",
        "请检查 WECOM_API_BASE 是否为企业微信接口地址（如 https://qyapi.weixin.qq.com/cgi-bin）。",
        "Check that WECOM_API_BASE is the WeCom API address (e.g. https://qyapi.weixin.qq.com/cgi-bin).",
        ErrorKind.CONFIGURATION,
    ),
    NOT_CONFIGURED: ErrorText(
        "未配置企业ID或应用Secret", "corp id or app secret not configured",
        "请设置 WECOM_CORP_ID 和 WECOM_SECRET。", "Set WECOM_CORP_ID and WECOM_SECRET.",
        ErrorKind.CONFIGURATION,
    ),
    INVALID_EXTERNAL_USERID: ErrorText(
        "external_userid 格式不正确", "malformed external_userid",
        "external_userid 由字母、数字和 _-@. 组成，例如 wmXXXX，请核对后再试。",
        "An external_userid is letters, digits and _-@. only (e.g. wmXXXX); check it.",
        ErrorKind.PERMANENT,
    ),
    STORING_FAILED: ErrorText(
        "保存家长时发生内部错误", "internal error while storing the parent",
        "本地数据未改动；详情见服务器日志，请联系系统管理员。",
        "Nothing stored was changed; the server log has the details. Tell the system administrator.",
        ErrorKind.PERMANENT,
    ),
}
_NO_TEXT = ErrorText("", "", "", "", ErrorKind.PERMANENT)

RATE_LIMIT_WINDOW_SECONDS = 60


def _text_of(errcode: int | None, reason: str) -> ErrorText:
    if errcode is not None:
        return ERRCODES.get(errcode) or REASONS[UNKNOWN_ERRCODE]
    return REASONS.get(reason, _NO_TEXT)


def _is_english(language: str) -> bool:
    return language.lower().startswith("en")


class WeComError(Exception):
    """A WeCom call failed. Safe to show: it never holds the token or the secret.

    `message` is the English technical account, for logs; `detail` is the part of it a
    page shows beside the translated meaning (a timeout's cause, WeCom's own errmsg for an
    unknown errcode, the malformed id), empty when the meaning says everything.
    """

    def __init__(
        self,
        message: str,
        *,
        errcode: int | None = None,
        errmsg: str = "",
        reason: str = "",
        detail: str = "",
        kind: ErrorKind | None = None,
        api: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errcode = errcode
        self.errmsg = errmsg
        self.reason = reason
        self.detail = detail
        self.api = api
        self.retry_after = retry_after
        self._text = _text_of(errcode, reason)
        self.kind = kind or self._text.kind

    @classmethod
    def from_errcode(cls, errcode: int, errmsg: str = "", *, api: str = "") -> WeComError:
        info = ERRCODES.get(errcode)
        if info is None:
            return cls(
                f"WeCom answered errcode {errcode}: {errmsg or 'no message'}",
                errcode=errcode,
                errmsg=errmsg,
                reason=UNKNOWN_ERRCODE,
                detail=errmsg,
                api=api,
            )
        return cls(
            f"WeCom answered errcode {errcode} ({info.meaning_en})",
            errcode=errcode,
            errmsg=errmsg,
            api=api,
            retry_after=RATE_LIMIT_WINDOW_SECONDS if info.kind is ErrorKind.RATE_LIMITED else None,
        )

    @classmethod
    def unreachable(cls, detail: str, *, api: str = "") -> WeComError:
        """A timeout, refused connection or 5xx: worth trying again."""
        return cls(f"WeCom could not be reached: {detail}", reason=UNREACHABLE, detail=detail, api=api)

    @classmethod
    def malformed(cls, detail: str, *, api: str = "", transient: bool = False) -> WeComError:
        """An answer that is not JSON, is cut short, or has the wrong shape."""
        return cls(
            f"WeCom sent an answer that cannot be read: {detail}",
            reason=MALFORMED,
            detail=detail,
            kind=ErrorKind.TRANSIENT if transient else ErrorKind.PERMANENT,
            api=api,
        )

    # -- storing and reading back -------------------------------------------------------------

    def as_record(self) -> dict[str, Any]:
        """What is stored of this error: codes and technical text, no sentence in any language."""
        record: dict[str, Any] = {"errcode": self.errcode, "reason": self.reason, "kind": self.kind.value}
        record.update((name, value) for name in ("detail", "message", "api") if (value := getattr(self, name)))
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> WeComError:
        try:
            kind: ErrorKind | None = ErrorKind(record.get("kind"))
        except ValueError:
            kind = None
        errcode = record.get("errcode")
        return cls(
            str(record.get("message", "")),
            errcode=errcode if isinstance(errcode, int) else None,
            reason=str(record.get("reason", "")),
            detail=str(record.get("detail", "")),
            kind=kind,
            api=str(record.get("api", "")),
        )

    # -- texts ---------------------------------------------------------------------------------

    @property
    def meaning_zh(self) -> str:
        return self._text.meaning_zh

    @property
    def meaning_en(self) -> str:
        return self._text.meaning_en

    @property
    def hint_zh(self) -> str:
        return self._text.hint_zh

    @property
    def hint_en(self) -> str:
        return self._text.hint_en

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

        Without a language, for logs and command output read by an IT person: the meaning,
        the technical message and both hints. With one ("zh-hans", "en"), for pages: the
        meaning, the detail and the hint in that language only.
        """
        if language is None:
            meaning = self.meaning_zh or self.message
            head = f"[{self.errcode}] {meaning}" if self.errcode is not None else meaning
            return " — ".join(dict.fromkeys(p for p in (head, self.message, self.hint) if p))
        english = _is_english(language)
        meaning = (self.meaning_en if english else self.meaning_zh) or self.message
        head = f"[{self.errcode}] {meaning}" if self.errcode is not None else meaning
        if self.detail and self.detail != meaning:
            head += f" ({self.detail})" if english else f"（{self.detail}）"
        hint = self.hint_en if english else self.hint_zh
        return " — ".join(part for part in (head, hint) if part)

    def for_reader(self) -> str:
        """`describe()` in the language of the page being served (the settings' one in a command)."""
        return self.describe(language=get_language() or settings.LANGUAGE_CODE)
