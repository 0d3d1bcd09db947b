"""Every errcode reaches callers as a WeComError with its kind and its hint for the operator."""

import pytest
import responses
from django.conf import settings
from django.core.cache import cache

from contacts.wecom.client import WeComClient
from contacts.wecom.errors import ERRCODES, ErrorKind, WeComError

BASE = "https://wecom.test/cgi-bin"
CONTACT_URL = f"{BASE}/externalcontact/get"

# How many calls of the API each kind of errcode costs before it is raised.
TRIES_BY_KIND = {
    ErrorKind.TRANSIENT: 3,  # retried with backoff
    ErrorKind.TOKEN: 2,  # a new token, one more try
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
def client() -> WeComClient:
    return WeComClient(
        corp_id=settings.WECOM_CORP_ID,
        secret=settings.WECOM_SECRET,
        api_base=settings.WECOM_API_BASE,
        timeout=settings.WECOM_TIMEOUT,
        sleep=lambda seconds: None,
    )


def calls_to(http, api: str) -> list:
    return [call for call in http.calls if call.request.url.split("?")[0] == f"{BASE}/{api}"]


@pytest.mark.parametrize("errcode", sorted(ERRCODES))
def test_every_catalogued_errcode_is_raised_with_its_kind_and_hint(http, client, errcode):
    info = ERRCODES[errcode]
    http.get(CONTACT_URL, json={"errcode": errcode, "errmsg": f"message for {errcode}"})

    with pytest.raises(WeComError) as caught:
        client.get_external_contact("wmParent01")

    error = caught.value
    assert error.errcode == errcode
    assert error.errmsg == f"message for {errcode}"
    assert error.kind is info.kind
    assert error.api == "externalcontact/get"
    assert error.meaning_en == info.meaning_en
    assert error.hint_zh == info.hint_zh
    assert error.hint_en == info.hint_en
    assert info.hint_en in error.describe()
    assert str(errcode) in error.describe()
    assert len(calls_to(http, "externalcontact/get")) == TRIES_BY_KIND.get(info.kind, 1)


@pytest.mark.parametrize(
    ("errcode", "kind"),
    [
        (40001, ErrorKind.CONFIGURATION),
        (40013, ErrorKind.CONFIGURATION),
        (48002, ErrorKind.CONFIGURATION),
        (60011, ErrorKind.CONFIGURATION),
        (60020, ErrorKind.CONFIGURATION),
        (84074, ErrorKind.CONFIGURATION),
        (84061, ErrorKind.NOT_CONNECTED),
        (40096, ErrorKind.NOT_CONNECTED),
        (45009, ErrorKind.RATE_LIMITED),
    ],
)
def test_errcodes_map_to_the_kind_callers_act_on(http, client, errcode, kind):
    http.get(CONTACT_URL, json={"errcode": errcode, "errmsg": "no"})

    with pytest.raises(WeComError) as caught:
        client.get_external_contact("wmParent01")

    assert caught.value.kind is kind
    assert caught.value.permanent is (kind in (ErrorKind.CONFIGURATION, ErrorKind.NOT_CONNECTED))


def test_an_unknown_errcode_is_permanent_and_keeps_wecoms_message(http, client):
    http.get(CONTACT_URL, json={"errcode": 77777, "errmsg": "something new"})

    with pytest.raises(WeComError) as caught:
        client.get_external_contact("wmParent01")

    error = caught.value
    assert error.errcode == 77777
    assert error.kind is ErrorKind.PERMANENT
    assert error.permanent
    assert "something new" in str(error)
    assert "global error code" in error.hint
    assert len(calls_to(http, "externalcontact/get")) == 1


def test_84061_from_externalcontact_get_says_the_parent_is_no_longer_connected(http, client):
    http.get(CONTACT_URL, json={"errcode": 84061, "errmsg": "not external contact"})

    with pytest.raises(WeComError) as caught:
        client.get_external_contact("wmGone")

    assert caught.value.not_connected


def test_an_errmsg_that_is_not_text_is_ignored(http, client):
    http.get(CONTACT_URL, json={"errcode": 77777, "errmsg": {"odd": True}})

    with pytest.raises(WeComError) as caught:
        client.get_external_contact("wmParent01")

    assert caught.value.errcode == 77777
    assert caught.value.errmsg == ""


@pytest.mark.parametrize("api_base", ["wecom.test/cgi-bin", "ftp://wecom.test/cgi-bin"])
def test_an_unusable_api_base_is_a_configuration_error(api_base):
    client = WeComClient(corp_id="wwtestcorp", secret="s", api_base=api_base, timeout=2.0, sleep=lambda s: None)

    with pytest.raises(WeComError) as caught:
        client.list_departments()

    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert "WECOM_API_BASE" in caught.value.hint
