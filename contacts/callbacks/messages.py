"""The XML of WeCom callbacks: the posted envelope and the decrypted message inside it.

Both are flat `<xml>` documents. They are parsed with defusedxml and any DTD is refused
outright (WeCom never sends one), so entity expansion ("billion laughs") and external
entities cannot happen. Errors carry a fixed `reason`, never the text that failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

# A WeCom event has about ten fields; a message with many more is not one.
MAX_FIELDS = 64


class MessageError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    """What WeCom posts: the encrypted message and, unauthenticated, to whom it is addressed."""

    encrypted: str
    to_user_name: str = ""


@dataclass(frozen=True)
class CallbackMessage:
    """A decrypted event, its fields as WeCom named them (Event, ChangeType, UserID, ...)."""

    fields: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""

    def get(self, name: str) -> str:
        return self.fields.get(name, "")

    @property
    def msg_type(self) -> str:
        return self.get("MsgType")

    @property
    def event(self) -> str:
        return self.get("Event")

    @property
    def change_type(self) -> str:
        return self.get("ChangeType")

    @property
    def external_userid(self) -> str:
        return self.get("ExternalUserID")

    @property
    def userid(self) -> str:
        """The teacher (change_external_contact) or the roster userid (change_school_contact, `Id`)."""
        return self.get("UserID") or self.get("Id")

    @property
    def created_at(self) -> dt.datetime | None:
        text = self.get("CreateTime")
        if not text.isdigit():
            return None
        try:
            return dt.datetime.fromtimestamp(int(text), tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None


def _parse(data: bytes) -> Element:
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise MessageError("XML with a DTD or entities") from error
    except (ParseError, ValueError) as error:
        raise MessageError("malformed XML") from error
    if root.tag != "xml":
        raise MessageError("not a WeCom <xml> document")
    return root


def _fields(root: Element) -> dict[str, str]:
    fields: dict[str, str] = {}
    for child in root:
        if len(fields) >= MAX_FIELDS:
            raise MessageError("too many fields")
        if len(child):  # nested elements are not part of the events handled here
            continue
        fields[str(child.tag)] = (child.text or "").strip()
    return fields


def parse_envelope(*, body: bytes) -> Envelope:
    fields = _fields(_parse(body))
    encrypted = fields.get("Encrypt", "")
    if not encrypted:
        raise MessageError("no Encrypt element")
    return Envelope(encrypted=encrypted, to_user_name=fields.get("ToUserName", ""))


def parse_message(*, data: bytes) -> CallbackMessage:
    """The decrypted message; its fingerprint names it across WeCom's retried deliveries."""
    fields = _fields(_parse(data))
    if not fields.get("MsgType"):
        raise MessageError("no MsgType")
    return CallbackMessage(fields=fields, fingerprint=hashlib.sha256(data).hexdigest())
