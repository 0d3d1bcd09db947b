"""The app secret and the access token never reach a log line, a message or an exception chain."""

import logging
import pickle

import pytest
import requests
import responses
from django.conf import settings
from django.core.cache import cache

from contacts.wecom.client import WeComClient
from contacts.wecom.errors import WeComError

BASE = "https://wecom.test/cgi-bin"
SECRET = "test-app-secret-do-not-leak"
TOKEN = "TOKENzq81x-do-not-leak"
PARENTS_URL = f"{BASE}/school/user/list_parent"
PARENTS = {"errcode": 0, "errmsg": "ok", "parents": []}

# What requests says when a connection fails: the full URL, query string included.
GETTOKEN_CONNECTION_ERROR = (
    "HTTPSConnectionPool(host='wecom.test', port=443): Max retries exceeded with url: "
    f"/cgi-bin/gettoken?corpid=wwtestcorp&corpsecret={SECRET} (Caused by NewConnectionError("
    "'<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: "
    "[Errno 111] Connection refused'))"
)
CALL_CONNECTION_ERROR = (
    "HTTPSConnectionPool(host='wecom.test', port=443): Max retries exceeded with url: "
    f"/cgi-bin/school/user/list_parent?department_id=5&access_token={TOKEN} (Caused by "
    "ConnectTimeoutError('Connection to wecom.test timed out. (connect timeout=2.0)'))"
)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def client() -> WeComClient:
    assert settings.WECOM_SECRET == SECRET
    return WeComClient(
        corp_id=settings.WECOM_CORP_ID,
        secret=settings.WECOM_SECRET,
        api_base=settings.WECOM_API_BASE,
        timeout=settings.WECOM_TIMEOUT,
        sleep=lambda seconds: None,
    )


@pytest.fixture(autouse=True)
def _debug_logs(caplog):
    caplog.set_level(logging.DEBUG)


def add_token(http) -> None:
    http.get(f"{BASE}/gettoken", json={"errcode": 0, "errmsg": "ok", "access_token": TOKEN, "expires_in": 7200})


def exception_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or any(current is seen for seen in chain):
            continue
        chain.append(current)
        pending += [current.__cause__, current.__context__]
    return chain


def assert_nothing_leaks(exc: BaseException, caplog) -> None:
    for link in exception_chain(exc):
        for text in (str(link), repr(link), repr(link.args), repr(vars(link))):
            assert SECRET not in text
            assert TOKEN not in text
    if isinstance(exc, WeComError):
        assert SECRET not in exc.describe()
        assert TOKEN not in exc.describe()
    assert SECRET not in caplog.text
    assert TOKEN not in caplog.text


def test_a_connection_error_on_gettoken_leaks_no_secret(http, client, caplog):
    http.get(f"{BASE}/gettoken", body=requests.exceptions.ConnectionError(GETTOKEN_CONNECTION_ERROR))

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert_nothing_leaks(caught.value, caplog)
    assert "corpsecret=***" in str(caught.value)
    assert "Connection refused" in str(caught.value)


def test_a_connection_error_on_a_call_leaks_no_token(http, client, caplog):
    add_token(http)
    http.get(PARENTS_URL, body=requests.exceptions.ConnectTimeout(CALL_CONNECTION_ERROR))

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert_nothing_leaks(caught.value, caplog)
    assert "access_token=***" in str(caught.value)


def test_the_error_is_not_chained_to_the_requests_exception(http, client):
    http.get(f"{BASE}/gettoken", body=requests.exceptions.ConnectionError(GETTOKEN_CONNECTION_ERROR))

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_an_invalid_url_error_leaks_no_secret(caplog):
    client = WeComClient(corp_id="wwtestcorp", secret=SECRET, api_base="wecom.test/cgi-bin", timeout=2.0)

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert_nothing_leaks(caught.value, caplog)


def test_a_truncated_gettoken_answer_holding_the_token_leaks_nothing(http, client, caplog):
    http.get(f"{BASE}/gettoken", body=f'{{"errcode":0,"access_token":"{TOKEN}","expi', content_type="application/json")

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert_nothing_leaks(caught.value, caplog)
    assert caught.value.__context__ is None


def test_an_errmsg_quoting_the_token_or_the_secret_is_redacted(http, client, caplog):
    add_token(http)
    http.get(PARENTS_URL, json={"errcode": 77777, "errmsg": f"bad token {TOKEN}, url ?corpsecret={SECRET}&x=1"})

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert_nothing_leaks(caught.value, caplog)
    assert "bad token ***" in str(caught.value)


@pytest.mark.parametrize(
    "failure",
    [
        {"json": {"errcode": 42001, "errmsg": "access_token expired"}},
        {"json": {"errcode": -1, "errmsg": "system busy"}},
        {"json": {"errcode": 45009, "errmsg": "api freq out of limit"}},
        {"status": 502, "body": "<html>bad gateway</html>", "content_type": "text/html"},
        {"body": "[]", "content_type": "application/json"},
        {"body": requests.exceptions.ReadTimeout(CALL_CONNECTION_ERROR)},
    ],
    ids=["token rejected twice", "busy", "rate limited", "502", "json list", "read timeout"],
)
def test_failed_calls_leak_nothing_in_errors_or_debug_logs(http, client, caplog, failure):
    add_token(http)
    http.get(PARENTS_URL, **failure)

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=5)

    assert_nothing_leaks(caught.value, caplog)


def test_successful_calls_log_the_api_and_errcode_but_no_url_or_token(http, client, caplog):
    add_token(http)
    http.get(PARENTS_URL, json=PARENTS)

    client.list_parents(department_id=5)

    assert SECRET not in caplog.text
    assert TOKEN not in caplog.text
    assert "?" not in caplog.text
    messages = [record.getMessage() for record in caplog.records if record.name == "contacts.wecom"]
    assert "WeCom school/user/list_parent: HTTP 200, errcode 0" in messages
    assert "WeCom gettoken: HTTP 200, errcode 0" in messages


def test_a_failure_shared_through_the_cache_holds_no_secret(http, client):
    http.get(f"{BASE}/gettoken", body=requests.exceptions.ConnectionError(GETTOKEN_CONNECTION_ERROR))

    with pytest.raises(WeComError):
        client.list_parents(department_id=5)

    # The in-memory cache keeps its values pickled, as the database and Redis caches do.
    stored = {key: blob for key, blob in cache._cache.items() if "wecom:token-failure" in key}
    assert len(stored) == 1
    (blob,) = stored.values()
    assert isinstance(pickle.loads(blob)[1], WeComError)  # noqa: S301 (written by this test's own cache)
    assert SECRET.encode() not in blob
    assert TOKEN.encode() not in blob


def test_the_client_repr_shows_no_secret(client):
    assert SECRET not in repr(client)
    assert SECRET not in str(client)


def test_a_sign_in_code_never_reaches_an_error_or_a_log(http, client, caplog):
    code = "SIGNINCODE-7c1d-do-not-leak"
    add_token(http)
    failure = (
        "HTTPSConnectionPool(host='wecom.test', port=443): Max retries exceeded with url: "
        f"/cgi-bin/auth/getuserinfo?code={code}&access_token={TOKEN} (Caused by ConnectTimeoutError())"
    )
    http.get(f"{BASE}/auth/getuserinfo", body=requests.exceptions.ConnectTimeout(failure))

    with pytest.raises(WeComError) as caught:
        client.get_user_identity(code)

    assert_nothing_leaks(caught.value, caplog)
    for link in exception_chain(caught.value):
        assert code not in str(link)
    assert code not in caught.value.describe()
    assert code not in caplog.text
    assert "code=***" in str(caught.value)
