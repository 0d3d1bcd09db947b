"""The chat toolbar page (/chat/parent/), its signatures and the parent card, walked as each role."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
import requests
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from contacts.chat.selectors import CardState, parent_card
from contacts.models import AuditAction, AuditEntry, ExternalContact, StaffMember
from contacts.services.ratelimit import rate_limiter_from_settings
from contacts.services.roster import sync_roster
from contacts.wecom.client import get_client
from tests.admin_factories import (
    MASKED_SEED_PHONES,
    SUBSCRIBER_PHONES,
    TEACHER_PHONES,
    linked,
    logged_in,
    make_staff,
    other_parent_answer,
    seed,
    store_parent,
    text_of,
    with_teacher_remark,
)
from tests.conftest import API
from tests.test_roster_sync import CLASS_3_1, FakeRoster, departments, parent

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

PAGE = "/chat/parent/"
CARD = "/chat/parent/card/"
REFRESH = "/chat/parent/refresh/"
SIGNATURE = "/chat/jssdk/signature/"
WECOM_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 wxwork/4.1.30"
JSAPI_TICKET = "school-jsapi-ticket-5b1d0c"
AGENT_TICKET = "app-agent-ticket-8e2f4a"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def role_client(request, role: str):
    """A logged-in client of each role: the fixtures of tests/admin_factories.py."""
    return request.getfixturevalue(f"{role}_client")


ALL_ROLES = ["superuser", "manager", "viewer", "teacher"]
MASKED_ROLES = ["viewer", "teacher"]


@pytest.fixture
def rocky_named(db):
    StaffMember.objects.create(userid="rocky", name="罗凯", status=1, last_seen_at=timezone.now())


@pytest.fixture
def family(wecom) -> ExternalContact:
    """李四 (woAAAA), as WeCom's example describes him, father of 张小明 in 三年级1班 on the roster;
    his teachers rocky (罗凯) and tommy (唐明) known by name."""
    contact = store_parent(wecom, seed())
    roster = FakeRoster(members={"rocky": "罗凯", "tommy": "唐明"})
    roster.parents[CLASS_3_1] = [parent("p-li", ("s-ming", "张小明", "爸爸"), external_userid="woAAAA")]
    roster.install(wecom)
    sync_roster(client=get_client())
    return contact


@pytest.fixture
def tickets(wecom):
    for api, ticket in (("get_jsapi_ticket", JSAPI_TICKET), ("ticket/get", AGENT_TICKET)):
        wecom.rsps.get(f"{API}/{api}", json={"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": 7200})
    return wecom


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": UNREACHABLE_REDIS}
    }


def page_config(response) -> dict:
    match = re.search(r'<script id="chat-config" type="application/json">(.*?)</script>', text_of(response), re.S)
    assert match, "no configuration on the page"
    return json.loads(match.group(1))


def card_of(client, external_userid: str = "woAAAA"):
    return client.get(CARD, {"external_userid": external_userid})


def expected_signature(ticket: str, nonce: str, timestamp: int, url: str) -> str:
    text = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - WeCom's signature algorithm


# -- the page --------------------------------------------------------------------------------------------------


def test_someone_not_signed_in_is_sent_to_wecom_sign_in_and_back_to_the_page(client):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('wecom_sign_in')}?next=/chat/parent/"


def test_inside_the_wecom_app_the_sign_in_is_wecoms_silent_authorization(client, settings):
    response = client.get(PAGE, follow=True, headers={"user-agent": WECOM_UA})

    location = response.redirect_chain[-1][0]
    assert location.startswith(f"{settings.WECOM_OAUTH_BASE}/connect/oauth2/authorize?")
    assert "scope=snsapi_base" in location


def test_without_wecom_sign_in_set_up_the_password_login_is_offered(client, settings):
    settings.WECOM_AGENT_ID = ""

    response = client.get(PAGE)

    assert response["Location"] == f"{reverse('admin:login')}?next=/chat/parent/"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_each_role_gets_the_page_with_the_apps_ids_and_the_sdk_served_by_this_site(request, role, settings):
    response = role_client(request, role).get(PAGE)

    assert response.status_code == 200
    config = page_config(response)
    assert config["corpId"] == settings.WECOM_CORP_ID
    assert config["agentId"] == settings.WECOM_AGENT_ID
    assert config["signatureUrl"] == SIGNATURE
    assert config["cardUrl"] == CARD
    html = text_of(response)
    assert '<script src="/static/contacts/vendor/wecom-jssdk/wecom.global.prod.js"></script>' in html
    assert "http" not in re.findall(r'<script src="([^"]*)"', html)[0]
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_page_is_chinese_first_and_english_when_asked(manager_client):
    chinese = page_config(manager_client.get(PAGE))["messages"]
    english = page_config(manager_client.get(PAGE, headers={"accept-language": "en"}))["messages"]

    assert "请在企业微信中打开本页" in chinese["notInWecom"]
    assert "Open this page in WeCom" in english["notInWecom"]
    assert "%(reason)s" in english["sdkRefused"]


def test_the_served_sdk_is_the_browser_build_of_the_pinned_npm_version():
    from django.conf import settings
    from django.contrib.staticfiles import finders

    pinned = json.loads((settings.BASE_DIR / "package.json").read_text())["dependencies"]["@wecom/jssdk"]
    folder = settings.BASE_DIR / "contacts/static/contacts/vendor/wecom-jssdk"
    bundle = finders.find("contacts/vendor/wecom-jssdk/wecom.global.prod.js")

    assert bundle == str(folder / "wecom.global.prod.js")
    text = (folder / "wecom.global.prod.js").read_text(encoding="utf-8")
    assert text.startswith("var ww=function(")  # a classic script defining the global `ww`
    assert f'"{pinned}"' in text  # its SDK_VERSION
    assert (folder / "VERSION").read_text().strip() == pinned
    assert "MIT License" in (folder / "LICENSE").read_text()


def test_staff_without_the_permission_to_view_parents_are_refused(db):
    client = logged_in(make_staff("clerk"))

    response = client.get(PAGE)

    assert response.status_code == 403
    assert "没有查看家长的权限" in text_of(response)


def test_an_account_that_is_not_staff_is_refused(db):
    client = logged_in(make_staff("former", perms=["view_externalcontact"], is_staff=False))

    assert client.get(PAGE).status_code == 403
    assert card_of(client).status_code == 403


def test_without_an_agent_id_the_page_says_what_to_set(manager_client, settings):
    settings.WECOM_AGENT_ID = ""

    response = manager_client.get(PAGE)

    assert response.status_code == 503
    assert "WECOM_AGENT_ID" in text_of(response)


def test_the_page_changes_nothing_on_post(manager_client):
    assert manager_client.post(PAGE).status_code == 405


# -- signatures ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_each_role_gets_both_signatures_of_the_page(request, role, tickets):
    client = role_client(request, role)
    url = "http://testserver/chat/parent/"

    for kind, ticket in (("config", JSAPI_TICKET), ("agent_config", AGENT_TICKET)):
        response = client.get(SIGNATURE, {"kind": kind, "url": url})
        assert response.status_code == 200
        answer = response.json()
        assert set(answer) == {"timestamp", "nonceStr", "signature"}
        assert answer["signature"] == expected_signature(ticket, answer["nonceStr"], answer["timestamp"], url)


def test_signatures_for_many_pages_and_people_fetch_each_ticket_once(manager_client, viewer_client, tickets):
    for client in (manager_client, viewer_client):
        for n in range(5):
            for kind in ("config", "agent_config"):
                url = f"http://testserver/chat/parent/?n={n}"
                assert client.get(SIGNATURE, {"kind": kind, "url": url}).status_code == 200

    calls = [call.request.url.split("?")[0] for call in tickets.rsps.calls]
    assert calls.count(f"{API}/get_jsapi_ticket") == 1
    assert calls.count(f"{API}/ticket/get") == 1


def test_someone_not_signed_in_gets_no_signature(client, tickets):
    response = client.get(SIGNATURE, {"kind": "config", "url": "http://testserver/chat/parent/"})

    assert response.status_code == 401
    assert "登录已过期" in response.json()["error"]
    assert len(tickets.rsps.calls) == 0


def test_staff_without_the_permission_get_no_signature(db, tickets):
    response = logged_in(make_staff("clerk")).get(SIGNATURE, {"kind": "config", "url": "http://testserver/"})

    assert response.status_code == 403
    assert len(tickets.rsps.calls) == 0


@pytest.mark.parametrize(
    "url", ["https://evil.example/chat/parent/", "/chat/parent/", "http://testserver.evil.example/", ""]
)
def test_only_this_sites_pages_are_signed(manager_client, tickets, url):
    response = manager_client.get(SIGNATURE, {"kind": "agent_config", "url": url})

    assert response.status_code == 400
    assert "本系统的页面" in response.json()["error"]
    assert len(tickets.rsps.calls) == 0


def test_an_unknown_kind_of_signature_is_bad_input(manager_client, tickets):
    response = manager_client.get(SIGNATURE, {"kind": "jsapi", "url": "http://testserver/chat/parent/"})

    assert response.status_code == 400


def test_wecom_refusing_the_ticket_is_said_with_what_to_do(manager_client, wecom):
    wecom.rsps.get(f"{API}/ticket/get", json={"errcode": 60020, "errmsg": "not allow to access from your ip"})

    response = manager_client.get(SIGNATURE, {"kind": "agent_config", "url": "http://testserver/chat/parent/"})

    assert response.status_code == 502
    assert "企业可信IP" in response.json()["error"]


def test_wecom_out_of_reach_is_said_in_the_readers_language(manager_client, wecom):
    wecom.rsps.get(f"{API}/get_jsapi_ticket", body=requests.ConnectionError("refused"))

    response = manager_client.get(
        SIGNATURE, {"kind": "config", "url": "http://testserver/chat/parent/"}, headers={"accept-language": "en"}
    )

    assert response.status_code == 502
    assert "WeCom could not be reached" in response.json()["error"]


def test_while_wecom_limits_calls_the_page_is_told_when_to_try_again_and_wecom_is_not_asked(manager_client, tickets):
    rate_limiter_from_settings().pause(60)

    response = manager_client.get(SIGNATURE, {"kind": "config", "url": "http://testserver/chat/parent/"})

    assert response.status_code == 503
    assert "企业微信限制了调用频率" in response.json()["error"]
    assert not [call for call in tickets.rsps.calls if "ticket" in call.request.url]


def test_the_shared_cache_down_is_said_with_what_to_check(manager_client, cache_down):
    response = manager_client.get(SIGNATURE, {"kind": "config", "url": "http://testserver/chat/parent/"})

    assert response.status_code == 503
    assert "共享缓存不可用" in response.json()["error"]


# -- the card ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_card_shows_the_parent_the_children_and_every_teachers_notes(request, role, family):
    html = text_of(card_of(role_client(request, role)))

    assert "李四" in html
    assert "李小明-爸爸" in html  # the school's remark
    assert "张小明" in html and "三年级1班" in html and "爸爸" in html
    assert "罗凯 (rocky)" in html and "李部长" in html and "对接采购事物" in html and "标签名称" in html
    assert "唐明 (tommy)" in html and "李总" in html and "采购问题咨询" in html
    assert "最近成功刷新" in html and "最近变化" in html


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_phones_are_masked_for_roles_without_the_phone_permission(request, role, family):
    html = text_of(card_of(role_client(request, role)))

    for phone in (*SUBSCRIBER_PHONES, *TEACHER_PHONES):
        assert phone not in html
    for masked in MASKED_SEED_PHONES:
        assert masked in html
    assert AuditEntry.objects.filter(action=AuditAction.VIEW_PHONES).count() == 0


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_a_phone_typed_into_a_teachers_remark_is_masked_too(request, role, wecom, rocky_named):
    store_parent(wecom, with_teacher_remark(seed(), "rocky", "爸爸手机 139 1234 5678"))

    html = text_of(card_of(role_client(request, role)))

    assert "139 1234 5678" not in html
    assert "爸爸手机 139 **** 5678" in html


@pytest.mark.parametrize("role", ["superuser", "manager"])
def test_phones_show_whole_with_the_permission_and_their_sight_is_recorded(request, role, family):
    client = role_client(request, role)

    html = text_of(card_of(client))

    for phone in (*SUBSCRIBER_PHONES, *TEACHER_PHONES):
        assert phone in html
    entry = AuditEntry.objects.get(action=AuditAction.VIEW_PHONES)
    assert entry.contact == family
    assert entry.username == ("root" if role == "superuser" else "manager")


@pytest.mark.parametrize(
    ("role", "has_button"), [("superuser", True), ("manager", True), ("viewer", False), ("teacher", True)]
)
def test_the_refresh_button_is_offered_only_to_those_who_may_refresh(request, role, has_button, family):
    html = text_of(card_of(role_client(request, role)))

    assert ('action="/chat/parent/refresh/"' in html) is has_button
    assert "从企业微信刷新" in html if has_button else "从企业微信刷新" not in html


def test_the_card_links_to_the_parents_admin_page(viewer_client, family):
    html = text_of(card_of(viewer_client))

    assert f'href="/admin/contacts/externalcontact/{family.pk}/change/"' in html


def test_a_parent_no_longer_connected_is_marked_so(viewer_client, family):
    ExternalContact.objects.filter(pk=family.pk).update(state="not_connected")

    assert "已无联系" in text_of(card_of(viewer_client))


@pytest.mark.parametrize(("role", "offered"), [("manager", True), ("viewer", False), ("teacher", False)])
def test_a_parent_not_stored_yet_is_said_so_and_only_refreshers_may_fetch_them(request, role, offered, family):
    html = text_of(card_of(role_client(request, role), "wmNEWPARENT"))

    assert "还没有这位家长的资料" in html
    assert "wmNEWPARENT" in html
    assert ('action="/chat/parent/refresh/"' in html) is offered


def test_a_teacher_sees_a_parent_outside_their_families_as_such_without_data(teacher_client, family, wecom):
    store_parent(wecom, other_parent_answer("woBBBB"))  # 王五, followed by alice alone, no child in rocky's class

    response = card_of(teacher_client, "woBBBB")

    html = text_of(response)
    assert response.status_code == 200
    assert "不在您的范围内" in html
    for data in ("王五", "王小红-妈妈", "alice", "王老师", "三年级", "138****", "13800000000", "在管理后台打开"):
        assert data not in html
    assert 'action="/chat/parent/refresh/"' not in html
    english = text_of(teacher_client.get(CARD, {"external_userid": "woBBBB"}, headers={"accept-language": "en"}))
    assert "outside your families" in english


def test_a_teacher_sees_the_parents_of_the_class_they_teach(db, wecom):
    store_parent(wecom, other_parent_answer("woBBBB"))
    roster = FakeRoster(departments=departments(class_admins=("wendy",)))
    roster.parents[CLASS_3_1] = [parent("p-wang", ("s-hong", "王小红", "妈妈"), external_userid="woBBBB")]
    roster.install(wecom)
    sync_roster(client=get_client())
    wendy = logged_in(linked(make_staff("wendy", groups=["教师"]), "wendy"))

    html = text_of(card_of(wendy, "woBBBB"))

    assert "王五" in html and "王小红" in html


def test_nobody_without_a_role_has_a_parent_in_their_scope(family):
    card = parent_card(user=make_staff("clerk"), external_userid="woAAAA")

    assert card.state is CardState.OUT_OF_SCOPE
    assert card.name == "" and card.children == () and card.teachers == () and card.contact is None


def test_nobody_signed_out_has_a_scope(family):
    assert parent_card(user=AnonymousUser(), external_userid="woAAAA").state is CardState.OUT_OF_SCOPE


@pytest.mark.parametrize("external_userid", ["", "wo AAAA", "wo<script>", "w" * 129])
def test_an_invalid_parent_id_is_refused_as_bad_input(manager_client, family, external_userid):
    response = card_of(manager_client, external_userid)

    assert response.status_code == 400
    assert "家长编号无效" in text_of(response)


def test_someone_signed_out_gets_a_card_that_says_so(client, family):
    response = card_of(client)

    assert response.status_code == 401
    assert "登录已过期" in text_of(response)
    assert "李四" not in text_of(response)


def test_the_card_in_english(viewer_client, family):
    html = text_of(viewer_client.get(CARD, {"external_userid": "woAAAA"}, headers={"accept-language": "en"}))

    assert "Children" in html and "Teachers' notes" in html


# -- refresh ----------------------------------------------------------------------------------------------------


def test_a_manager_refreshes_the_parent_and_sees_what_changed(manager_client, family, wecom):
    wecom.answers(with_teacher_remark(seed(), "rocky", "李主任"))

    response = manager_client.post(REFRESH, {"external_userid": "woAAAA"})

    html = text_of(response)
    assert response.status_code == 200
    assert "已从企业微信刷新" in html and "李主任" in html
    entry = AuditEntry.objects.get(action=AuditAction.REFRESH)
    assert entry.contact == family and entry.username == "manager"


def test_a_manager_fetches_a_parent_not_stored_yet(manager_client, family, wecom):
    answer = seed()
    answer["external_contact"]["external_userid"] = "wmNEWPARENT"
    answer["external_contact"]["unionid"] = "un-new"
    wecom.answers(answer)

    html = text_of(manager_client.post(REFRESH, {"external_userid": "wmNEWPARENT"}))

    assert ExternalContact.objects.filter(external_userid="wmNEWPARENT").exists()
    assert "已从企业微信刷新" in html and "李部长" in html
    assert AuditEntry.objects.get(action=AuditAction.LOOKUP).external_userid == "wmNEWPARENT"


def test_the_office_may_not_refresh_and_wecom_is_not_asked(viewer_client, family, wecom):
    calls_before = wecom.contact_calls()

    response = viewer_client.post(REFRESH, {"external_userid": "woAAAA"})

    assert response.status_code == 403
    assert "学校管理员" in text_of(response)
    assert wecom.contact_calls() == calls_before


def test_a_teacher_refreshes_their_own_parent(teacher_client, family, wecom):
    wecom.answers(with_teacher_remark(seed(), "rocky", "李主任"))

    html = text_of(teacher_client.post(REFRESH, {"external_userid": "woAAAA"}))

    assert "已从企业微信刷新" in html and "李主任" in html
    assert "10000000003" not in html  # still masked
    assert AuditEntry.objects.get(action=AuditAction.REFRESH).username == "teacher"


def test_a_teacher_may_not_refresh_a_parent_outside_their_families(teacher_client, family, wecom):
    store_parent(wecom, other_parent_answer("woBBBB"))
    calls_before = wecom.contact_calls()

    response = teacher_client.post(REFRESH, {"external_userid": "woBBBB"})

    assert response.status_code == 403
    assert "不在您的范围内" in text_of(response) and "王五" not in text_of(response)
    assert wecom.contact_calls() == calls_before
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "teacher"])
def test_only_staff_who_see_every_parent_and_may_look_up_fetch_a_new_one(request, role, family, wecom):
    calls_before = wecom.contact_calls()

    response = role_client(request, role).post(REFRESH, {"external_userid": "wmNEWPARENT"})

    assert response.status_code == 403
    assert "学校管理员" in text_of(response)
    assert wecom.contact_calls() == calls_before
    assert not ExternalContact.objects.filter(external_userid="wmNEWPARENT").exists()


def test_refresh_needs_a_post_with_the_csrf_token(manager, family, wecom):
    client = logged_in(manager, enforce_csrf_checks=True)
    calls_before = wecom.contact_calls()

    assert client.get(REFRESH, {"external_userid": "woAAAA"}).status_code == 405
    assert client.post(REFRESH, {"external_userid": "woAAAA"}).status_code == 403
    assert wecom.contact_calls() == calls_before


def test_someone_signed_out_cannot_refresh(client, family, wecom):
    calls_before = wecom.contact_calls()

    assert client.post(REFRESH, {"external_userid": "woAAAA"}).status_code == 401
    assert wecom.contact_calls() == calls_before


def test_a_failed_refresh_says_what_happened_and_keeps_the_card(manager_client, family, wecom):
    wecom.fails("woAAAA", 60020)

    html = text_of(manager_client.post(REFRESH, {"external_userid": "woAAAA"}))

    assert "刷新失败" in html and "企业可信IP" in html and "本地数据未改动" in html
    assert "李部长" in html


def test_a_parent_who_left_is_marked_and_kept(manager_client, family, wecom):
    wecom.fails("woAAAA", 84061)

    html = text_of(manager_client.post(REFRESH, {"external_userid": "woAAAA"}))

    assert "已标记为“已无联系”" in html
    assert "已无联系" in html and "李部长" in html


def test_a_refresh_with_the_shared_cache_down_says_what_to_check(manager_client, family, cache_down):
    html = text_of(manager_client.post(REFRESH, {"external_userid": "woAAAA"}))

    assert "共享缓存不可用" in html and "本地数据未改动" in html
