"""The simulator's side of staff sign-in: WeCom's login pages, codes that work once for 5 minutes,
auth/getuserinfo, and user/get for the staff's names."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from contacts.sandbox.signin import CodeStore, Identity
from tests.simulator.helpers import CORP_ID, SECRET

AGENT_ID = "1000005"
APP = "http://127.0.0.1:8000/signin/wecom/callback/"


@pytest.fixture
def server_options() -> dict:
    return {"agent_id": AGENT_ID}


def web_login(server, **changes) -> str:
    params = {"login_type": "CorpApp", "appid": CORP_ID, "agentid": AGENT_ID, "redirect_uri": APP, "state": "S1"}
    return f"{server.base_url}/wwlogin/sso/login?{urlencode({**params, **changes})}"


def choose(http, server, userid: str, *, redirect_uri: str = APP, state: str = "S1") -> requests.Response:
    return http.post(
        f"{server.base_url}/wwlogin/sso/choose",
        data={"userid": userid, "redirect_uri": redirect_uri, "state": state},
        allow_redirects=False,
        timeout=5,
    )


def code_for(http, server, userid: str) -> str:
    return parse_qs(urlsplit(choose(http, server, userid).headers["Location"]).query)["code"][0]


def call(http, server, api: str, **params) -> dict:
    token = http.get(f"{server.url}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}, timeout=5).json()
    params.setdefault("access_token", token["access_token"])
    return http.get(f"{server.url}/{api}", params=params, timeout=5).json()


# ----- the login pages ----------------------------------------------------------------------


def test_the_web_login_page_lists_the_schools_staff_to_choose_from(server, http, school):
    page = http.get(web_login(server), timeout=5)

    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "罗凯（rocky）" in page.text and "唐明（tommy）" in page.text
    assert page.text.count('name="userid"') == len(school.staff_userids()) + 1, "every member, and an outsider"
    assert page.text.index("rocky") < page.text.index(school.staff_userids()[0]), "rocky comes first"
    assert 'name="state" value="S1"' in page.text


def test_the_in_app_authorization_offers_the_same_choice(server, http):
    params = {"appid": CORP_ID, "redirect_uri": APP, "response_type": "code", "scope": "snsapi_base", "state": "S1"}
    page = http.get(f"{server.base_url}/connect/oauth2/authorize", params={**params, "agentid": AGENT_ID}, timeout=5)

    assert page.status_code == 200
    assert "罗凯（rocky）" in page.text


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"appid": "wwsomeoneelse"}, "appid"),
        ({"agentid": "1000099"}, "agentid"),
        ({"login_type": "ServiceApp"}, "login_type"),
        ({"redirect_uri": "javascript:alert(1)"}, "redirect_uri"),
    ],
)
def test_a_wrong_login_request_gets_wecoms_error_page(server, http, changes, complaint):
    page = http.get(web_login(server, **changes), timeout=5)

    assert page.status_code == 400
    assert complaint in page.text
    assert 'name="userid"' not in page.text


def test_choosing_a_member_sends_the_browser_back_with_a_code_and_the_state(server, http):
    answer = choose(http, server, "rocky", redirect_uri=f"{APP}?from=login", state="S-42")

    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == APP
    query = parse_qs(back.query)
    assert query["from"] == ["login"] and query["state"] == ["S-42"]
    assert len(query["code"][0]) >= 20


def test_choosing_nobody_known_gets_no_code(server, http):
    assert choose(http, server, "nobody").status_code == 400


# ----- auth/getuserinfo -----------------------------------------------------------------------


def test_a_code_names_its_member_once(server, http):
    code = code_for(http, server, "rocky")

    first = call(http, server, "auth/getuserinfo", code=code)
    again = call(http, server, "auth/getuserinfo", code=code)

    assert (first["errcode"], first["userid"]) == (0, "rocky")
    assert again["errcode"] == 40029


def test_an_outsiders_code_names_an_openid_and_no_userid(server, http):
    answer = call(http, server, "auth/getuserinfo", code=code_for(http, server, "__outsider__"))

    assert answer["errcode"] == 0
    assert "userid" not in answer
    assert answer["openid"] and answer["external_userid"]


def test_an_unknown_code_answers_40029_and_a_missing_token_41001(server, http):
    assert call(http, server, "auth/getuserinfo", code="made-up")["errcode"] == 40029
    answer = http.get(f"{server.url}/auth/getuserinfo", params={"code": code_for(http, server, "rocky")}, timeout=5)
    assert answer.json()["errcode"] == 41001


def test_a_code_expires_after_five_minutes():
    now = [1000.0]
    codes = CodeStore(clock=lambda: now[0])
    late, in_time = codes.issue(Identity(userid="rocky")), codes.issue(Identity(userid="tommy"))

    now[0] += 299
    assert codes.redeem(in_time) == Identity(userid="tommy")
    now[0] += 2
    assert codes.redeem(late) is None


# ----- user/get ----------------------------------------------------------------------------------


def test_user_get_names_a_member(server, http):
    answer = call(http, server, "user/get", userid="tommy")

    assert (answer["errcode"], answer["userid"], answer["name"], answer["status"]) == (0, "tommy", "唐明", 1)


def test_user_get_of_an_unknown_or_missing_userid(server, http):
    assert call(http, server, "user/get", userid="nobody")["errcode"] == 60111
    assert call(http, server, "user/get")["errcode"] == 41009
