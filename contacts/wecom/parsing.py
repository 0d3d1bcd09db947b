"""Turn WeCom's answers into plain values: a parent (externalcontact/get, doc 91670), a member
(user/get, doc 90196), and who a sign-in code belongs to (auth/getuserinfo, doc 91023).

The field table of the doc is the authority. Rules that follow from it:
- a key WeCom did not send becomes None ("not visible to this app"), never "";
- phone numbers arrive as strings or as numbers and are kept as strings;
- keys we do not know are ignored here (the raw answer is kept in the snapshot);
- a value of the wrong shape is an error naming where it is, never a crash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from contacts.wecom.errors import WeComError

API = "externalcontact/get"
MEMBER_API = "user/get"
IDENTITY_API = "auth/getuserinfo"

# ASCII digits only: int() would also take "²" or "٣", and a 5,000-digit string.
_INTEGER_TEXT = re.compile(r"^-?[0-9]{1,15}$")
# Ids and codes are stored in columns of these sizes; anything larger is not an id.
MAX_ID_LENGTH = 128
SMALL_INTEGERS = range(-32768, 32768)
MAX_ATTRIBUTES = 1000
# Keys of an answer that say how the call went, not who the parent is: two answers
# describing the same parent may differ there.
ANSWER_ENVELOPE_KEYS = frozenset({"errcode", "errmsg", "next_cursor"})
# The parts of an answer a fingerprint tells apart: external_contact but its external_profile,
# the external_profile, follow_user, and any other key.
ANSWER_PARTS = ("contact", "profile", "follow_users", "other")
_PARTED_KEYS = ANSWER_ENVELOPE_KEYS | {"external_contact", "follow_user"}
# 64 bits of SHA-256 a part: four of them fill the parent's 64-character column.
_PART_DIGEST = 16


@dataclass(frozen=True)
class ParsedTag:
    group_name: str | None
    tag_name: str | None
    type: int | None


@dataclass(frozen=True)
class ParsedFollowUser:
    userid: str
    remark: str | None
    description: str | None
    createtime: dt.datetime | None
    remark_corp_name: str | None
    remark_mobiles: list[str] | None
    state: str | None
    tags: tuple[ParsedTag, ...]


@dataclass(frozen=True)
class ParsedAttribute:
    position: int
    type: int
    name: str | None
    text_value: str | None = None
    web_url: str | None = None
    web_title: str | None = None
    miniprogram_appid: str | None = None
    miniprogram_pagepath: str | None = None
    miniprogram_title: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedMember:
    userid: str
    name: str | None
    status: int | None  # 1 active, 2 disabled, 4 not activated, 5 left


@dataclass(frozen=True)
class SignInIdentity:
    """Who a sign-in code belongs to: a member of the school (`userid`), or someone who is
    not (`openid`, and `external_userid` when they are one of the school's contacts)."""

    userid: str | None
    openid: str | None = None
    external_userid: str | None = None

    @property
    def is_member(self) -> bool:
        return self.userid is not None


@dataclass(frozen=True)
class ParsedContact:
    external_userid: str
    fields: dict[str, Any]
    attributes: tuple[ParsedAttribute, ...]
    follow_users: tuple[ParsedFollowUser, ...]


class _Reader:
    """Reads typed values out of one JSON object, naming the path in every error."""

    def __init__(self, data: Any, path: str, api: str = API) -> None:
        self.api = api
        if not isinstance(data, dict):
            raise self._error(path, "an object", data)
        self.data = data
        self.path = path

    def _error(self, path: str, expected: str, value: Any) -> WeComError:
        return _shape_error(path, expected, value, api=self.api)

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self._error(self._where(key), "text", value)
        return str(value)

    def identifier(self, key: str) -> str | None:
        value = self.text(key)
        if value is not None and len(value) > MAX_ID_LENGTH:
            raise self._error(self._where(key), f"an id of at most {MAX_ID_LENGTH} characters", value)
        return value

    def integer(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self._error(self._where(key), "a whole number", value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _INTEGER_TEXT.match(value.strip()):
            return int(value)
        raise self._error(self._where(key), "a whole number", value)

    def code(self, key: str) -> int | None:
        """A small enumerated number (type, gender): kept even when unknown, if it fits."""
        value = self.integer(key)
        if value is not None and value not in SMALL_INTEGERS:
            raise self._error(self._where(key), "a small code number", value)
        return value

    def phones(self, key: str) -> list[str] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self._error(self._where(key), "a list of phone numbers", value)
        phones = []
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, str | int):
                raise self._error(f"{self._where(key)}[{index}]", "a phone number", item)
            phones.append(str(item).strip())
        return phones

    def text_list(self, key: str) -> list[str] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(i, str | int) and not isinstance(i, bool) for i in value):
            raise self._error(self._where(key), "a list of ids", value)
        return [str(i) for i in value]

    def timestamp(self, key: str) -> dt.datetime | None:
        seconds = self.integer(key)
        if seconds is None:
            return None
        try:
            return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise self._error(self._where(key), "a Unix timestamp", seconds) from None

    def objects(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._error(self._where(key), "a list", value)
        return value

    def child(self, key: str) -> _Reader | None:
        value = self.data.get(key)
        if value is None:
            return None
        return _Reader(value, self._where(key), self.api)


def _shape_error(path: str, expected: str, value: Any, *, api: str = API) -> WeComError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return WeComError.malformed(f"{path} should be {expected}, got {shown}", api=api)


def parse_member(answer: dict[str, Any]) -> ParsedMember:
    """Parse a user/get answer; raises WeComError on a wrong shape."""
    reader = _Reader(answer, "", MEMBER_API)
    userid = reader.identifier("userid")
    if not userid:
        raise WeComError.malformed(f"{MEMBER_API}: the answer has no userid", api=MEMBER_API)
    return ParsedMember(userid=userid, name=reader.text("name") or None, status=reader.code("status"))


def parse_identity(answer: dict[str, Any]) -> SignInIdentity:
    """Parse an auth/getuserinfo answer; raises WeComError when it names nobody."""
    reader = _Reader(answer, "", IDENTITY_API)
    identity = SignInIdentity(
        userid=reader.identifier("userid") or None,
        openid=reader.identifier("openid") or None,
        external_userid=reader.identifier("external_userid") or None,
    )
    if not (identity.userid or identity.openid or identity.external_userid):
        raise WeComError.malformed(f"{IDENTITY_API}: the answer names neither a userid nor an openid", api=IDENTITY_API)
    return identity


def answer_fingerprint(answer: dict[str, Any]) -> str:
    """A digest of what an answer says about the parent, equal for equal answers whatever their key order.

    Stored with the parent, it recognises an answer identical to the stored one without
    parsing it or reading the stored rows; it is made of one digest per part of the
    answer (ANSWER_PARTS), so that a changed answer shows which parts changed. Whatever
    changes what an answer is stored as (the parser, the columns) must clear the stored
    fingerprints, so that each parent is stored anew once.
    """
    contact = answer.get("external_contact")
    profile = None
    if isinstance(contact, dict) and "external_profile" in contact:
        contact = {key: value for key, value in contact.items() if key != "external_profile"}
        profile = answer["external_contact"]["external_profile"]
    other = {key: value for key, value in answer.items() if key not in _PARTED_KEYS}
    return "".join(_digest(part) for part in (contact, profile, answer.get("follow_user"), other))


def unchanged_parts(stored: str, fingerprint: str) -> frozenset[str]:
    """The ANSWER_PARTS that two fingerprints say are the same; none when the stored one is missing."""
    if len(stored) != len(fingerprint):
        return frozenset()
    return frozenset(
        name
        for position, name in enumerate(ANSWER_PARTS)
        if stored[position * _PART_DIGEST : (position + 1) * _PART_DIGEST]
        == fingerprint[position * _PART_DIGEST : (position + 1) * _PART_DIGEST]
    )


def _digest(part: Any) -> str:
    canonical = json.dumps(part, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:_PART_DIGEST]


def parse_external_contact(answer: dict[str, Any]) -> ParsedContact:
    """Parse a whole externalcontact/get answer; raises WeComError on a wrong shape."""
    top = _Reader(answer, "")
    contact = top.child("external_contact")
    if contact is None:
        raise WeComError.malformed("the answer has no external_contact", api=API)
    external_userid = contact.identifier("external_userid")
    if not external_userid:
        raise WeComError.malformed("external_contact.external_userid is missing", api=API)

    gender = contact.code("gender")
    contact_type = contact.code("type")
    is_subscribe = contact.code("is_subscribe")
    subscriber = contact.child("subscriber_info")
    fields: dict[str, Any] = {
        "name": contact.text("name"),
        "position": contact.text("position"),
        "avatar": contact.text("avatar"),
        "corp_name": contact.text("corp_name"),
        "corp_full_name": contact.text("corp_full_name"),
        "type": contact_type,
        "gender": gender,
        "unionid": contact.identifier("unionid"),
        "is_subscribe": None if is_subscribe is None else is_subscribe == 1,
        "subscriber_tag_ids": subscriber.text_list("tag_id") if subscriber else None,
        "subscriber_remark_mobiles": subscriber.phones("remark_mobiles") if subscriber else None,
        "subscriber_remark": subscriber.text("remark") if subscriber else None,
    }

    profile = contact.child("external_profile")
    raw_attributes = profile.objects("external_attr") if profile else []
    if len(raw_attributes) > MAX_ATTRIBUTES:
        raise WeComError.malformed(f"external_attr has {len(raw_attributes)} entries", api=API)
    attributes = tuple(
        _parse_attribute(item, position, f"external_contact.external_profile.external_attr[{position}]")
        for position, item in enumerate(raw_attributes)
    )

    follow_users = tuple(
        _parse_follow_user(item, f"follow_user[{index}]") for index, item in enumerate(top.objects("follow_user"))
    )
    seen: set[str] = set()
    for follow_user in follow_users:
        if follow_user.userid in seen:
            raise WeComError.malformed(f"follow_user lists {follow_user.userid!r} twice", api=API)
        seen.add(follow_user.userid)

    return ParsedContact(
        external_userid=external_userid, fields=fields, attributes=attributes, follow_users=follow_users
    )


def _parse_attribute(item: Any, position: int, path: str) -> ParsedAttribute:
    reader = _Reader(item, path)
    attr_type = reader.code("type")
    if attr_type is None:
        raise WeComError.malformed(f"{path}.type is missing", api=API)
    name = reader.text("name")
    if attr_type == 0:
        text = reader.child("text")
        return ParsedAttribute(position, attr_type, name, text_value=text.text("value") if text else None, raw=item)
    if attr_type == 1:
        web = reader.child("web")
        return ParsedAttribute(
            position,
            attr_type,
            name,
            web_url=web.text("url") if web else None,
            web_title=web.text("title") if web else None,
            raw=item,
        )
    if attr_type == 2:
        mini = reader.child("miniprogram")
        return ParsedAttribute(
            position,
            attr_type,
            name,
            miniprogram_appid=mini.text("appid") if mini else None,
            miniprogram_pagepath=mini.text("pagepath") if mini else None,
            miniprogram_title=mini.text("title") if mini else None,
            raw=item,
        )
    # A type WeCom added after this code was written: keep it whole rather than drop it.
    return ParsedAttribute(position, attr_type, name, raw=item)


def _parse_follow_user(item: Any, path: str) -> ParsedFollowUser:
    reader = _Reader(item, path)
    userid = reader.identifier("userid")
    if not userid:
        raise WeComError.malformed(f"{path}.userid is missing", api=API)
    tags = []
    for index, raw_tag in enumerate(reader.objects("tags")):
        tag = _Reader(raw_tag, f"{path}.tags[{index}]")
        tags.append(
            ParsedTag(group_name=tag.text("group_name"), tag_name=tag.text("tag_name"), type=tag.code("type"))
        )
    return ParsedFollowUser(
        userid=userid,
        remark=reader.text("remark"),
        description=reader.text("description"),
        createtime=reader.timestamp("createtime"),
        remark_corp_name=reader.text("remark_corp_name"),
        remark_mobiles=reader.phones("remark_mobiles"),
        state=reader.text("state"),
        tags=tuple(tags),
    )
