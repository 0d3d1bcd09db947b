"""The parent card of the chat toolbar: what a staff member may read of the parent they are chatting with.

The card goes through the same decisions as the admin: which parents the member may see
(contacts.scope.visible_contacts), and whether phone numbers show whole or masked, also
those typed into names, remarks, descriptions and tags. Everything the card holds is
already as the reader may see it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

from django.contrib.auth.models import AbstractBaseUser

from contacts.admin.permissions import PHONE_PERMISSION
from contacts.models import ConnectionState, ExternalContact, member_label
from contacts.privacy import show_phones, shown_text
from contacts.scope import visible_contacts
from contacts.selectors import children_of, follow_users_in_order


class CardState(str, Enum):  # noqa: UP042 (str() and format() stay as they are)
    SHOWN = "shown"
    NOT_STORED = "not_stored"  # no parent with this external_userid is stored (yet)
    OUT_OF_SCOPE = "out_of_scope"  # stored, but not one of the reader's families


@dataclass(frozen=True)
class ChildLine:
    name: str
    class_name: str
    relation: str
    on_roster: bool  # False once the child or the relation left the school's roster


@dataclass(frozen=True)
class TeacherNote:
    teacher: str  # "罗凯 (rocky)"
    remark: str
    description: str
    tags: tuple[str, ...]
    phones: str
    ended_at: dt.datetime | None  # when WeCom stopped listing the teacher; None while they follow the parent


@dataclass(frozen=True)
class ParentCard:
    external_userid: str
    state: CardState
    reveals_phones: bool = False
    name: str = ""
    avatar_url: str = ""
    school_remark: str = ""
    school_phones: str = ""
    connected: bool = True
    children: tuple[ChildLine, ...] = ()
    teachers: tuple[TeacherNote, ...] = ()
    last_refreshed_at: dt.datetime | None = None
    last_changed_at: dt.datetime | None = None
    shows_whole_phones: bool = False  # the card holds phone numbers unmasked (their sight is audited)
    # The stored parent, for the audit and the admin link; pages show the fields above, never its own.
    contact: ExternalContact | None = field(default=None, repr=False, compare=False)

    @property
    def shown(self) -> bool:
        return self.state is CardState.SHOWN


def parent_card(*, user: AbstractBaseUser, external_userid: str) -> ParentCard:
    """The card of one parent as `user` may read it: the parent, or only why not (not stored, not theirs)."""
    contact = visible_contacts(user=user, contacts=ExternalContact.objects.filter(external_userid=external_userid))
    contact = contact.first()
    if contact is None:
        stored = ExternalContact.objects.filter(external_userid=external_userid).exists()
        state = CardState.OUT_OF_SCOPE if stored else CardState.NOT_STORED
        return ParentCard(external_userid=external_userid, state=state)

    reveal = user.has_perm(PHONE_PERMISSION)

    def text(value: str | None) -> str:
        return shown_text(value, reveal=reveal) or ""

    avatar = contact.avatar or ""
    return ParentCard(
        external_userid=contact.external_userid,
        state=CardState.SHOWN,
        reveals_phones=reveal,
        name=text(str(contact)),
        # Only web addresses: anything else (javascript:, data:) is not an image to load.
        avatar_url=avatar if avatar.lower().startswith(("http://", "https://")) else "",
        school_remark=text(contact.subscriber_remark),
        school_phones=show_phones(contact.subscriber_remark_mobiles, reveal=reveal),
        connected=contact.state == ConnectionState.ACTIVE,
        children=tuple(
            ChildLine(
                name=text(str(link.student)),
                class_name=link.student.department.name if link.student.department else "",
                relation=text(link.relation),
                on_roster=link.gone_at is None and link.student.gone_at is None,
            )
            for link in children_of(external_userid=contact.external_userid)
        ),
        teachers=tuple(
            TeacherNote(
                teacher=member_label(follow_user.userid, follow_user.teacher_name),
                remark=text(follow_user.remark),
                description=text(follow_user.description),
                tags=tuple(text(tag.tag_name) for tag in follow_user.tags.all() if tag.tag_name),
                phones=show_phones(follow_user.remark_mobiles, reveal=reveal),
                ended_at=follow_user.ended_at,
            )
            for follow_user in follow_users_in_order(contact.follow_users.all())
        ),
        last_refreshed_at=contact.last_refreshed_at,
        last_changed_at=contact.last_changed_at,
        shows_whole_phones=reveal and contact.phones.exists(),
        contact=contact,
    )
