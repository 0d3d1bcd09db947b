"""What one refresh changed, kept as JSON in the snapshot and rendered for people.

Values are stored as JSON-friendly values (datetimes as ISO text, tags as
"group/name" strings); rendering happens when shown, in the reader's language,
and masks phone numbers unless the reader may see them: the phone fields whole, and the
phones people typed into any other value (a description "爸爸手机 139 1234 5678").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from contacts.models import ConnectionState, ContactType, Gender, member_label
from contacts.privacy import mask_phone, mask_phones_in_text

PHONE_FIELDS = {"subscriber_remark_mobiles", "remark_mobiles"}
# Fields stored as codes, shown by their labels.
CHOICE_FIELDS = {"state": ConnectionState, "type": ContactType, "gender": Gender}

# Labels of the fields a change may name, shown in summaries.
FIELD_LABELS = {
    "name": gettext_noop("姓名"),
    "position": gettext_noop("职位"),
    "avatar": gettext_noop("头像"),
    "corp_name": gettext_noop("企业简称"),
    "corp_full_name": gettext_noop("企业主体名称"),
    "type": gettext_noop("类型"),
    "gender": gettext_noop("性别"),
    "unionid": gettext_noop("unionid"),
    "is_subscribe": gettext_noop("已关注学校通知"),
    "subscriber_tag_ids": gettext_noop("家长标签ID"),
    "subscriber_remark_mobiles": gettext_noop("学校备注的手机号"),
    "subscriber_remark": gettext_noop("学校备注"),
    "external_profile": gettext_noop("对外属性"),
    "state": gettext_noop("状态"),
}
# A teacher's fields: "state" there is the channel the parent was added through.
FOLLOW_USER_LABELS = {
    "remark": gettext_noop("备注"),
    "description": gettext_noop("描述"),
    "createtime": gettext_noop("添加时间"),
    "remark_corp_name": gettext_noop("备注企业名称"),
    "remark_mobiles": gettext_noop("备注手机号"),
    "tags": gettext_noop("标签"),
    "state": gettext_noop("添加渠道"),
}


@dataclass
class ContactChanges:
    created: bool = False
    fields: dict[str, list[Any]] = field(default_factory=dict)
    follow_users_added: list[str] = field(default_factory=list)
    follow_users_removed: list[str] = field(default_factory=list)
    follow_users_changed: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (
            self.created
            or self.fields
            or self.follow_users_added
            or self.follow_users_removed
            or self.follow_users_changed
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "fields": self.fields,
            "follow_users_added": self.follow_users_added,
            "follow_users_removed": self.follow_users_removed,
            "follow_users_changed": self.follow_users_changed,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ContactChanges:
        data = data or {}
        return cls(
            created=bool(data.get("created")),
            fields=dict(data.get("fields") or {}),
            follow_users_added=list(data.get("follow_users_added") or []),
            follow_users_removed=list(data.get("follow_users_removed") or []),
            follow_users_changed=dict(data.get("follow_users_changed") or {}),
        )

    @property
    def teacher_userids(self) -> list[str]:
        """The teachers these changes name, each once."""
        named = [*self.follow_users_added, *self.follow_users_removed, *self.follow_users_changed]
        return list(dict.fromkeys(named))

    def lines(self, *, reveal_phones: bool = False, names: Mapping[str, str] | None = None) -> list[str]:
        """One line per change, e.g. "备注 (罗凯 (rocky)): 李部长 → 李主任"; `names` are teachers' names by userid."""
        if self.is_empty:
            return []
        names = names or {}
        lines = []
        if self.created:
            lines.append(_("新家长，首次保存"))
        else:
            for name, (old, new) in self.fields.items():
                lines.append(_change_line(name, old, new, reveal_phones=reveal_phones))
        if self.follow_users_added:
            lines.append(_("新增跟进老师：%(userids)s") % {"userids": _teachers(self.follow_users_added, names)})
        if self.follow_users_removed:
            lines.append(_("跟进关系结束：%(userids)s") % {"userids": _teachers(self.follow_users_removed, names)})
        for userid, changed in self.follow_users_changed.items():
            owner = member_label(userid, names.get(userid))
            for name, (old, new) in changed.items():
                lines.append(_change_line(name, old, new, reveal_phones=reveal_phones, owner=owner))
        return lines

    def summary(self, *, reveal_phones: bool = False, names: Mapping[str, str] | None = None) -> str:
        return _("；").join(self.lines(reveal_phones=reveal_phones, names=names)) or _("无变化")


def _teachers(userids: list[str], names: Mapping[str, str]) -> str:
    return ", ".join(member_label(userid, names.get(userid)) for userid in userids)


def record_lines(
    *,
    changes: ContactChanges | dict[str, Any] | None,
    error: str = "",
    reveal_phones: bool = False,
    names: Mapping[str, str] | None = None,
) -> list[str]:
    """What one refresh record says, one line each: the failure first, then what changed.

    A successful record without a change kept an answer that differed from the stored
    one only in what is not stored (a field this app does not know yet).
    """
    lines = [_("刷新失败：%(error)s") % {"error": error}] if error else []
    if not isinstance(changes, ContactChanges):
        changes = ContactChanges.from_json(changes)
    lines.extend(changes.lines(reveal_phones=reveal_phones, names=names))
    return lines or [_("保存的字段无变化；企业微信的原始返回有不同之处，已保留。")]


def _change_line(name: str, old: Any, new: Any, *, reveal_phones: bool, owner: str = "") -> str:
    """A parent's field, or with `owner` (a teacher, as shown) a field of that teacher's follow-up."""
    if owner:
        label = f"{_(FOLLOW_USER_LABELS.get(name, name))} ({owner})"
        choices = None
    else:
        label = _(FIELD_LABELS.get(name, name))
        choices = CHOICE_FIELDS.get(name)
    phone_field = name in PHONE_FIELDS
    if choices is not None:
        old, new = _choice_label(choices, old), _choice_label(choices, new)
    return _("%(label)s：%(old)s → %(new)s") % {
        "label": label,
        "old": _show(old, phone_field=phone_field, reveal_phones=reveal_phones),
        "new": _show(new, phone_field=phone_field, reveal_phones=reveal_phones),
    }


def _choice_label(choices: Any, value: Any) -> Any:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _show(value: Any, *, phone_field: bool, reveal_phones: bool) -> str:
    if value is None or value == [] or value == "":
        return _("（空）")
    if isinstance(value, bool):
        return _("是") if value else _("否")
    values = value if isinstance(value, list) else [value]
    if reveal_phones:
        return ", ".join(str(v) for v in values)
    if phone_field:
        return ", ".join(mask_phone(str(v)) for v in values)
    return mask_phones_in_text(", ".join(str(v) for v in values))
