"""Refresh one parent from WeCom: fetch, parse, and store everything in one transaction.

A failure of any kind leaves the stored parent exactly as it was, but for the
last-attempt and last-error fields (and the connection state on 84061/40096).
The number of SQL queries does not depend on how many teachers or tags a parent has.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.db import one_writer_at_a_time
from contacts.models import (
    PHONE_INDEX_LENGTH,
    ConnectionState,
    ContactPhone,
    ContactSnapshot,
    ExternalContact,
    ExternalProfileAttribute,
    FollowUser,
    FollowUserTag,
    RefreshTrigger,
)
from contacts.privacy import normalize_phone
from contacts.services.changes import ContactChanges
from contacts.wecom.client import WeComClient, get_client
from contacts.wecom.errors import INVALID_EXTERNAL_USERID, WeComError
from contacts.wecom.parsing import ParsedAttribute, ParsedContact, ParsedFollowUser, parse_external_contact

logger = logging.getLogger(__name__)

# WeCom ids are short ASCII tokens; refusing anything else keeps junk out of URLs and rows.
_EXTERNAL_USERID = re.compile(r"^[A-Za-z0-9_\-@.]{1,128}$")

CONTACT_FIELDS = (
    "name",
    "position",
    "avatar",
    "corp_name",
    "corp_full_name",
    "type",
    "gender",
    "unionid",
    "is_subscribe",
    "subscriber_tag_ids",
    "subscriber_remark_mobiles",
    "subscriber_remark",
)
FOLLOW_USER_FIELDS = ("remark", "description", "createtime", "remark_corp_name", "remark_mobiles", "state")
ATTRIBUTE_FIELDS = (
    "type",
    "name",
    "text_value",
    "web_url",
    "web_title",
    "miniprogram_appid",
    "miniprogram_pagepath",
    "miniprogram_title",
    "raw",
)


@dataclass(frozen=True)
class RefreshResult:
    contact: ExternalContact
    changes: ContactChanges

    @property
    def created(self) -> bool:
        return self.changes.created


def looks_like_external_userid(text: str) -> bool:
    return bool(_EXTERNAL_USERID.match(text))


def normalize_external_userid(external_userid: str) -> str:
    """The id as WeCom spells it, or a WeComError saying why it cannot be one."""
    cleaned = (external_userid or "").strip()
    if not looks_like_external_userid(cleaned):
        raise WeComError(
            f"{cleaned[:40]!r} is not a valid external_userid", reason=INVALID_EXTERNAL_USERID, detail=cleaned[:40]
        )
    return cleaned


def refresh_contact(
    *,
    external_userid: str,
    trigger: RefreshTrigger,
    triggered_by: AbstractBaseUser | None = None,
    client: WeComClient | None = None,
) -> RefreshResult:
    """Fetch one parent from WeCom and store it, creating it when new.

    Raises WeComError when WeCom cannot give the parent; what was stored stays.
    """
    external_userid = normalize_external_userid(external_userid)
    client = client or get_client()
    attempted_at = timezone.now()
    try:
        answer = client.get_external_contact(external_userid)
        parsed = parse_external_contact(answer)
        if parsed.external_userid != external_userid:
            raise WeComError.malformed(
                f"asked for {external_userid!r}, WeCom answered {parsed.external_userid!r}", api="externalcontact/get"
            )
    except WeComError as error:
        _record_failure(external_userid=external_userid, error=error, attempted_at=attempted_at)
        raise

    with one_writer_at_a_time(), transaction.atomic():
        # Twice at most: a refresh that finds the parent new may lose the insert to another
        # refresh of the same parent, and then goes on with that one's row, locked.
        for _attempt in range(2):
            contact = ExternalContact.objects.select_for_update().filter(external_userid=external_userid).first()
            created = contact is None
            if created:
                contact = ExternalContact(external_userid=external_userid)
            changes = ContactChanges(created=created)
            _apply_contact_fields(contact, parsed, changes)
            contact.last_refreshed_at = attempted_at
            contact.last_attempt_at = attempted_at
            contact.last_trigger = trigger
            contact.last_triggered_by = triggered_by
            contact.last_failure = None
            contact.last_error = ""
            contact.last_errcode = None
            if _save_parent(contact, created=created):
                break
        else:
            raise RuntimeError(f"{external_userid} could be neither inserted nor found")
        _apply_attributes(contact, parsed.attributes, changes)
        _apply_follow_users(contact, parsed.follow_users, changes, now=attempted_at)
        _apply_phone_index(contact, parsed, created=created)
        ContactSnapshot.objects.create(
            contact=contact,
            fetched_at=attempted_at,
            trigger=trigger,
            triggered_by=triggered_by,
            raw=answer,
            changes=changes.as_json(),
        )
    return RefreshResult(contact=contact, changes=changes)


def _record_failure(*, external_userid: str, error: WeComError, attempted_at: Any) -> None:
    """Note the failed attempt on a stored parent; an id never stored stays unstored."""
    update: dict[str, Any] = {
        "last_attempt_at": attempted_at,
        "last_failure": error.as_record(),
        "last_error": "",
        "last_errcode": error.errcode,
    }
    contacts = ExternalContact.objects.filter(external_userid=external_userid)
    contacts.update(**update)
    if error.not_connected:
        # The parent removed the school (or was removed): keep everything, mark it.
        contacts.exclude(state=ConnectionState.NOT_CONNECTED).update(
            state=ConnectionState.NOT_CONNECTED, state_changed_at=attempted_at
        )
    logger.debug("refresh of %s failed: %s", external_userid, error.describe())


def _save_parent(contact: ExternalContact, *, created: bool) -> bool:
    """Write the parent's row, whole; False when another refresh inserted the same parent first.

    A new parent is inserted with every field at once (not inserted empty and updated);
    the savepoint lets the losing insert fail alone, without the transaction around it.
    """
    if not created:
        contact.save()
        return True
    try:
        with transaction.atomic():
            contact.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def _apply_contact_fields(contact: ExternalContact, parsed: ParsedContact, changes: ContactChanges) -> None:
    for name in CONTACT_FIELDS:
        old, new = getattr(contact, name), parsed.fields[name]
        if old != new:
            if not changes.created:
                changes.fields[name] = [old, new]
            setattr(contact, name, new)
    if contact.state != ConnectionState.ACTIVE:
        changes.fields["state"] = [contact.state, ConnectionState.ACTIVE.value]
        contact.state = ConnectionState.ACTIVE
        contact.state_changed_at = timezone.now()


def _attribute_values(attribute: ExternalProfileAttribute | ParsedAttribute) -> tuple:
    return tuple(getattr(attribute, name) for name in ATTRIBUTE_FIELDS)


def _attribute_summary(attribute: ExternalProfileAttribute | ParsedAttribute) -> str:
    if attribute.type not in (0, 1, 2):
        return f"{attribute.name or ''}: {json.dumps(attribute.raw, ensure_ascii=False, sort_keys=True)}"
    values = (
        attribute.text_value,
        attribute.web_title,
        attribute.web_url,
        attribute.miniprogram_title,
        attribute.miniprogram_appid,
        attribute.miniprogram_pagepath,
    )
    return f"{attribute.name or ''}: {' '.join(v for v in values if v)}"


def _apply_attributes(
    contact: ExternalContact, parsed: tuple[ParsedAttribute, ...], changes: ContactChanges
) -> None:
    stored = [] if changes.created else list(contact.attributes.order_by("position"))
    if [_attribute_values(a) for a in stored] == [_attribute_values(a) for a in parsed]:
        return
    if not changes.created:
        changes.fields["external_profile"] = [
            [_attribute_summary(a) for a in stored],
            [_attribute_summary(a) for a in parsed],
        ]
        contact.attributes.all().delete()
    ExternalProfileAttribute.objects.bulk_create(
        ExternalProfileAttribute(
            contact=contact,
            position=a.position,
            **{name: getattr(a, name) for name in ATTRIBUTE_FIELDS},
        )
        for a in parsed
    )


def _apply_phone_index(contact: ExternalContact, parsed: ParsedContact, *, created: bool) -> None:
    """Keep the searchable phone numbers equal to those WeCom now lists for this parent."""
    noted = list(parsed.fields["subscriber_remark_mobiles"] or [])
    for follow_user in parsed.follow_users:
        noted.extend(follow_user.remark_mobiles or [])
    # Indexed as staff type them; something too long to be a phone number is not indexed.
    wanted = {n for n in map(normalize_phone, noted) if n and len(n) <= PHONE_INDEX_LENGTH}
    stored = set() if created else set(contact.phones.values_list("number", flat=True))
    if stored - wanted:
        contact.phones.filter(number__in=stored - wanted).delete()
    if wanted - stored:
        ContactPhone.objects.bulk_create(ContactPhone(contact=contact, number=n) for n in sorted(wanted - stored))


def _tag_labels(tags: Any) -> list[str]:
    return sorted(f"{t.group_name or ''}/{t.tag_name or ''}" + (f" ({t.type})" if t.type else "") for t in tags)


def _json_value(name: str, value: Any) -> Any:
    return value.isoformat() if name == "createtime" and value is not None else value


def _apply_follow_users(
    contact: ExternalContact, parsed: tuple[ParsedFollowUser, ...], changes: ContactChanges, *, now: Any
) -> None:
    stored: dict[str, FollowUser] = (
        {} if changes.created else {f.userid: f for f in contact.follow_users.prefetch_related("tags")}
    )
    to_create: list[FollowUser] = []
    to_update: list[FollowUser] = []
    retag: list[tuple[FollowUser, ParsedFollowUser]] = []
    stale_tags_of: list[int] = []

    for incoming in parsed:
        current = stored.get(incoming.userid)
        if current is None:
            current = FollowUser(contact=contact, userid=incoming.userid)
            for name in FOLLOW_USER_FIELDS:
                setattr(current, name, getattr(incoming, name))
            to_create.append(current)
            changes.follow_users_added.append(incoming.userid)
            if incoming.tags:
                retag.append((current, incoming))
            continue

        changed: dict[str, list[Any]] = {}
        for name in FOLLOW_USER_FIELDS:
            old, new = getattr(current, name), getattr(incoming, name)
            if old != new:
                changed[name] = [_json_value(name, old), _json_value(name, new)]
                setattr(current, name, new)
        old_tags, new_tags = _tag_labels(current.tags.all()), _tag_labels(incoming.tags)
        if old_tags != new_tags:
            changed["tags"] = [old_tags, new_tags]
            retag.append((current, incoming))
            stale_tags_of.append(current.pk)
        if current.ended_at is not None:
            current.ended_at = None
            changes.follow_users_added.append(incoming.userid)
            to_update.append(current)
        elif changed:
            to_update.append(current)
        if changed and incoming.userid not in changes.follow_users_added:
            changes.follow_users_changed[incoming.userid] = changed

    incoming_ids = {f.userid for f in parsed}
    ended = [f for userid, f in stored.items() if userid not in incoming_ids and f.ended_at is None]
    for follow_user in ended:
        follow_user.ended_at = now
        changes.follow_users_removed.append(follow_user.userid)
    to_update.extend(ended)

    FollowUser.objects.bulk_create(to_create)
    if to_update:
        FollowUser.objects.bulk_update(to_update, [*FOLLOW_USER_FIELDS, "ended_at"])
    if stale_tags_of:
        FollowUserTag.objects.filter(follow_user_id__in=stale_tags_of).delete()
    if retag:
        FollowUserTag.objects.bulk_create(
            FollowUserTag(follow_user=follow_user, group_name=t.group_name, tag_name=t.tag_name, type=t.type)
            for follow_user, incoming in retag
            for t in incoming.tags
        )
