"""The simulator's side of WeCom callbacks: an event as WeCom writes it, signed, encrypted and posted.

What WeCom sends (docs 92277, 92032, 91144): a POST to the app's callback URL with
`msg_signature`, `timestamp` and `nonce` in the query string and the body
`<xml><ToUserName/><AgentID/><Encrypt/></xml>`, the event XML encrypted inside; and, when
the URL is configured, a GET with an encrypted `echostr` that the app must send back decrypted.
The token and EncodingAESKey are the app's own (WECOM_CALLBACK_TOKEN, WECOM_CALLBACK_AES_KEY).
"""

from __future__ import annotations

import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from contacts.callbacks.crypto import CallbackCrypto

CHANGE_EXTERNAL_CONTACT = "change_external_contact"
CHANGE_SCHOOL_CONTACT = "change_school_contact"

EXTERNAL_CONTACT_CHANGES = (
    "add_external_contact",
    "edit_external_contact",
    "del_external_contact",
    "del_follow_user",
    "transfer_fail",
)
SCHOOL_CONTACT_CHANGES = (
    "create_student",
    "update_student",
    "delete_student",
    "create_parent",
    "update_parent",
    "delete_parent",
    "subscribe",
    "unsubscribe",
)
CHANGE_TYPES = EXTERNAL_CONTACT_CHANGES + SCHOOL_CONTACT_CHANGES

APP_ID = "1000002"  # the app's id in WeCom, sent as <AgentID>
_MAX_ANSWER_BYTES = 4096
# No proxy from the environment: the app under test is usually on loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Delivery:
    """The app's answer to one callback, and whether WeCom would take it as accepted."""

    status: int
    body: str
    accepted: bool

    def as_json(self) -> dict[str, object]:
        return {"status": self.status, "body": self.body, "accepted": self.accepted}


def _cdata(value: str) -> str:
    if "]]>" in value:
        raise ValueError("a value cannot contain ]]>")
    return f"<![CDATA[{value}]]>"


def event_xml(
    *,
    corp_id: str,
    change_type: str,
    external_userid: str = "",
    userid: str = "",
    new_id: str = "",
    state: str = "",
    fail_reason: str = "",
    create_time: int | None = None,
) -> str:
    """The plaintext XML of one event. For a roster change `userid` is the student's or parent's Id."""
    if change_type not in CHANGE_TYPES:
        raise ValueError(f"unknown change type {change_type!r}; one of {', '.join(CHANGE_TYPES)}")
    school = change_type in SCHOOL_CONTACT_CHANGES
    parts = [
        f"<ToUserName>{_cdata(corp_id)}</ToUserName>",
        f"<FromUserName>{_cdata('sys')}</FromUserName>",
        f"<CreateTime>{int(time.time()) if create_time is None else int(create_time)}</CreateTime>",
        f"<MsgType>{_cdata('event')}</MsgType>",
        f"<Event>{_cdata(CHANGE_SCHOOL_CONTACT if school else CHANGE_EXTERNAL_CONTACT)}</Event>",
        f"<ChangeType>{_cdata(change_type)}</ChangeType>",
    ]
    if school:
        if not userid:
            raise ValueError(f"{change_type} needs the student's or parent's userid")
        parts.append(f"<Id>{_cdata(userid)}</Id>")
        if new_id:
            parts.append(f"<NewId>{_cdata(new_id)}</NewId>")
    else:
        if not external_userid or not userid:
            raise ValueError(f"{change_type} needs an external_userid and a teacher's userid")
        parts.append(f"<UserID>{_cdata(userid)}</UserID>")
        parts.append(f"<ExternalUserID>{_cdata(external_userid)}</ExternalUserID>")
        if change_type in ("add_external_contact", "edit_external_contact"):
            parts.append(f"<State>{_cdata(state)}</State>")
        if change_type == "transfer_fail":
            parts.append(f"<FailReason>{_cdata(fail_reason or 'customer_refused')}</FailReason>")
    return "<xml>" + "".join(parts) + "</xml>"


class CallbackSender:
    """Posts callbacks to one app the way WeCom does."""

    def __init__(self, *, url: str, token: str, encoding_aes_key: str, corp_id: str, timeout: float = 10.0) -> None:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ValueError(f"the callback URL must be an http(s) URL, not {url!r}")
        self.url = url
        self.corp_id = corp_id
        self.timeout = timeout
        self._crypto = CallbackCrypto(token=token, encoding_aes_key=encoding_aes_key, receive_id=corp_id)

    def __repr__(self) -> str:
        return f"CallbackSender(url={self.url!r})"

    def send_event(self, xml: str, *, timestamp: str | None = None, nonce: str | None = None) -> Delivery:
        encrypted = self._crypto.encrypt(xml.encode("utf-8"))
        timestamp, nonce = timestamp or str(int(time.time())), nonce or str(secrets.randbelow(10**10))
        body = (
            f"<xml><ToUserName>{_cdata(self.corp_id)}</ToUserName><AgentID>{_cdata(APP_ID)}</AgentID>"
            f"<Encrypt>{_cdata(encrypted)}</Encrypt></xml>"
        ).encode()
        query = self._signed_query(timestamp=timestamp, nonce=nonce, encrypted=encrypted)
        status, text = self._request("POST", query, body)
        return Delivery(status, text, status == 200 and text == "success")

    def verify_url(self) -> Delivery:
        """WeCom's URL check: the app must answer with the decrypted echostr (the Delivery says if it did)."""
        echo = str(secrets.randbelow(10**18))
        encrypted = self._crypto.encrypt(echo.encode("ascii"))
        nonce = str(secrets.randbelow(10**10))
        query = self._signed_query(timestamp=str(int(time.time())), nonce=nonce, encrypted=encrypted)
        query["echostr"] = encrypted
        status, text = self._request("GET", query, None)
        return Delivery(status, text, status == 200 and text == echo)

    def _signed_query(self, *, timestamp: str, nonce: str, encrypted: str) -> dict[str, str]:
        signature = self._crypto.sign(timestamp=timestamp, nonce=nonce, encrypted=encrypted)
        return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}

    def _request(self, method: str, query: dict[str, str], body: bytes | None) -> tuple[int, str]:
        separator = "&" if urlsplit(self.url).query else "?"
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            f"{self.url}{separator}{urlencode(query)}",
            data=body,
            method=method,
            headers={"Content-Type": "text/xml; charset=utf-8", "User-Agent": "WeComSandbox/1.0"},
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return response.status, response.read(_MAX_ANSWER_BYTES).decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read(_MAX_ANSWER_BYTES).decode("utf-8", "replace")
