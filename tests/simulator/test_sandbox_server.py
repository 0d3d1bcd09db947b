"""The simulator over HTTP: tokens, the school APIs, latency, keep-alive, the control API."""

import socket
import threading
import time

import pytest
import requests

from contacts.sandbox import SandboxServer, build_school
from tests.simulator.helpers import CORP_ID, SECRET, get_token


def call(http, server, api: str, **params) -> dict:
    params.setdefault("access_token", get_token(http, server))
    response = http.get(f"{server.url}/{api}", params=params, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.json()


# ----- gettoken and the token checks ------------------------------------------------


def test_gettoken_answers_a_long_token_and_the_same_one_while_valid(server, http):
    first = http.get(f"{server.url}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}, timeout=5).json()
    assert first["errcode"] == 0 and first["errmsg"] == "ok"
    assert len(first["access_token"]) >= 64 and first["expires_in"] == 7200
    second = http.get(f"{server.url}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}, timeout=5).json()
    assert second["access_token"] == first["access_token"]
    assert server.stats["gettoken"] == 2


@pytest.mark.parametrize(
    ("corpid", "corpsecret", "errcode"),
    [("wwother", SECRET, 40013), (CORP_ID, "wrong", 40001), ("", SECRET, 41002), (CORP_ID, "", 41004)],
)
def test_gettoken_errors(server, http, corpid, corpsecret, errcode):
    answer = http.get(f"{server.url}/gettoken", params={"corpid": corpid, "corpsecret": corpsecret}, timeout=5).json()
    assert answer["errcode"] == errcode
    assert "access_token" not in answer


def test_missing_and_unknown_tokens(server, http):
    assert call(http, server, "externalcontact/get", access_token="", external_userid="woAAAA")["errcode"] == 41001
    answer = call(http, server, "externalcontact/get", access_token="not-a-token", external_userid="woAAAA")
    assert answer["errcode"] == 40014


def test_token_expires_after_its_ttl(school, http):
    with SandboxServer(school=school, corp_id=CORP_ID, secret=SECRET, token_ttl=0.3) as server:
        token = get_token(http, server)

        def errcode() -> int:
            return call(http, server, "externalcontact/get", access_token=token, external_userid="woAAAA")["errcode"]

        assert errcode() == 0
        time.sleep(0.4)
        assert errcode() == 42001
        assert get_token(http, server) != token


def test_expire_tokens_makes_every_token_answer_42001(server, http):
    token = get_token(http, server)
    assert server.expire_tokens() == 1
    assert call(http, server, "externalcontact/get", access_token=token, external_userid="woAAAA")["errcode"] == 42001
    fresh = get_token(http, server)
    assert fresh != token
    assert call(http, server, "externalcontact/get", access_token=fresh, external_userid="woAAAA")["errcode"] == 0


# ----- the school APIs ----------------------------------------------------------------


def test_externalcontact_get_answers_the_seed_example_in_utf8(server, http):
    token = get_token(http, server)
    response = http.get(
        f"{server.url}/externalcontact/get", params={"access_token": token, "external_userid": "woAAAA"}, timeout=5
    )
    assert "李四".encode() in response.content  # real UTF-8, not \\u escapes
    answer = response.json()
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok"
    assert answer["external_contact"]["subscriber_info"]["remark"] == "李小明-爸爸"
    assert [fu["userid"] for fu in answer["follow_user"]] == ["rocky", "tommy"]


def test_externalcontact_get_unknown_and_lost(server, http, school):
    assert call(http, server, "externalcontact/get", external_userid="wmDoesNotExist")["errcode"] == 40096
    assert call(http, server, "externalcontact/get")["errcode"] == 40096
    lost = school.lost_external_userids()[0]
    assert call(http, server, "externalcontact/get", external_userid=lost)["errcode"] == 84061


def test_externalcontact_list(server, http, school):
    answer = call(http, server, "externalcontact/list", userid="rocky")
    assert answer["errcode"] == 0 and "woAAAA" in answer["external_userid"]
    stage_head = school.departments(2)[0]["department_admins"][0]["userid"]
    assert call(http, server, "externalcontact/list", userid=stage_head)["errcode"] == 84061
    assert call(http, server, "externalcontact/list", userid="nobody")["errcode"] == 60111


def test_department_list_tree_and_subtree(server, http, school):
    whole = call(http, server, "school/department/list")
    assert whole["errcode"] == 0 and whole["departments"] == school.departments()
    assert whole["departments"][0]["id"] == 1 and whole["departments"][0]["type"] == 5
    sub = call(http, server, "school/department/list", id=2)
    assert sub["departments"][0]["name"] == "小学"
    assert {d["type"] for d in sub["departments"]} == {1, 2, 3}
    assert call(http, server, "school/department/list", id=99999)["errcode"] == 60003


def test_list_parent(server, http, school):
    klass = school.class_id(3, 0)  # 三年级1班, with 李小明
    answer = call(http, server, "school/user/list_parent", department_id=klass)
    assert answer["errcode"] == 0
    parents = answer["parents"]
    assert parents == school.list_parent(klass)
    assert any(parent.get("external_userid") == "woAAAA" for parent in parents)
    first = parents[0]
    assert set(first) == {"parent_userid", "mobile", "is_subscribe", "external_userid", "children"}
    assert set(first["children"][0]) == {"student_userid", "relation", "name"}
    assert call(http, server, "school/user/list_parent", department_id=1)["parents"] == []
    assert call(http, server, "school/user/list_parent", department_id=99999)["errcode"] == 60003


def test_unknown_path_is_a_json_404(server, http):
    response = http.get(f"{server.url}/no/such/api", timeout=5)
    assert response.status_code == 404
    assert response.json()["errcode"] != 0
    assert http.get(f"{server.base_url}/elsewhere", timeout=5).status_code == 404


# ----- HTTP behaviour -----------------------------------------------------------------


def test_keep_alive_reuses_one_connection(server, http):
    server.reset_stats()
    first = http.get(f"{server.url}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}, timeout=5)
    second = http.get(f"{server.url}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}, timeout=5)
    for response in (first, second):
        assert response.raw.version == 11
        assert response.headers["Connection"] == "keep-alive"
        assert int(response.headers["Content-Length"]) == len(response.content)
    assert server.stats["connections"] == 1


def test_latency_is_applied_and_clients_are_served_concurrently(school):
    with SandboxServer(school=school, corp_id=CORP_ID, secret=SECRET, latency_ms=200) as server:
        started = time.perf_counter()
        requests.get(f"{server.url}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}, timeout=5)
        assert 0.19 <= time.perf_counter() - started < 1.5

        def fetch() -> None:
            requests.get(f"{server.url}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}, timeout=5)

        threads = [threading.Thread(target=fetch) for _ in range(8)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert time.perf_counter() - started < 8 * 0.2 / 2  # far less than one after another
        assert server.stats["max_in_flight"] > 1


def test_the_latency_runs_from_the_requests_arrival_and_includes_the_answering(school):
    server = SandboxServer(school=school, corp_id=CORP_ID, secret=SECRET, latency_ms=400)
    params = {"corpid": CORP_ID, "corpsecret": SECRET}

    started = time.monotonic()
    assert server.answer("gettoken", params).status == 200
    assert time.monotonic() - started >= 0.4

    # A request that came in 400 ms ago is due now: no more waiting on top of the work already done.
    started = time.monotonic()
    assert server.answer("gettoken", params, arrived=started - 0.4).status == 200
    assert time.monotonic() - started < 0.2


def test_stats_count_calls_per_api(server, http):
    token = get_token(http, server)
    for _ in range(3):
        http.get(f"{server.url}/externalcontact/get", params={"access_token": token, "external_userid": "woAAAA"})
    stats = server.stats
    assert stats["gettoken"] == 1
    assert stats["calls"]["externalcontact/get"] == 3
    assert stats["total"] == 4
    assert stats["errcodes"] == {"0": 4}


def test_only_loopback_hosts(school):
    with pytest.raises(ValueError, match="loopback"):
        SandboxServer(school=school, corp_id=CORP_ID, secret=SECRET, host="0.0.0.0")  # noqa: S104


def test_stop_closes_idle_keep_alive_connections(school):
    server = SandboxServer(school=school, corp_id=CORP_ID, secret=SECRET).start()
    with requests.Session() as client:
        client.get(f"{server.url}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}, timeout=5)
        started = time.perf_counter()
        server.stop()
        assert time.perf_counter() - started < 2
        with pytest.raises(requests.ConnectionError):
            client.get(f"{server.url}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}, timeout=2)


# ----- the control API ------------------------------------------------------------------


def test_control_info_and_stats(server, http):
    info = http.get(f"{server.base_url}/sandbox/info", timeout=5).json()
    assert info["url"] == server.url and info["corp_id"] == CORP_ID and info["parents"] == 200
    assert "woAAAA" in info["sample_external_userids"]
    assert SECRET not in str(info)
    get_token(http, server)
    assert http.get(f"{server.base_url}/sandbox/stats", timeout=5).json()["gettoken"] == 1
    assert http.delete(f"{server.base_url}/sandbox/stats", timeout=5).json()["gettoken"] == 0


def test_control_info_says_how_the_roster_parents_stand_with_wecom(server, http):
    parts = http.get(f"{server.base_url}/sandbox/info", timeout=5).json()["composition"]

    assert parts["subscribed"] + parts["contact_only"] + parts["roster_only"] == 200
    assert parts["subscribed"] + parts["contact_only"] == len(server.school.external_userids())
    assert parts["lost"] == len(server.school.lost_external_userids()) >= 1
    assert parts["roster_only"] >= 1


def test_control_expire_tokens(server, http):
    token = get_token(http, server)
    assert http.post(f"{server.base_url}/sandbox/expire-tokens", timeout=5).json()["expired"] == 1
    assert call(http, server, "externalcontact/get", access_token=token, external_userid="woAAAA")["errcode"] == 42001


def test_control_edit_follow_user_remark():
    school = build_school(parents=30, seed=1)
    with SandboxServer(school=school, corp_id=CORP_ID, secret=SECRET) as server, requests.Session() as http:
        url = f"{server.base_url}/sandbox/contacts/woAAAA/follow_users/tommy"
        edited = http.post(url, json={"remark": "李总（家委会主任）", "description": "周末可联系"}, timeout=5).json()
        assert edited["errcode"] == 0 and edited["follow_user"]["remark"] == "李总（家委会主任）"
        answer = call(http, server, "externalcontact/get", external_userid="woAAAA")
        tommy = answer["follow_user"][1]
        assert tommy["remark"] == "李总（家委会主任）" and tommy["description"] == "周末可联系"
        assert tommy["state"] == "外联二维码1"
        missing = http.post(f"{server.base_url}/sandbox/contacts/woAAAA/follow_users/nobody", json={"remark": "x"})
        assert missing.status_code == 404
        bad = http.post(url, data="not json", timeout=5)
        assert bad.status_code == 400
        assert http.get(f"{server.base_url}/sandbox/nothing", timeout=5).status_code == 404


def test_a_malformed_request_gets_an_answer_not_a_crash(server):
    with socket.create_connection((server.host, server.port), timeout=5) as raw:
        raw.sendall(b"POST /sandbox/faults HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        answer = raw.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400")


def test_list_students(server, http, school):
    klass = school.class_id(3, 0)  # 三年级1班, with 李小明
    answer = call(http, server, "school/user/list", department_id=klass)
    assert answer["errcode"] == 0
    assert answer["students"] == school.list_students(klass)
    assert any(student["name"] == "李小明" for student in answer["students"])
    assert call(http, server, "school/user/list", department_id=99999)["errcode"] == 60003
