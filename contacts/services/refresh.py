"""Refresh one parent from WeCom: fetch, and store what changed in one transaction.

An answer identical to the stored one (same `answer_fingerprint`) is recognised
before it is parsed, and costs one small read and the time of the check, which a
whole-school sync writes for many parents at once (a `CheckedRecorder`). Anything
else is parsed and stored in one transaction, column for column, with a snapshot of
the answer and what changed.

A failure of any kind leaves the stored parent exactly as it was, but for the
last-attempt and last-error fields (and the connection state on 84061/40096); a
failure that is news for the parent is kept in its history.
The number of SQL queries does not depend on how many teachers or tags a parent has.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import cache
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
from contacts.services.checked import CheckedRecorder, record_checked
from contacts.wecom.client import WeComClient, get_client
from contacts.wecom.errors import INVALID_EXTERNAL_USERID, ErrorKind, WeComError
from contacts.wecom.parsing import (
    ParsedAttribute,
    ParsedContact,
    ParsedFollowUser,
    answer_fingerprint,
    parse_external_contact,
    unchanged_parts,
)

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
# What every successful refresh of a stored parent writes, changed or not.
_REFRESH_BOOKKEEPING = (
    "answer_hash",
    "last_refreshed_at",
    "last_changed_at",
    "last_attempt_at",
    "last_trigger",
    "last_triggered_by",
    "last_failure",
    "last_error",
    "last_errcode",
    "updated_at",
)
# What the quick check reads of a stored parent; the rest of the row loads only if asked for.
_CHECK_FIELDS = (
    "id",
    "external_userid",
    "name",
    "answer_hash",
    "state",
    "last_failure",
    "last_error",
    "last_errcode",
)


@dataclass(frozen=True)
class RefreshResult:
    contact: ExternalContact
    changes: ContactChanges

    @property
    def created(self) -> bool:
        return self.changes.created

    @property
    def unchanged(self) -> bool:
        """True when nothing stored about the parent changed (and no history was written)."""
        return self.changes.is_empty


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
    checked: CheckedRecorder | None = None,
) -> RefreshResult:
    """Fetch one parent from WeCom and store it, creating it when new.

    When WeCom's answer is the one stored, only the time of the check is written: at
    once, or by `checked` (whose owner must flush it) when given. Raises WeComError
    when WeCom cannot give the parent; what was stored stays.
    """
    external_userid = normalize_external_userid(external_userid)
    client = client or get_client()
    attempted_at = timezone.now()
    try:
        answer = client.get_external_contact(external_userid)
        fingerprint = answer_fingerprint(answer)
        stored = _stored_for_check(external_userid)
        if stored is not None and _is_current(stored, fingerprint):
            _record_unchanged(
                stored, checked_at=attempted_at, trigger=trigger, triggered_by=triggered_by, checked=checked
            )
            return RefreshResult(contact=stored, changes=ContactChanges())
        parsed = parse_external_contact(answer)
        if parsed.external_userid != external_userid:
            raise WeComError.malformed(
                f"asked for {external_userid!r}, WeCom answered {parsed.external_userid!r}", api="externalcontact/get"
            )
    except WeComError as error:
        _record_failure(
            external_userid=external_userid,
            error=error,
            attempted_at=attempted_at,
            trigger=trigger,
            triggered_by=triggered_by,
        )
        raise

    with one_writer_at_a_time(), transaction.atomic():
        # Twice at most: a refresh that finds the parent new may lose the insert to another
        # refresh of the same parent, and then goes on with that one's row, locked.
        for _attempt in range(2):
            contact = _locked_parent(external_userid)
            created = contact is None
            if created:
                contact = ExternalContact(external_userid=external_userid, last_changed_at=attempted_at)
            changes = ContactChanges(created=created)
            _apply_contact_fields(contact, parsed, changes, now=attempted_at)
            # The same answer as stored (from a parent back in contact, say) is no new evidence.
            new_answer = created or fingerprint != (contact.answer_hash or _latest_answer_fingerprint(contact))
            # The rows of a part of the answer that did not change need not even be read.
            same = unchanged_parts(contact.answer_hash, fingerprint)
            contact.answer_hash = fingerprint
            contact.last_refreshed_at = attempted_at
            contact.last_attempt_at = attempted_at
            contact.last_trigger = trigger
            contact.last_triggered_by = triggered_by
            contact.last_failure = None
            contact.last_error = ""
            contact.last_errcode = None
            if not created or _insert_parent(contact):
                break
        else:
            raise RuntimeError(f"{external_userid} could be neither inserted nor found")
        if "profile" not in same:
            _apply_attributes(contact, parsed.attributes, changes)
        if "follow_users" not in same:
            _apply_follow_users(contact, parsed.follow_users, changes, now=attempted_at)
        if not {"contact", "follow_users"} <= same:
            _apply_phone_index(contact, parsed, created=created)
        if not created:
            # Written after the teachers and attributes are compared, so that it says whether anything changed.
            if not changes.is_empty:
                contact.last_changed_at = attempted_at
            contact.save(update_fields=_fields_to_write(changes))
        if new_answer or not changes.is_empty:
            ContactSnapshot.objects.create(
                contact=contact,
                fetched_at=attempted_at,
                trigger=trigger,
                triggered_by=triggered_by,
                raw=answer,
                changes=changes.as_json(),
            )
    return RefreshResult(contact=contact, changes=changes)


def _locked_parent(external_userid: str) -> ExternalContact | None:
    try:
        return ExternalContact.objects.select_for_update().get(external_userid=external_userid)
    except ExternalContact.DoesNotExist:
        return None


def _latest_answer_fingerprint(contact: ExternalContact) -> str:
    """The fingerprint of the parent's latest kept answer, for a parent stored without one."""
    raw = contact.snapshots.filter(raw__isnull=False).order_by("-pk").values_list("raw", flat=True).first()
    return answer_fingerprint(raw) if raw is not None else ""


def _fields_to_write(changes: ContactChanges) -> list[str]:
    """The columns of a stored parent that a successful refresh sets: its bookkeeping and what changed."""
    changed = [name for name in CONTACT_FIELDS if name in changes.fields]
    if "state" in changes.fields:
        changed += ["state", "state_changed_at"]
    return [*changed, *_REFRESH_BOOKKEEPING]


@cache
def _check_query() -> str:
    table = ExternalContact._meta.db_table
    columns = ", ".join(ExternalContact._meta.get_field(name).column for name in _CHECK_FIELDS)
    return f"SELECT {columns} FROM {table} WHERE external_userid = %s"  # noqa: S608 (names from the model)


def _stored_for_check(external_userid: str) -> ExternalContact | None:
    """The stored parent with the fields the quick check needs (the others deferred), or None.

    Written as SQL because it runs for every parent of every sync, and building the
    query with the ORM costs several times what running it does.
    """
    return next(iter(ExternalContact.objects.raw(_check_query(), [external_userid])), None)


def _is_current(stored: ExternalContact, fingerprint: str) -> bool:
    """True when the answer is the stored one and the parent is stored as connected."""
    return bool(stored.answer_hash) and stored.answer_hash == fingerprint and stored.state == ConnectionState.ACTIVE


def _record_unchanged(
    stored: ExternalContact,
    *,
    checked_at: Any,
    trigger: RefreshTrigger,
    triggered_by: AbstractBaseUser | None,
    checked: CheckedRecorder | None,
) -> None:
    if stored.last_failure or stored.last_error or stored.last_errcode is not None:
        # The last try failed: say at once that it works again.
        with one_writer_at_a_time():
            ExternalContact.objects.filter(pk=stored.pk).update(
                last_refreshed_at=checked_at,
                last_attempt_at=checked_at,
                last_trigger=trigger,
                last_triggered_by=triggered_by,
                last_failure=None,
                last_error="",
                last_errcode=None,
            )
        stored.last_failure, stored.last_error, stored.last_errcode = None, "", None
    elif checked is not None:
        checked.add(contact_id=stored.pk, checked_at=checked_at, trigger=trigger, triggered_by=triggered_by)
    else:
        record_checked(
            contact_ids=[stored.pk],
            checked_at=checked_at,
            trigger=trigger,
            triggered_by_id=triggered_by.pk if triggered_by is not None else None,
        )


def _record_failure(
    *,
    external_userid: str,
    error: WeComError,
    attempted_at: Any,
    trigger: RefreshTrigger,
    triggered_by: AbstractBaseUser | None,
) -> None:
    """Note the failed attempt on a stored parent; an id never stored stays unstored.

    The parent's history gets the failure when it is news: the first after a success,
    another error than the last one, or the parent no longer connected. The same error
    night after night is one entry, and WeCom's "too many calls" (the call is tried
    again later, and says nothing about the parent) none.
    """
    stored = (
        ExternalContact.objects.filter(external_userid=external_userid)
        .values("pk", "state", "last_failure", "last_error")
        .first()
    )
    if stored is None:
        logger.debug("refresh of unstored %s failed: %s", external_userid, error.describe())
        return
    record = error.as_record()
    update: dict[str, Any] = {
        "last_attempt_at": attempted_at,
        "last_failure": record,
        "last_error": "",
        "last_errcode": error.errcode,
    }
    changes = ContactChanges()
    if error.not_connected and stored["state"] != ConnectionState.NOT_CONNECTED:
        # The parent removed the school (or was removed): keep everything, mark it.
        changes.fields["state"] = [stored["state"], ConnectionState.NOT_CONNECTED.value]
        update.update(
            state=ConnectionState.NOT_CONNECTED, state_changed_at=attempted_at, last_changed_at=attempted_at
        )
    # A row written before records (last_error only) takes its next failure as news.
    news = error.kind is not ErrorKind.RATE_LIMITED and (record != stored["last_failure"] or stored["last_error"])
    with one_writer_at_a_time(), transaction.atomic():
        ExternalContact.objects.filter(pk=stored["pk"]).update(**update)
        if news or not changes.is_empty:
            ContactSnapshot.objects.create(
                contact_id=stored["pk"],
                fetched_at=attempted_at,
                trigger=trigger,
                triggered_by=triggered_by,
                raw=None,
                changes=changes.as_json(),
                failure=record,
                errcode=error.errcode,
            )
    logger.debug("refresh of %s failed: %s", external_userid, error.describe())


def _insert_parent(contact: ExternalContact) -> bool:
    """Insert a new parent whole; False when another refresh inserted the same parent first.

    A new parent is inserted with every field at once (not inserted empty and updated);
    the savepoint lets the losing insert fail alone, without the transaction around it.
    """
    try:
        with transaction.atomic():
            contact.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def _apply_contact_fields(
    contact: ExternalContact, parsed: ParsedContact, changes: ContactChanges, *, now: Any
) -> None:
    for name in CONTACT_FIELDS:
        old, new = getattr(contact, name), parsed.fields[name]
        if old != new:
            if not changes.created:
                changes.fields[name] = [old, new]
            setattr(contact, name, new)
    if contact.state != ConnectionState.ACTIVE:
        changes.fields["state"] = [contact.state, ConnectionState.ACTIVE.value]
        contact.state = ConnectionState.ACTIVE
        contact.state_changed_at = now


def _attribute_values(attribute: ParsedAttribute) -> tuple:
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
    stored = [] if changes.created else list(contact.attributes.order_by("position").values_list(*ATTRIBUTE_FIELDS))
    if stored == [_attribute_values(a) for a in parsed]:
        return
    if not changes.created:
        stored = [ExternalProfileAttribute(**dict(zip(ATTRIBUTE_FIELDS, values, strict=True))) for values in stored]
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


def _tag_label(group_name: str | None, tag_name: str | None, tag_type: int | None) -> str:
    return f"{group_name or ''}/{tag_name or ''}" + (f" ({tag_type})" if tag_type else "")


def _json_value(name: str, value: Any) -> Any:
    return value.isoformat() if name == "createtime" and value is not None else value


def _stored_follow_users(contact: ExternalContact) -> tuple[dict[str, FollowUser], dict[int, list[str]]]:
    """The parent's teachers by userid, and each one's tags as sorted labels: two queries."""
    follow_users = {f.userid: f for f in FollowUser.objects.filter(contact=contact).order_by()}
    labels: dict[int, list[str]] = {}
    for follow_user_id, *tag in FollowUserTag.objects.filter(follow_user__contact=contact).order_by().values_list(
        "follow_user_id", "group_name", "tag_name", "type"
    ):
        labels.setdefault(follow_user_id, []).append(_tag_label(*tag))
    for tag_labels in labels.values():
        tag_labels.sort()
    return follow_users, labels


def _apply_follow_users(
    contact: ExternalContact, parsed: tuple[ParsedFollowUser, ...], changes: ContactChanges, *, now: Any
) -> None:
    stored, stored_tags = ({}, {}) if changes.created else _stored_follow_users(contact)
    to_create: list[FollowUser] = []
    to_update: list[FollowUser] = []
    updated_fields: set[str] = set()
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
        old_tags = stored_tags.get(current.pk, [])
        new_tags = sorted(_tag_label(t.group_name, t.tag_name, t.type) for t in incoming.tags)
        if old_tags != new_tags:
            changed["tags"] = [old_tags, new_tags]
            retag.append((current, incoming))
            stale_tags_of.append(current.pk)
        updated_fields.update(name for name in changed if name != "tags")
        if current.ended_at is not None:
            current.ended_at = None
            updated_fields.add("ended_at")
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
    if ended:
        updated_fields.add("ended_at")
        to_update.extend(ended)

    FollowUser.objects.bulk_create(to_create)
    if len(to_update) == 1 and updated_fields:
        to_update[0].save(update_fields=sorted(updated_fields))
    elif updated_fields:
        # Only the columns that changed: the UPDATE is built per column and row.
        FollowUser.objects.bulk_update(to_update, sorted(updated_fields))
    if stale_tags_of:
        FollowUserTag.objects.filter(follow_user_id__in=stale_tags_of).delete()
    if retag:
        FollowUserTag.objects.bulk_create(
            FollowUserTag(follow_user=follow_user, group_name=t.group_name, tag_name=t.tag_name, type=t.type)
            for follow_user, incoming in retag
            for t in incoming.tags
        )
