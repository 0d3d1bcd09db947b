"""Every errcode reaches callers as a WeComError with its kind and its hint for the operator."""

import json
import re

import pytest
import responses
from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from contacts.services.refresh import normalize_external_userid
from contacts.wecom.client import WeComClient
from contacts.wecom.errors import ERRCODES, REASONS, STORING_FAILED, ErrorKind, WeComError

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


# -- stored, and read back in the reader's language ----------------------------------------------------

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def stored_and_read_back(error: WeComError) -> WeComError:
    """Through JSON, as a JSONField keeps it."""
    return WeComError.from_record(json.loads(json.dumps(error.as_record())))


def test_a_stored_error_holds_codes_and_no_sentence():
    record = WeComError.from_errcode(60020, "from ip: 1.2.3.4", api="externalcontact/get").as_record()

    assert record["errcode"] == 60020
    assert record["kind"] == "configuration"
    assert not CHINESE.search(json.dumps(record, ensure_ascii=False))


def test_a_stored_error_reads_in_the_readers_language_only():
    error = stored_and_read_back(WeComError.from_errcode(60020, "from ip: 1.2.3.4"))

    with translation.override("zh-hans"):
        chinese = error.for_reader()
    with translation.override("en"):
        english = error.for_reader()

    assert chinese == "[60020] 不安全的访问IP — 请将本服务器的出口IP加入应用的「企业可信IP」。"
    assert english == (
        "[60020] caller IP not in the trusted-IP list — "
        "Add this server's outgoing IP address to the app's 企业可信IP (trusted IPs)."
    )


@pytest.mark.parametrize(
    "error",
    [
        WeComError.from_errcode(84061),
        WeComError.from_errcode(77777, "something new"),
        WeComError.unreachable("externalcontact/get: ReadTimeout"),
        WeComError.malformed("externalcontact/get: HTTP 200, text/html", transient=True),
        WeComError("storing wmX failed: OperationalError", reason=STORING_FAILED, detail="OperationalError"),
    ],
    ids=["84061", "an unknown errcode", "unreachable", "malformed", "storing failed"],
)
def test_every_kind_of_error_reads_back_as_it_was(error):
    read_back = stored_and_read_back(error)

    assert (read_back.errcode, read_back.kind) == (error.errcode, error.kind)
    for language in ("zh-hans", "en"):
        assert read_back.describe(language=language) == error.describe(language=language)


def test_a_page_shows_the_technical_detail_but_not_the_english_account():
    error = WeComError.unreachable("externalcontact/get: ReadTimeout")

    chinese = error.describe(language="zh-hans")

    assert chinese.startswith("无法连接企业微信（externalcontact/get: ReadTimeout） — 网络或企业微信暂时不可用")
    assert "could not be reached" not in chinese


def test_a_malformed_id_names_what_was_typed_in_the_readers_language():
    with pytest.raises(WeComError) as caught:
        normalize_external_userid("李小明")

    assert caught.value.describe(language="zh-hans").startswith("external_userid 格式不正确（李小明） — ")
    assert caught.value.describe(language="en").startswith("malformed external_userid (李小明) — ")


@pytest.mark.parametrize("reason", sorted(REASONS))
def test_every_reason_has_its_texts_in_both_languages(reason):
    text = REASONS[reason]

    assert all((text.meaning_zh, text.meaning_en, text.hint_zh, text.hint_en))
    assert not CHINESE.search(text.meaning_en)
