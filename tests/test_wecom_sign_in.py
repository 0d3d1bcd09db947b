"""Staff sign in with WeCom: the login page's button, the trip to WeCom and back, and every refusal.

WeCom is faked at the HTTP edge (auth/getuserinfo and user/get answered by `responses`), and
one sign-in goes the whole way through the simulator's login page.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from responses import matchers

from contacts.models import WeComAccount
from contacts.signin.state import finish_sign_in, start_sign_in
from tests.admin_factories import TEACHER_GROUP, make_staff, text_of
from tests.conftest import API
from tests.startup import start_app_with

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

START = "/signin/wecom/"
CALLBACK = "/signin/wecom/callback/"
IN_APP = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 wxwork/4.1.22 MicroMessenger"


def start(client: Client, **params: str) -> str:
    """Press 企业微信登录; the state WeCom is asked to hand back."""
    response = client.get(START, params)
    assert response.status_code == 302
    return query_of(response["Location"])["state"]


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def back_from_wecom(client: Client, *, state: str, code: str = "CODE-1"):
    return client.get(CALLBACK, {"code": code, "state": state})


def wecom_knows(wecom, code: str = "CODE-1", **identity: str) -> None:
    wecom.rsps.get(
        f"{API}/auth/getuserinfo",
        match=[matchers.query_param_matcher({"code": code}, strict_match=False)],
        json={"errcode": 0, "errmsg": "ok", **identity},
    )


def member_is(wecom, userid: str, name: str) -> None:
    wecom.rsps.get(
        f"{API}/user/get",
        match=[matchers.query_param_matcher({"userid": userid}, strict_match=False)],
        json={"errcode": 0, "errmsg": "ok", "userid": userid, "name": name, "department": [1], "status": 1},
    )


def calls_to(wecom, api: str) -> int:
    return sum(urlsplit(call.request.url).path == f"/cgi-bin/{api}" for call in wecom.rsps.calls)


def signed_in_user(client: Client):
    user_id = client.session.get(SESSION_KEY)
    return get_user_model().objects.get(pk=user_id) if user_id else None


def linked(username: str, userid: str, **fields):
    user = make_staff(username, **fields)
    WeComAccount.objects.create(user=user, userid=userid)
    return user


# -- the login page --------------------------------------------------------------------------------


def test_the_login_page_offers_wecom_sign_in_next_to_the_password_form(client):
    page = text_of(client.get(reverse("admin:login"), {"next": "/admin/contacts/externalcontact/"}))

    assert 'id="login-form"' in page
    assert "企业微信登录" in page
    assert 'href="/signin/wecom/?next=%2Fadmin%2Fcontacts%2Fexternalcontact%2F"' in page


def test_without_an_agent_id_the_login_page_has_the_password_form_only(client, settings):
    settings.WECOM_AGENT_ID = ""

    page = text_of(client.get(reverse("admin:login")))

    assert 'id="login-form"' in page
    assert START not in page
    assert client.get(START).status_code == 404
    assert "未启用企业微信登录" in text_of(client.get(START))


# -- to WeCom ----------------------------------------------------------------------------------------


def test_a_desktop_browser_is_sent_to_the_web_login(client):
    response = client.get(START, HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0) Chrome/126.0")

    location = urlsplit(response["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "login.wecom.test", "/wwlogin/sso/login")
    query = query_of(response["Location"])
    assert query == {
        "login_type": "CorpApp",
        "appid": "wwtestcorp",
        "agentid": "1000002",
        "redirect_uri": "http://testserver/signin/wecom/callback/",
        "state": query["state"],
    }
    assert len(query["state"]) >= 32


def test_a_page_inside_the_wecom_app_is_sent_to_the_silent_authorization(client):
    response = client.get(START, HTTP_USER_AGENT=IN_APP)

    url = response["Location"]
    assert url.startswith("https://open.wecom.test/connect/oauth2/authorize?appid=wwtestcorp&")
    assert url.endswith("#wechat_redirect")
    query = query_of(url.removesuffix("#wechat_redirect"))
    assert query == {
        "appid": "wwtestcorp",
        "redirect_uri": "http://testserver/signin/wecom/callback/",
        "response_type": "code",
        "scope": "snsapi_base",
        "state": query["state"],
        "agentid": "1000002",
    }


def test_each_sign_in_gets_its_own_state(client):
    assert start(client) != start(client)


# -- back from WeCom: signed in ------------------------------------------------------------------------


def test_a_member_signing_in_for_the_first_time_gets_a_teacher_account(client, wecom):
    wecom_knows(wecom, userid="t007")
    member_is(wecom, "t007", "张老师")

    response = back_from_wecom(client, state=start(client))

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    user = signed_in_user(client)
    assert (user.username, user.first_name, user.is_staff, user.is_superuser) == ("t007", "张老师", True, False)
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == [TEACHER_GROUP]
    assert user.wecom_account.userid == "t007"
    assert "张老师" in text_of(client.get(reverse("admin:index")))


def test_a_linked_account_signs_in_as_it_is(client, wecom):
    office = linked("office", "t008", groups=["查看家长"])
    wecom_knows(wecom, userid="t008")

    back_from_wecom(client, state=start(client))

    assert signed_in_user(client) == office
    assert calls_to(wecom, "user/get") == 0
    assert list(office.groups.values_list("name", flat=True)) == ["查看家长"]
    assert get_user_model().objects.count() == 1


def test_an_account_of_the_same_name_is_never_taken_over(client, wecom):
    root = make_staff("t007", is_superuser=True)
    wecom_knows(wecom, userid="t007")
    member_is(wecom, "t007", "张老师")

    back_from_wecom(client, state=start(client))

    user = signed_in_user(client)
    assert user != root
    assert (user.username, user.is_superuser) == ("t007-wecom", False)
    assert not WeComAccount.objects.filter(user=root).exists()


def test_the_page_the_login_was_for_is_opened_afterwards(client, wecom):
    linked("office", "t008")
    wecom_knows(wecom, userid="t008")

    response = back_from_wecom(client, state=start(client, next="/admin/contacts/externalcontact/?q=李"))

    assert response["Location"] == "/admin/contacts/externalcontact/?q=%E6%9D%8E"


@pytest.mark.parametrize(
    "target", ["https://evil.example/admin/", "//evil.example/admin/", "javascript:alert(1)", "http://testserver.evil/"]
)
def test_a_next_target_off_this_site_is_ignored(client, wecom, target):
    linked("office", "t008")
    wecom_knows(wecom, userid="t008")

    response = back_from_wecom(client, state=start(client, next=target))

    assert response["Location"] == reverse("admin:index")
    assert signed_in_user(client) is not None


# -- back from WeCom: refused ----------------------------------------------------------------------------


def assert_refused(response, status: int, *texts: str) -> None:
    assert response.status_code == status
    page = unescape(text_of(response))
    for text in texts:
        assert text in page
    assert reverse("admin:login") in page, "the page leads back to the login"


def test_a_callback_without_a_state_is_refused(client, wecom):
    start(client)

    response = client.get(CALLBACK, {"code": "CODE-1"})

    assert_refused(response, 400, "登录请求不完整")
    assert signed_in_user(client) is None
    assert calls_to(wecom, "auth/getuserinfo") == 0


def test_a_state_this_browser_was_not_given_is_refused(client, wecom):
    wecom_knows(wecom, userid="t007")
    start(client)

    response = back_from_wecom(client, state="a-state-someone-else-was-given")

    assert_refused(response, 400, "登录请求已失效", "同一个浏览器")
    assert signed_in_user(client) is None
    assert calls_to(wecom, "auth/getuserinfo") == 0


def test_a_state_issued_to_another_browser_is_refused(client, wecom):
    wecom_knows(wecom, userid="t007")
    state = start(Client())

    assert_refused(back_from_wecom(client, state=state), 400, "登录请求已失效")
    assert signed_in_user(client) is None


def test_a_state_is_accepted_once(client, wecom):
    linked("office", "t008")
    wecom_knows(wecom, userid="t008")
    state = start(client)
    back_from_wecom(client, state=state)
    client.logout()

    response = back_from_wecom(client, state=state)

    assert_refused(response, 400, "登录请求已失效")
    assert signed_in_user(client) is None
    assert calls_to(wecom, "auth/getuserinfo") == 1


def test_a_state_expires_after_ten_minutes(client):
    session = client.session
    state = start_sign_in(session, next_url="/admin/", now=1000.0)

    assert finish_sign_in(session, state=state, now=1000.0 + 601) is None
    assert finish_sign_in(session, state=start_sign_in(session, next_url="", now=1000.0), now=1599.0) is not None


def test_a_cancelled_sign_in_without_a_code_is_refused(client, wecom):
    response = client.get(CALLBACK, {"state": start(client)})

    assert_refused(response, 400, "没有完成企业微信登录")
    assert calls_to(wecom, "auth/getuserinfo") == 0


def test_a_used_or_expired_code_is_refused(client, wecom):
    wecom.rsps.get(f"{API}/auth/getuserinfo", json={"errcode": 40029, "errmsg": "invalid code"})

    response = back_from_wecom(client, state=start(client))

    assert_refused(response, 400, "企业微信登录凭证无效", "5 分钟")
    assert signed_in_user(client) is None


def test_someone_who_is_not_a_member_is_refused(client, wecom):
    wecom_knows(wecom, openid="oPARENT-wechat", external_userid="wmPARENT")

    response = back_from_wecom(client, state=start(client))

    assert_refused(response, 403, "不是本校企业微信成员")
    assert signed_in_user(client) is None
    assert not get_user_model().objects.exists()


def test_a_disabled_account_is_refused(client, wecom):
    office = linked("office", "t008", groups=["查看家长"])
    office.is_active = False
    office.save()
    wecom_knows(wecom, userid="t008")

    response = back_from_wecom(client, state=start(client))

    assert_refused(response, 403, "账号已停用", "office")
    assert signed_in_user(client) is None


def test_an_account_without_staff_status_is_refused(client, wecom):
    linked("parent-user", "t009", is_staff=False)
    wecom_knows(wecom, userid="t009")

    assert_refused(back_from_wecom(client, state=start(client)), 403, "员工状态", "parent-user")
    assert signed_in_user(client) is None


def test_when_the_school_creates_accounts_a_new_member_is_told_whom_to_ask(client, wecom, settings):
    settings.WECOM_LOGIN_CREATE_USERS = False
    wecom_knows(wecom, userid="t007")

    response = back_from_wecom(client, state=start(client))

    assert_refused(response, 403, "还没有你的账号", "t007", "学校管理员")
    assert not get_user_model().objects.exists()
    assert calls_to(wecom, "user/get") == 0


def test_wecom_out_of_reach_is_explained_and_signs_nobody_in(client, wecom):
    wecom.rsps.get(f"{API}/auth/getuserinfo", body=requests.exceptions.ConnectionError("refused"))

    response = back_from_wecom(client, state=start(client), code="SECRET-CODE-4f2a")

    assert_refused(response, 503, "暂时无法通过企业微信确认身份", "无法连接企业微信", "稍后")
    assert "SECRET-CODE-4f2a" not in text_of(response)
    assert signed_in_user(client) is None


def test_wecom_out_of_reach_while_reading_a_new_members_name_creates_no_account(client, wecom):
    wecom_knows(wecom, userid="t007")
    wecom.rsps.get(f"{API}/user/get", status=502, body="<html>502 Bad Gateway</html>", content_type="text/html")

    assert_refused(back_from_wecom(client, state=start(client)), 503, "暂时无法通过企业微信确认身份")
    assert not get_user_model().objects.exists()


def test_the_password_form_still_signs_the_it_admin_in(client):
    make_staff("it-admin", is_superuser=True)

    response = client.post(
        reverse("admin:login"), {"username": "it-admin", "password": "admin-test-password", "next": "/admin/"}
    )

    assert response.status_code == 302
    assert signed_in_user(client).username == "it-admin"


# -- the whole way, through the simulator ------------------------------------------------------------------


def choose_on_wecoms_page(sign_in_url: str, userid: str) -> str:
    """Open WeCom's (the simulator's) login page, press the member's button; where WeCom redirects."""
    page = requests.get(sign_in_url, timeout=5)
    assert page.status_code == 200
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', page.text, re.S)
    assert form, page.text
    fields = {unescape(n): unescape(v) for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2))}
    assert f'value="{userid}"' in form.group(2), f"{userid} is not offered"
    fields["userid"] = userid
    wecom_site = "{0.scheme}://{0.netloc}".format(urlsplit(sign_in_url))
    chosen = requests.post(f"{wecom_site}{form.group(1)}", data=fields, allow_redirects=False, timeout=5)
    assert chosen.status_code == 302
    return chosen.headers["Location"]


def test_a_teacher_signs_in_through_the_simulated_wecom(client, sandbox):
    response = client.get(START, {"next": "/admin/contacts/externalcontact/"})
    callback = choose_on_wecoms_page(response["Location"], "rocky")
    assert callback.startswith("http://testserver/signin/wecom/callback/?")

    signed_in = client.get(callback)

    assert signed_in["Location"] == "/admin/contacts/externalcontact/"
    user = signed_in_user(client)
    assert (user.username, user.first_name) == ("rocky", "罗凯")
    assert user.groups.get() == Group.objects.get(name=TEACHER_GROUP)
    assert client.get("/admin/contacts/externalcontact/").status_code == 200


def test_a_code_of_the_simulated_wecom_works_once(client, sandbox):
    callback = choose_on_wecoms_page(client.get(START)["Location"], "rocky")
    client.get(callback)
    client.logout()
    used_code = query_of(callback)["code"]

    response = back_from_wecom(client, state=start(client), code=used_code)

    assert_refused(response, 400, "企业微信登录凭证无效")
    assert signed_in_user(client) is None


def test_a_parent_scanning_the_simulated_wecoms_code_is_refused(client, sandbox):
    callback = choose_on_wecoms_page(client.get(START)["Location"], "__outsider__")

    assert_refused(client.get(callback), 403, "不是本校企业微信成员")
    assert not get_user_model().objects.exists()


# -- in English ----------------------------------------------------------------------------------------------


def test_the_button_and_a_refusal_speak_english_when_asked(client):
    login_page = text_of(client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="en"))
    refusal = client.get(CALLBACK, {"code": "CODE-1"}, HTTP_ACCEPT_LANGUAGE="en")

    assert "Sign in with WeCom" in login_page
    assert_refused(refusal, 400, "The sign-in is incomplete", "Back to the sign-in page")


# -- the setting -----------------------------------------------------------------------------------------------


def test_an_agent_id_that_is_not_a_number_stops_the_app_at_startup():
    started = start_app_with(WECOM_AGENT_ID="wwdemoschool0001")

    assert started.returncode != 0
    assert "WECOM_AGENT_ID must be the app's AgentId" in started.stderr
    assert start_app_with(WECOM_AGENT_ID="1000002").returncode == 0
