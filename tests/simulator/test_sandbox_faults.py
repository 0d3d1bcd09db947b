"""Fault injection: every kind, limited faults, random rates and the control API for them."""

import json

import pytest
import requests

from contacts.sandbox import ERRCODE_KINDS, SandboxServer, build_school, parse_assignment, parse_fault
from contacts.sandbox.faults import Fault, FaultPlan
from tests.simulator.helpers import CORP_ID, SECRET, get_token


@pytest.fixture(scope="module")
def school():
    return build_school(parents=60, seed=1)


@pytest.fixture
def server_options() -> dict:
    return {"slow_seconds": 1.0}


@pytest.fixture
def token(server, http) -> str:
    return get_token(http, server)


def get_contact(http, server, token, external_userid="woAAAA", timeout=5.0) -> requests.Response:
    return http.get(
        f"{server.url}/externalcontact/get",
        params={"access_token": token, "external_userid": external_userid},
        timeout=timeout,
    )


@pytest.mark.parametrize("errcode", ERRCODE_KINDS)
def test_every_errcode_fault(server, http, token, errcode):
    server.set_fault("woAAAA", errcode)
    response = get_contact(http, server, token)
    assert response.status_code == 200
    answer = response.json()
    assert answer["errcode"] == errcode and answer["errmsg"]
    assert "external_contact" not in answer
    assert server.stats["faults"] == {str(errcode): 1}


def test_html502(server, http, token):
    server.set_fault("woAAAA", "html502")
    response = get_contact(http, server, token)
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert b"502 Bad Gateway" in response.content


def test_html200(server, http, token):
    server.set_fault("woAAAA", "html200")
    response = get_contact(http, server, token)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_truncated_json(server, http, token):
    whole = get_contact(http, server, token).content
    server.set_fault("woAAAA", "truncated")
    response = get_contact(http, server, token)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert 0 < len(response.content) < len(whole)
    assert whole.startswith(response.content)
    with pytest.raises(ValueError):
        json.loads(response.content)


def test_slow_makes_a_client_time_out_then_the_connection_recovers(server, http, token):
    server.set_fault("woAAAA", "slow:1")
    with pytest.raises(requests.Timeout):
        get_contact(http, server, token, timeout=0.3)
    assert get_contact(http, server, token).json()["errcode"] == 0


def test_slow_answers_in_full_after_the_delay(server, http, token):
    server.set_fault("woAAAA", "slow")
    response = get_contact(http, server, token, timeout=5)
    assert response.elapsed.total_seconds() >= 0.9
    assert response.json()["external_contact"]["name"] == "李四"


def test_a_fault_limited_to_n_calls(server, http, token):
    server.set_fault("woAAAA", "-1:2")
    assert [get_contact(http, server, token).json()["errcode"] for _ in range(4)] == [-1, -1, 0, 0]


def test_a_fault_only_hits_its_own_id(server, http, token, school):
    server.set_fault("woAAAA", 45009)
    other = next(eid for eid in school.external_userids()[2:] if not school.is_lost(eid))
    assert get_contact(http, server, token, other).json()["errcode"] == 0
    assert get_contact(http, server, token).json()["errcode"] == 45009
    server.clear_faults()
    assert get_contact(http, server, token).json()["errcode"] == 0


def test_random_rate_hits_every_api_but_gettoken(school, http):
    with SandboxServer(school=school, corp_id=CORP_ID, secret=SECRET, fault_rate=1.0, fault_kinds=(-1,)) as server:
        token = http.get(f"{server.url}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}, timeout=5).json()
        assert token["errcode"] == 0
        for api, params in [
            ("externalcontact/get", {"external_userid": "woAAAA"}),
            ("externalcontact/list", {"userid": "rocky"}),
            ("school/department/list", {}),
            ("school/user/list_parent", {"department_id": "15"}),
        ]:
            answer = http.get(f"{server.url}/{api}", params={"access_token": token["access_token"], **params}).json()
            assert answer["errcode"] == -1, api


def test_partial_rate_fails_some_calls_and_is_reproducible(school, http):
    def errcodes() -> list[int]:
        with SandboxServer(school=school, corp_id=CORP_ID, secret=SECRET, fault_rate=0.3, fault_kinds=(-1, 45033)) as s:
            token = http.get(f"{s.url}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}).json()
            return [get_contact(http, s, token["access_token"]).json()["errcode"] for _ in range(60)]

    first = errcodes()
    assert 0 < first.count(0) < 60
    assert set(first) == {0, -1, 45033}
    assert errcodes() == first


def test_control_api_sets_and_clears_faults(server, http, token):
    control = f"{server.base_url}/sandbox/faults"
    answer = http.post(control, json={"woAAAA": "84061:1", "rate": 0.0, "kinds": [-1, "html502"]}, timeout=5).json()
    assert answer["faults"] == {"woAAAA": "84061:1"} and answer["rate_kinds"] == [-1, "html502"]
    assert get_contact(http, server, token).json()["errcode"] == 84061
    assert get_contact(http, server, token).json()["errcode"] == 0
    http.post(control, json={"woAAAA": -1}, timeout=5)
    assert http.get(control, timeout=5).json()["faults"] == {"woAAAA": "-1"}
    assert http.delete(control, timeout=5).json()["faults"] == {}
    assert get_contact(http, server, token).json()["errcode"] == 0
    assert http.post(control, json={"woAAAA": "nonsense"}, timeout=5).status_code == 400
    assert http.post(control, json={"rate": 2}, timeout=5).status_code == 400
    assert http.get(control, timeout=5).json()["faults"] == {}


def test_fault_rate_through_the_control_api(server, http, token):
    http.post(f"{server.base_url}/sandbox/faults", json={"rate": 1, "kinds": ["html200"]}, timeout=5)
    assert get_contact(http, server, token).headers["Content-Type"].startswith("text/html")
    http.delete(f"{server.base_url}/sandbox/faults", timeout=5)
    assert get_contact(http, server, token).json()["errcode"] == 0


def test_parsing():
    assert parse_fault("-1") == Fault(-1)
    assert parse_fault("-1:2") == Fault(-1, 2)
    assert parse_fault(45009) == Fault(45009)
    assert parse_fault("html502:3") == Fault("html502", 3)
    assert parse_assignment("woX=truncated") == ("woX", Fault("truncated"))
    for bad in ("12345", "html404", "-1:0", "-1:x", ""):
        with pytest.raises(ValueError):
            parse_fault(bad)
    for bad in ("woX", "=-1"):
        with pytest.raises(ValueError):
            parse_assignment(bad)
    with pytest.raises(ValueError):
        FaultPlan(rate=1.5)
