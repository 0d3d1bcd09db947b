"""Signatures of this site's pages for the WeCom JS-SDK, checked against answers computed independently."""

import uuid

import pytest
import responses
from django.core.cache.backends.locmem import LocMemCache

from contacts.services.jssdk import NotThisSitesPage, SignatureKind, jsapi_signature, sign_page
from contacts.wecom.client import WeComClient
from tests.test_wecom_token import make_client

BASE = "https://wecom.test/cgi-bin"
JSAPI_TICKET = "bxLdikRXVbTPdHSM05e5u5sUoXNKd8-41ZO3MhKoyN5OfkWITDGgnr2fwJ0m9E8NYzWKVZvdVtaUgWvsdshFKA"
AGENT_TICKET = "agent-ticket-0c5b9e7d2f"
NONCE = "5c3f1b2a9d7e4f60"
TIMESTAMP = 1767225600
PAGE = "https://testserver/chat/parent/"

# Computed by hand, e.g. printf '%s' 'jsapi_ticket=…&noncestr=…&timestamp=…&url=…' | sha1sum
CONFIG_SIGNATURE = "43acf20bb1fd8d678216d616b0337ae02132aee9"  # JSAPI_TICKET, NONCE, TIMESTAMP, PAGE
AGENT_SIGNATURE = "53e6628b33c4fd866679c75b85bdbb5ce944892e"  # AGENT_TICKET, NONCE, TIMESTAMP, PAGE
AGENT_SIGNATURE_WITH_QUERY = "49811a6c6ccb5642d5d2d9a1a1a41e1d5665c40e"  # the same, PAGE + "?from=toolbar"


def ticket_answer(ticket: str) -> dict:
    return {"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": 7200}


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{BASE}/gettoken", json={"errcode": 0, "errmsg": "ok", "access_token": "T" * 32, "expires_in": 7200})
        mock.get(f"{BASE}/get_jsapi_ticket", json=ticket_answer(JSAPI_TICKET))
        mock.get(f"{BASE}/ticket/get", json=ticket_answer(AGENT_TICKET))
        yield mock


def sign(url: str = PAGE, kind: SignatureKind = SignatureKind.CONFIG, client=None, **options):
    return sign_page(
        url=url,
        kind=kind,
        client=client or make_client(),
        site_host=options.pop("site_host", "testserver"),
        https_only=options.pop("https_only", True),
        timestamp=options.pop("timestamp", TIMESTAMP),
        nonce_str=options.pop("nonce_str", NONCE),
    )


def calls_to(http, api: str) -> int:
    return sum(call.request.url.split("?")[0] == f"{BASE}/{api}" for call in http.calls)


def test_the_signature_of_wecoms_documented_example():
    # Doc 90506, 签名算法 › 示例: the parameters and the signature it gives.
    signature = jsapi_signature(
        ticket="sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
        nonce_str="Wm3WZYTPz0wzccnW",
        timestamp=1414587457,
        url="http://mp.weixin.qq.com?params=value",
    )

    assert signature == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


def test_the_fragment_of_the_url_is_not_signed():
    signature = jsapi_signature(ticket=JSAPI_TICKET, nonce_str=NONCE, timestamp=TIMESTAMP, url=PAGE + "#card")

    assert signature == CONFIG_SIGNATURE


def test_config_is_signed_with_the_schools_jsapi_ticket(http):
    signed = sign(kind=SignatureKind.CONFIG)

    assert signed.signature == CONFIG_SIGNATURE
    assert signed.as_json() == {"timestamp": TIMESTAMP, "nonceStr": NONCE, "signature": CONFIG_SIGNATURE}


def test_agent_config_is_signed_with_the_apps_ticket(http):
    assert sign(kind=SignatureKind.AGENT_CONFIG).signature == AGENT_SIGNATURE
    assert sign(PAGE + "?from=toolbar", kind=SignatureKind.AGENT_CONFIG).signature == AGENT_SIGNATURE_WITH_QUERY


def test_each_signature_has_a_fresh_nonce_and_the_current_time(http):
    client = make_client()
    first = sign_page(url=PAGE, kind=SignatureKind.CONFIG, client=client, site_host="testserver", https_only=True)
    second = sign_page(url=PAGE, kind=SignatureKind.CONFIG, client=client, site_host="testserver", https_only=True)

    assert first.nonce_str != second.nonce_str
    assert len(first.nonce_str) == 16 and first.nonce_str.isalnum()
    assert abs(first.timestamp - second.timestamp) <= 1
    assert first.signature == jsapi_signature(
        ticket=JSAPI_TICKET, nonce_str=first.nonce_str, timestamp=first.timestamp, url=PAGE
    )


def test_many_signatures_across_processes_sharing_the_cache_fetch_each_ticket_once(http):
    name = f"signatures-shared-{uuid.uuid4()}"

    for _ in range(20):
        client = make_client(cache=LocMemCache(name, {}))
        sign(kind=SignatureKind.CONFIG, client=client, nonce_str=uuid.uuid4().hex[:16])
        sign(kind=SignatureKind.AGENT_CONFIG, client=client, nonce_str=uuid.uuid4().hex[:16])

    assert calls_to(http, "get_jsapi_ticket") == 1
    assert calls_to(http, "ticket/get") == 1
    assert calls_to(http, "gettoken") == 1


@pytest.mark.parametrize(
    "url",
    [
        "",
        "/chat/parent/",
        "//evil.example/chat/parent/",
        "https://evil.example/chat/parent/",
        "https://testserver.evil.example/",
        "https://evil.example/?https://testserver/",
        "https://user@testserver/chat/parent/",
        "http://testserver/chat/parent/",
        "javascript:alert(1)//testserver",
        "https://testserver/chat/parent/ x",
        "https://testserver/" + "a" * 3000,
    ],
)
def test_only_a_page_of_this_site_is_signed_and_wecom_is_not_asked_otherwise(http, url):
    with pytest.raises(NotThisSitesPage):
        sign(url)

    assert len(http.calls) == 0


def test_plain_http_pages_are_signed_when_the_site_is_served_over_http(http):
    signed = sign("http://127.0.0.1:8000/chat/parent/", site_host="127.0.0.1:8000", https_only=False)

    assert signed.signature == jsapi_signature(
        ticket=JSAPI_TICKET, nonce_str=NONCE, timestamp=TIMESTAMP, url="http://127.0.0.1:8000/chat/parent/"
    )


def test_a_signature_made_with_the_simulators_tickets_passes_its_check(sandbox):
    client = WeComClient.from_settings()

    for kind, wecom_kind in ((SignatureKind.CONFIG, "jsapi"), (SignatureKind.AGENT_CONFIG, "agent_config")):
        signed = sign(kind=kind, client=client)
        assert sandbox.jssdk_signature_is_valid(
            kind=wecom_kind, url=PAGE, noncestr=NONCE, timestamp=str(TIMESTAMP), signature=signed.signature
        )
        assert not sandbox.jssdk_signature_is_valid(
            kind=wecom_kind, url=PAGE + "?other", noncestr=NONCE, timestamp=str(TIMESTAMP), signature=signed.signature
        )
