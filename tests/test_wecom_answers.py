"""What each API returns, and how answers of the wrong shape are reported."""

import json

import pytest
import responses
from django.conf import settings
from django.core.cache import cache

from contacts.wecom.client import MAX_CURSOR_PAGES, WeComClient, get_client
from contacts.wecom.errors import ErrorKind, WeComError

BASE = "https://wecom.test/cgi-bin"
CONTACT_URL = f"{BASE}/externalcontact/get"
LIST_URL = f"{BASE}/externalcontact/list"
DEPARTMENTS_URL = f"{BASE}/school/department/list"
PARENTS_URL = f"{BASE}/school/user/list_parent"

CONTACT = {
    "errcode": 0,
    "errmsg": "ok",
    "external_contact": {"external_userid": "wmParent01", "name": "李四", "type": 1, "gender": 1},
    "follow_user": [{"userid": "rocky", "remark": "李小明-爸爸", "createtime": 1525779812}],
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{BASE}/gettoken", json={"errcode": 0, "errmsg": "ok", "access_token": "tok", "expires_in": 7200})
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps) -> WeComClient:
    return WeComClient(
        corp_id=settings.WECOM_CORP_ID,
        secret=settings.WECOM_SECRET,
        api_base=settings.WECOM_API_BASE,
        timeout=settings.WECOM_TIMEOUT,
        sleep=sleeps.append,
    )


def calls_to(http, api: str) -> list:
    return [call for call in http.calls if call.request.url.split("?")[0] == f"{BASE}/{api}"]


# -- externalcontact/get ---------------------------------------------------------------------


def test_get_external_contact_returns_the_whole_answer(http, client):
    http.get(CONTACT_URL, json=CONTACT)

    assert client.get_external_contact("wmParent01") == CONTACT
    assert calls_to(http, "externalcontact/get")[0].request.params == {
        "external_userid": "wmParent01",
        "access_token": "tok",
    }


def test_get_external_contact_follows_next_cursor_and_joins_follow_user(http, client):
    http.get(CONTACT_URL, json={**CONTACT, "follow_user": [{"userid": "a"}], "next_cursor": "page-2"})
    http.get(CONTACT_URL, json={**CONTACT, "follow_user": [{"userid": "b"}, {"userid": "c"}], "next_cursor": "page-3"})
    http.get(CONTACT_URL, json={**CONTACT, "follow_user": [{"userid": "d"}], "next_cursor": ""})

    answer = client.get_external_contact("wmParent01")

    assert [user["userid"] for user in answer["follow_user"]] == ["a", "b", "c", "d"]
    assert answer["external_contact"] == CONTACT["external_contact"]
    assert "next_cursor" not in answer
    cursors = [call.request.params.get("cursor") for call in calls_to(http, "externalcontact/get")]
    assert cursors == [None, "page-2", "page-3"]


def test_a_page_without_follow_user_adds_no_one(http, client):
    http.get(CONTACT_URL, json={**CONTACT, "follow_user": [{"userid": "a"}], "next_cursor": "page-2"})
    http.get(CONTACT_URL, json={"errcode": 0, "errmsg": "ok", "external_contact": CONTACT["external_contact"]})

    assert client.get_external_contact("wmParent01")["follow_user"] == [{"userid": "a"}]


def test_a_repeated_next_cursor_is_an_error_not_a_loop(http, client):
    http.get(CONTACT_URL, json={**CONTACT, "next_cursor": "page-2"})
    http.get(CONTACT_URL, json={**CONTACT, "next_cursor": "page-2"})

    with pytest.raises(WeComError) as caught:
        client.get_external_contact("wmParent01")

    assert "next_cursor" in str(caught.value)
    assert len(calls_to(http, "externalcontact/get")) == 2


def test_paging_stops_after_a_bounded_number_of_pages(http, client):
    pages = iter(range(1, 1000))

    def endless(request):
        body = {**CONTACT, "next_cursor": f"page-{next(pages)}"}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    http.add_callback(responses.GET, CONTACT_URL, callback=endless)

    with pytest.raises(WeComError) as caught:
        client.get_external_contact("wmParent01")

    assert caught.value.kind is ErrorKind.PERMANENT
    assert len(calls_to(http, "externalcontact/get")) == MAX_CURSOR_PAGES


def test_an_answer_without_external_contact_is_malformed(http, client):
    http.get(CONTACT_URL, json={"errcode": 0, "errmsg": "ok", "follow_user": []})

    with pytest.raises(WeComError) as caught:
        client.get_external_contact("wmParent01")

    assert caught.value.kind is ErrorKind.PERMANENT
    assert "external_contact" in str(caught.value)
    assert len(calls_to(http, "externalcontact/get")) == 1


@pytest.mark.parametrize("follow_user", ["rocky", [["rocky"]], {"userid": "rocky"}])
def test_a_follow_user_that_is_not_a_list_of_objects_is_malformed_when_paging(http, client, follow_user):
    http.get(CONTACT_URL, json={**CONTACT, "follow_user": follow_user, "next_cursor": "page-2"})
    http.get(CONTACT_URL, json=CONTACT)

    with pytest.raises(WeComError) as caught:
        client.get_external_contact("wmParent01")

    assert "follow_user" in str(caught.value)


# -- lists -------------------------------------------------------------------------------------


def test_list_external_contacts_returns_the_external_userids(http, client):
    http.get(LIST_URL, json={"errcode": 0, "errmsg": "ok", "external_userid": ["wmA", "wmB"]})

    assert client.list_external_contacts("teacher01") == ["wmA", "wmB"]
    assert calls_to(http, "externalcontact/list")[0].request.params["userid"] == "teacher01"


def test_list_external_contacts_of_a_member_with_none_is_empty(http, client):
    http.get(LIST_URL, json={"errcode": 84061, "errmsg": "not external contact"})

    assert client.list_external_contacts("teacher-with-no-parents") == []
    assert len(calls_to(http, "externalcontact/list")) == 1


def test_list_external_contacts_raises_other_errors(http, client):
    http.get(LIST_URL, json={"errcode": 60011, "errmsg": "no privilege"})

    with pytest.raises(WeComError) as caught:
        client.list_external_contacts("teacher01")

    assert caught.value.kind is ErrorKind.CONFIGURATION


@pytest.mark.parametrize("answer", [
    {"errcode": 0, "errmsg": "ok"},
    {"errcode": 0, "errmsg": "ok", "external_userid": "wmA"},
    {"errcode": 0, "errmsg": "ok", "external_userid": ["wmA", 5]},
])
def test_a_list_answer_without_a_list_of_userids_is_malformed(http, client, answer):
    http.get(LIST_URL, json=answer)

    with pytest.raises(WeComError) as caught:
        client.list_external_contacts("teacher01")

    assert caught.value.kind is ErrorKind.PERMANENT
    assert "external_userid" in str(caught.value)


def test_list_departments_without_an_id_asks_for_the_whole_tree(http, client):
    departments = [{"id": 1, "name": "学校", "type": 5}, {"id": 2, "name": "一年级", "parentid": 1, "type": 2}]
    http.get(DEPARTMENTS_URL, json={"errcode": 0, "errmsg": "ok", "departments": departments})

    assert client.list_departments() == departments
    assert "id" not in calls_to(http, "school/department/list")[0].request.params


def test_list_departments_with_an_id_passes_it(http, client):
    http.get(DEPARTMENTS_URL, json={"errcode": 0, "errmsg": "ok", "departments": []})

    assert client.list_departments(department_id=12) == []
    assert calls_to(http, "school/department/list")[0].request.params["id"] == "12"


def test_list_parents_returns_the_parents_of_the_department(http, client):
    parents = [{"parent_userid": "p1", "mobile": "13800000000", "is_subscribe": 1, "children": []}]
    http.get(PARENTS_URL, json={"errcode": 0, "errmsg": "ok", "parents": parents})

    assert client.list_parents(department_id=5) == parents
    assert calls_to(http, "school/user/list_parent")[0].request.params["department_id"] == "5"


def test_list_students_returns_the_students_of_the_department_with_their_parents(http, client):
    students = [{"student_userid": "s1", "name": "李小明", "department": [5], "parents": []}]
    http.get(f"{BASE}/school/user/list", json={"errcode": 0, "errmsg": "ok", "students": students})

    assert client.list_students(department_id=5) == students
    assert calls_to(http, "school/user/list")[0].request.params["department_id"] == "5"


@pytest.mark.parametrize("parents", [None, "p1", ["p1"]])
def test_list_parents_without_a_list_of_objects_is_malformed(http, client, parents):
    http.get(PARENTS_URL, json={"errcode": 0, "errmsg": "ok", "parents": parents})

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert "parents" in str(caught.value)


# -- answers that are not a JSON object with an errcode ---------------------------------------


def test_an_html_page_with_http_200_is_reported_with_status_and_content_type(http, client):
    http.get(PARENTS_URL, body="<html><body>登录</body></html>", content_type="text/html; charset=utf-8")

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert "HTTP 200, text/html, not JSON" in str(caught.value)
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert len(calls_to(http, "school/user/list_parent")) == 3


def test_an_html_502_page_is_reported_as_unreachable(http, client):
    http.get(PARENTS_URL, status=502, body="<html><h1>502 Bad Gateway</h1></html>", content_type="text/html")

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert "HTTP 502, text/html" in str(caught.value)
    assert caught.value.kind is ErrorKind.TRANSIENT


def test_an_html_404_page_is_not_retried(http, client):
    http.get(PARENTS_URL, status=404, body="<html>Not Found</html>", content_type="text/html")

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert "HTTP 404, text/html, not JSON" in str(caught.value)
    assert caught.value.permanent
    assert len(calls_to(http, "school/user/list_parent")) == 1


def test_a_redirect_is_not_followed_but_reported_as_a_wrong_api_base(http, client):
    http.get(PARENTS_URL, status=301, headers={"Location": "https://elsewhere.test/cgi-bin/school/user/list_parent"})

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert "HTTP 301 redirect to https://elsewhere.test/" in str(caught.value)
    assert "WECOM_API_BASE" in caught.value.describe(language="en")
    assert len(calls_to(http, "school/user/list_parent")) == 1


def test_the_sessions_proxy_and_ca_bundle_apply_to_every_call(http, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.school.test:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/school/ca.pem")
    http.get(PARENTS_URL, json={"errcode": 0, "errmsg": "ok", "parents": []})
    client = WeComClient(
        corp_id=settings.WECOM_CORP_ID, secret=settings.WECOM_SECRET, api_base=BASE, timeout=7
    )

    client.list_parents(department_id=5)

    sent = calls_to(http, "school/user/list_parent")[0].request.req_kwargs
    assert sent["proxies"]["https"] == "http://proxy.school.test:3128"
    assert sent["verify"] == "/etc/school/ca.pem"
    assert sent["timeout"] == (5.0, 7)


def test_truncated_json_is_reported_not_raised_as_a_decode_error(http, client):
    http.get(PARENTS_URL, body='{"errcode":0,"errmsg":"ok","parents":[{"paren', content_type="application/json")

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert "HTTP 200, application/json, not JSON" in str(caught.value)
    assert caught.value.kind is ErrorKind.TRANSIENT


def test_an_answer_without_a_content_type_says_so(http, client):
    http.get(PARENTS_URL, body=b"\xff\xfe garbage", content_type=None)

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert "not JSON" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "described"),
    [("[1, 2]", "array"), ('"ok"', "string"), ("42", "number"), ("null", "null"), ("true", "boolean")],
)
def test_json_that_is_not_an_object_is_malformed(http, client, body, described):
    http.get(PARENTS_URL, body=body, content_type="application/json")

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert f"a JSON {described} instead of an object" in str(caught.value)
    assert caught.value.kind is ErrorKind.PERMANENT
    assert len(calls_to(http, "school/user/list_parent")) == 1


@pytest.mark.parametrize(
    "answer",
    [{"errmsg": "ok", "parents": []}, {"errcode": "0", "parents": []}, {"errcode": True}, {"errcode": 0.0}],
    ids=["missing", "text", "boolean", "float"],
)
def test_an_answer_without_an_integer_errcode_is_malformed(http, client, answer):
    http.get(PARENTS_URL, json=answer)

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert "no integer errcode" in str(caught.value)
    assert caught.value.kind is ErrorKind.PERMANENT


def test_get_client_is_configured_from_the_settings(http):
    http.get(DEPARTMENTS_URL, json={"errcode": 0, "errmsg": "ok", "departments": []})

    assert get_client().list_departments() == []
    gettoken = calls_to(http, "gettoken")[0]
    assert gettoken.request.params["corpid"] == "wwtestcorp"
    assert gettoken.request.req_kwargs["timeout"] == (2.0, 2.0)


# -- the staff: user/get and auth/getuserinfo -----------------------------------------------------

MEMBER_URL = f"{BASE}/user/get"
IDENTITY_URL = f"{BASE}/auth/getuserinfo"


def test_get_member_reads_the_name_and_status(http, client):
    http.get(MEMBER_URL, json={"errcode": 0, "errmsg": "ok", "userid": "t007", "name": "张老师", "status": 1})

    member = client.get_member("t007")

    assert (member.userid, member.name, member.status) == ("t007", "张老师", 1)
    assert calls_to(http, "user/get")[0].request.params["userid"] == "t007"


def test_get_member_without_a_name_has_none(http, client):
    http.get(MEMBER_URL, json={"errcode": 0, "errmsg": "ok", "userid": "t007"})

    assert client.get_member("t007").name is None


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        ({"name": "张老师"}, "userid"),
        ({"userid": ["t007"], "name": "张老师"}, "userid"),
        ({"userid": "t007", "name": {"zh": "张老师"}}, "name"),
        ({"userid": "t007", "status": "active"}, "status"),
    ],
)
def test_a_member_answer_of_the_wrong_shape_is_malformed(http, client, answer, named):
    http.get(MEMBER_URL, json={"errcode": 0, "errmsg": "ok", **answer})

    with pytest.raises(WeComError) as caught:
        client.get_member("t007")

    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.api == "user/get"
    assert named in str(caught.value)


def test_an_unknown_member_answers_60111(http, client):
    http.get(MEMBER_URL, json={"errcode": 60111, "errmsg": "userid not found"})

    with pytest.raises(WeComError) as caught:
        client.get_member("gone")

    assert caught.value.errcode == 60111
    assert "成员已离开学校" in caught.value.describe()


def test_a_sign_in_code_of_a_member_names_the_userid(http, client):
    http.get(IDENTITY_URL, json={"errcode": 0, "errmsg": "ok", "userid": "t007", "user_ticket": "TICKET"})

    identity = client.get_user_identity("CODE-1")

    assert (identity.userid, identity.is_member) == ("t007", True)
    assert calls_to(http, "auth/getuserinfo")[0].request.params["code"] == "CODE-1"


def test_a_sign_in_code_of_someone_outside_the_school_names_no_member(http, client):
    http.get(IDENTITY_URL, json={"errcode": 0, "errmsg": "ok", "openid": "oPARENT", "external_userid": "wmPARENT"})

    identity = client.get_user_identity("CODE-1")

    assert not identity.is_member
    assert (identity.openid, identity.external_userid) == ("oPARENT", "wmPARENT")


@pytest.mark.parametrize("answer", [{}, {"userid": ""}, {"userid": {"id": 1}}, {"openid": ["o1"]}])
def test_a_sign_in_answer_naming_nobody_is_malformed(http, client, answer):
    http.get(IDENTITY_URL, json={"errcode": 0, "errmsg": "ok", **answer})

    with pytest.raises(WeComError) as caught:
        client.get_user_identity("CODE-1")

    assert caught.value.api == "auth/getuserinfo"
    assert caught.value.kind is ErrorKind.PERMANENT


def test_a_used_sign_in_code_answers_40029_once_without_retrying(http, client):
    http.get(IDENTITY_URL, json={"errcode": 40029, "errmsg": "invalid code"})

    with pytest.raises(WeComError) as caught:
        client.get_user_identity("CODE-1")

    assert caught.value.errcode == 40029
    assert caught.value.permanent
    assert "重新登录" in caught.value.describe()
    assert len(calls_to(http, "auth/getuserinfo")) == 1
