"""Staff users, logged-in clients, WeCom answers and page readers shared by the admin tests.

Test modules load the fixtures with `pytest_plugins = ["tests.admin_factories"]`.
Parents are stored through the real refresh service, with WeCom faked at the HTTP
edge by the `wecom` fixture of conftest.py.

The test modules import functions from here before pytest loads it as a plugin, so
its asserts cannot be rewritten; PYTEST_DONT_REWRITE says so and keeps pytest quiet.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from contacts.models import ExternalContact, RefreshTrigger, WeComAccount
from contacts.services.refresh import refresh_contact

SEED = Path(__file__).parent / "data" / "seed_example.json"

VIEWER_GROUP = "查看家长"
MANAGER_GROUP = "学校管理员"
TEACHER_GROUP = "教师"

# The seed answer's phone numbers: the school's remark, then rocky's remark.
SUBSCRIBER_PHONES = ("10000000000", "10000000001")
TEACHER_PHONES = ("10000000003", "10000000004")
ALL_SEED_PHONES = SUBSCRIBER_PHONES + TEACHER_PHONES
MASKED_SEED_PHONES = ("100****0000", "100****0001", "100****0003", "100****0004")


# -- WeCom answers ------------------------------------------------------------------------


@cache
def _seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def seed() -> dict:
    """A fresh copy of the WeCom doc's example answer for woAAAA (李四, teachers rocky and tommy)."""
    return json.loads(_seed_text())


def parent_answer(external_userid: str = "woAAAA", **contact_fields) -> dict:
    """The seed answer for another parent: its own id, unionid and the given external_contact fields."""
    answer = seed()
    contact = answer["external_contact"]
    if external_userid != "woAAAA":
        contact["unionid"] = f"un-{external_userid}"
    contact["external_userid"] = external_userid
    contact.update(contact_fields)
    return answer


def other_parent_answer(external_userid: str = "woBBBB", **contact_fields) -> dict:
    """A parent sharing nothing searchable with 李四: name, remark, unionid, teacher, tags and phones differ."""
    answer = parent_answer(
        external_userid,
        name="王五",
        type=1,
        gender=2,
        unionid=f"un-{external_userid}",
        subscriber_info={"tag_id": ["TAG_ID9"], "remark_mobiles": ["13800000000"], "remark": "王小红-妈妈"},
    )
    answer["external_contact"].pop("is_subscribe")
    answer["external_contact"]["external_profile"] = {"external_attr": []}
    answer["external_contact"].update(contact_fields)
    answer["follow_user"] = [teacher("alice", "王老师", tags=["三年级"], mobiles=["13800000003"])]
    return answer


def teacher(
    userid: str,
    remark: str | None = None,
    *,
    tags: Iterable[str] = (),
    mobiles: Iterable[str | int] = (),
    createtime: int = 1600000000,
) -> dict:
    """One follow_user entry; each tag is given by its name, in the group 年级."""
    entry: dict = {"userid": userid, "createtime": createtime}
    if remark is not None:
        entry["remark"] = remark
    tags = list(tags)
    if tags:
        entry["tags"] = [{"group_name": "年级", "tag_name": name, "type": 1} for name in tags]
    mobiles = list(mobiles)
    if mobiles:
        entry["remark_mobiles"] = mobiles
    return entry


def answer_with_teachers(count: int, external_userid: str = "woAAAA", *, tags_each: int = 2, **contact_fields) -> dict:
    """A parent followed by `count` teachers, each with a remark, a phone and `tags_each` tags."""
    answer = parent_answer(external_userid, **contact_fields)
    answer["follow_user"] = [
        teacher(
            f"teacher{i:03d}",
            f"老师备注{i}",
            tags=[f"标签{i}-{t}" for t in range(tags_each)],
            mobiles=[13900000000 + i],
            createtime=1600000000 + i,
        )
        for i in range(count)
    ]
    return answer


def with_teacher_remark(answer: dict, userid: str, remark: str) -> dict:
    changed = copy.deepcopy(answer)
    for follow_user in changed["follow_user"]:
        if follow_user["userid"] == userid:
            follow_user["remark"] = remark
    return changed


def without_teacher(answer: dict, userid: str) -> dict:
    changed = copy.deepcopy(answer)
    changed["follow_user"] = [f for f in changed["follow_user"] if f["userid"] != userid]
    return changed


def store_parent(wecom, answer: dict) -> ExternalContact:
    """Store the parent as the refresh command would, WeCom answering `answer`."""
    wecom.answers(answer)
    result = refresh_contact(
        external_userid=answer["external_contact"]["external_userid"], trigger=RefreshTrigger.COMMAND
    )
    return result.contact


# -- staff ---------------------------------------------------------------------------------

PASSWORD = "admin-test-password"


def make_staff(
    username: str,
    *,
    groups: Iterable[str] = (),
    perms: Iterable[str] = (),
    is_staff: bool = True,
    is_superuser: bool = False,
):
    """A user; `perms` are codenames of the contacts app, e.g. "view_externalcontact"."""
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=is_staff, is_superuser=is_superuser
    )
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    perms = list(perms)
    if perms:
        found = Permission.objects.filter(content_type__app_label="contacts", codename__in=perms)
        assert found.count() == len(perms), f"unknown permission among {perms}"
        user.user_permissions.add(*found)
    return user


def linked(user, userid: str):
    """The account linked to the WeCom member `userid`, as their first WeCom sign-in links it."""
    WeComAccount.objects.create(user=user, userid=userid)
    return user


def logged_in(user, *, enforce_csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    client.force_login(user)
    return client


@pytest.fixture
def viewer(db):
    """A teacher in the group 查看家长."""
    return make_staff("viewer", groups=[VIEWER_GROUP])


@pytest.fixture
def manager(db):
    """A staff member in the group 学校管理员."""
    return make_staff("manager", groups=[MANAGER_GROUP])


@pytest.fixture
def teacher_account(db):
    """rocky, the teacher following 李四 in the seed answer, in the group 教师, as a first WeCom sign-in makes them."""
    return linked(make_staff("teacher", groups=[TEACHER_GROUP]), "rocky")


@pytest.fixture
def superuser(db):
    return make_staff("root", is_superuser=True)


@pytest.fixture
def viewer_client(viewer) -> Client:
    return logged_in(viewer)


@pytest.fixture
def manager_client(manager) -> Client:
    return logged_in(manager)


@pytest.fixture
def teacher_client(teacher_account) -> Client:
    return logged_in(teacher_account)


@pytest.fixture
def superuser_client(superuser) -> Client:
    return logged_in(superuser)


@pytest.fixture
def stored_parent(wecom) -> ExternalContact:
    """李四 (woAAAA) as the doc's example describes him, stored by the refresh command."""
    return store_parent(wecom, seed())


STORED_PARENTS = ("woAAAA", "woBBBB", "woCCCC")


@pytest.fixture
def stored_parents(wecom) -> list[ExternalContact]:
    """Three parents (STORED_PARENTS) stored by the refresh command."""
    return [store_parent(wecom, parent_answer(external_userid)) for external_userid in STORED_PARENTS]


# -- URLs ----------------------------------------------------------------------------------


def list_url() -> str:
    return reverse("admin:contacts_externalcontact_changelist")


def parent_url(contact: ExternalContact) -> str:
    return reverse("admin:contacts_externalcontact_change", args=[contact.pk])


def refresh_url(contact: ExternalContact) -> str:
    return reverse("admin:contacts_externalcontact_refresh", args=[contact.pk])


def lookup_url() -> str:
    return reverse("admin:contacts_externalcontact_lookup")


# -- reading pages ---------------------------------------------------------------------------


def shown_messages(response) -> list[tuple[str, str]]:
    """The (level, text) of each message on a page reached with follow=True."""
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


def listed(response) -> list[str]:
    """The external_userid of every parent on a list page, in order."""
    assert response.status_code == 200, response.status_code
    return [contact.external_userid for contact in response.context["cl"].result_list]


def text_of(response) -> str:
    return response.content.decode()


def section(html: str, css_class: str) -> str:
    """The HTML of the first element whose class attribute contains `css_class`."""
    match = re.search(rf'<(\w+)[^>]*class="[^"]*\b{re.escape(css_class)}\b[^"]*"', html)
    assert match, f"no element of class {css_class}"
    tag = match.group(1)
    end = html.find(f"</{tag}>", match.end())
    # Elements of the same tag may nest (fieldsets do not here, tables do not in these pages).
    return html[match.start() : end if end != -1 else len(html)]


def history_of(html: str) -> str:
    """The refresh-history box of a parent page."""
    return section(html, "refresh-history")


def inline_rows(html: str, prefix: str = "follow_users") -> list[str]:
    """The HTML of each row of an inline (follow users by default) on a parent page."""
    return re.findall(rf'<tr[^>]*id="{prefix}-\d+"[^>]*>.*?</tr>', html, flags=re.S)
