"""The simulator's JS-SDK tickets, and its check of a page's signature, over HTTP."""

import hashlib

import pytest
import requests

from contacts.sandbox.jssdk import Tickets
from tests.simulator.helpers import get_token

PAGE = "https://contacts.example-school.cn/chat/parent/"


def get(http, server, api: str, **params) -> dict:
    response = http.get(f"{server.url}/{api}", params=params, timeout=5)
    assert response.status_code == 200
    return response.json()


def sha1_signature(ticket: str, noncestr: str, timestamp: str, url: str) -> str:
    text = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - WeCom's signature algorithm


def test_get_jsapi_ticket_answers_a_ticket_for_7200_seconds_and_the_same_one_while_valid(server, http):
    access_token = get_token(http, server)

    first = get(http, server, "get_jsapi_ticket", access_token=access_token)
    second = get(http, server, "get_jsapi_ticket", access_token=access_token)

    assert first["errcode"] == 0 and first["errmsg"] == "ok"
    assert first["expires_in"] == 7200 and len(first["ticket"]) >= 64
    assert second["ticket"] == first["ticket"]


def test_ticket_get_answers_the_apps_own_ticket_for_agent_config(server, http):
    access_token = get_token(http, server)

    agent = get(http, server, "ticket/get", access_token=access_token, type="agent_config")
    school_ticket = get(http, server, "get_jsapi_ticket", access_token=access_token)

    assert agent["errcode"] == 0 and agent["expires_in"] == 7200
    assert agent["ticket"] != school_ticket["ticket"]


@pytest.mark.parametrize("params", [{}, {"type": "jsapi"}, {"type": "AGENT_CONFIG"}])
def test_ticket_get_of_another_type_is_an_invalid_parameter(server, http, params):
    assert get(http, server, "ticket/get", access_token=get_token(http, server), **params)["errcode"] == 40058


@pytest.mark.parametrize("api", ["get_jsapi_ticket", "ticket/get"])
def test_the_tickets_need_a_valid_access_token(server, http, api):
    assert get(http, server, api, type="agent_config")["errcode"] == 41001
    assert get(http, server, api, access_token="not-a-token", type="agent_config")["errcode"] == 40014
    access_token = get_token(http, server)
    server.expire_tokens()
    assert get(http, server, api, access_token=access_token, type="agent_config")["errcode"] == 42001


def test_the_verify_endpoint_accepts_a_signature_with_a_valid_ticket_and_nothing_else(server, http):
    access_token = get_token(http, server)
    ticket = get(http, server, "ticket/get", access_token=access_token, type="agent_config")["ticket"]
    signed = {
        "kind": "agent_config",
        "url": PAGE,
        "noncestr": "abc123",
        "timestamp": "1767225600",
        "signature": sha1_signature(ticket, "abc123", "1767225600", PAGE),
    }

    def verify(**changes) -> requests.Response:
        return http.post(f"{server.base_url}/sandbox/jssdk/verify", json={**signed, **changes}, timeout=5)

    assert verify().json() == {"errcode": 0, "errmsg": "ok", "valid": True}
    assert verify(url=PAGE + "#card").json()["valid"] is True  # the fragment is not signed
    assert verify(timestamp=1767225600).json()["valid"] is True
    assert verify(kind="jsapi").json()["valid"] is False  # signed with the app's ticket, not the school's
    assert verify(url=PAGE + "?x=1").json()["valid"] is False
    assert verify(noncestr="abc124").json()["valid"] is False
    assert verify(kind="other").status_code == 400
    assert verify(signature=None).status_code == 400


def test_a_ticket_no_longer_valid_signs_nothing():
    clock = [0.0]
    tickets = Tickets(ttl=7200, clock=lambda: clock[0])
    ticket, _expires_in = tickets.issue("jsapi")
    signature = sha1_signature(ticket, "n", "1", PAGE)

    assert tickets.signature_is_valid("jsapi", url=PAGE, noncestr="n", timestamp="1", signature=signature)
    clock[0] = 7200.0
    assert not tickets.signature_is_valid("jsapi", url=PAGE, noncestr="n", timestamp="1", signature=signature)
    assert tickets.issue("jsapi")[0] != ticket
