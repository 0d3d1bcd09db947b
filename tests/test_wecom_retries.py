"""Retries: a rejected token is replaced once; transient failures get at most 3 tries with backoff."""

import hashlib

import pytest
import requests
import responses
from django.conf import settings
from django.core.cache import cache

from contacts.wecom.client import WeComClient
from contacts.wecom.errors import ErrorKind, WeComError

BASE = "https://wecom.test/cgi-bin"
PARENTS_URL = f"{BASE}/school/user/list_parent"
PARENTS = {"errcode": 0, "errmsg": "ok", "parents": [{"parent_userid": "p1", "mobile": "13800000000"}]}
TOKEN_KEY = f"wecom:token:wwtestcorp:{hashlib.sha256(b'test-app-secret-do-not-leak').hexdigest()[:16]}"


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
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps) -> WeComClient:
    return make_client(sleep=sleeps.append)


def make_client(**overrides) -> WeComClient:
    options = {
        "corp_id": settings.WECOM_CORP_ID,
        "secret": settings.WECOM_SECRET,
        "api_base": settings.WECOM_API_BASE,
        "timeout": settings.WECOM_TIMEOUT,
        "sleep": lambda seconds: None,
    }
    options.update(overrides)
    return WeComClient(**options)


def add_token(http, token: str = "token-1") -> None:  # noqa: S107 (a fake token)
    http.get(f"{BASE}/gettoken", json={"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})


def calls_to(http, api: str) -> list:
    return [call for call in http.calls if call.request.url.split("?")[0] == f"{BASE}/{api}"]


# -- a rejected token ----------------------------------------------------------------------


@pytest.mark.parametrize("errcode", [40014, 42001])
def test_it_retries_once_with_a_new_token_on_a_rejected_token(http, client, errcode):
    add_token(http, "token-1")
    add_token(http, "token-2")
    http.get(PARENTS_URL, json={"errcode": errcode, "errmsg": "invalid access_token"})
    http.get(PARENTS_URL, json=PARENTS)

    parents = client.list_parents(department_id=7)

    assert parents == PARENTS["parents"]
    assert len(calls_to(http, "gettoken")) == 2
    used = [call.request.params["access_token"] for call in calls_to(http, "school/user/list_parent")]
    assert used == ["token-1", "token-2"]
    assert cache.get(TOKEN_KEY) == "token-2"


def test_42001_twice_raises_without_a_loop(http, client):
    add_token(http, "token-1")
    add_token(http, "token-2")
    add_token(http, "token-3")
    http.get(PARENTS_URL, json={"errcode": 42001, "errmsg": "access_token expired"})

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=7)

    assert caught.value.errcode == 42001
    assert caught.value.kind is ErrorKind.TOKEN
    assert len(calls_to(http, "gettoken")) == 2
    assert len(calls_to(http, "school/user/list_parent")) == 2


def test_40014_then_42001_raises_after_one_retry(http, client):
    add_token(http, "token-1")
    add_token(http, "token-2")
    http.get(PARENTS_URL, json={"errcode": 40014, "errmsg": "invalid access_token"})
    http.get(PARENTS_URL, json={"errcode": 42001, "errmsg": "access_token expired"})

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=7)

    assert caught.value.errcode == 42001
    assert len(calls_to(http, "school/user/list_parent")) == 2


def test_a_rejected_token_already_replaced_by_another_process_is_not_dropped(http, client):
    add_token(http, "token-1")
    add_token(http, "never-fetched")

    def rejected_after_another_refresh(request):
        # Meanwhile another process met the same rejection and stored a new token.
        cache.set(TOKEN_KEY, "token-from-elsewhere", timeout=600)
        return 200, {"Content-Type": "application/json"}, '{"errcode":40014,"errmsg":"invalid access_token"}'

    http.add_callback(responses.GET, PARENTS_URL, callback=rejected_after_another_refresh)
    http.get(PARENTS_URL, json=PARENTS)

    client.list_parents(department_id=7)

    assert len(calls_to(http, "gettoken")) == 1
    used = [call.request.params["access_token"] for call in calls_to(http, "school/user/list_parent")]
    assert used == ["token-1", "token-from-elsewhere"]
    assert cache.get(TOKEN_KEY) == "token-from-elsewhere"


# -- transient failures --------------------------------------------------------------------

TRANSIENT_FAILURES = {
    "errcode -1": {"json": {"errcode": -1, "errmsg": "system busy"}},
    "errcode 6000": {"json": {"errcode": 6000, "errmsg": "data version conflict"}},
    "errcode 45033": {"json": {"errcode": 45033, "errmsg": "api concurrent out of limit"}},
    "connection refused": {"body": requests.exceptions.ConnectionError("Connection refused")},
    "connect timeout": {"body": requests.exceptions.ConnectTimeout("connect timed out")},
    "read timeout": {"body": requests.exceptions.ReadTimeout("read timed out")},
    "HTTP 502 page": {"status": 502, "body": "<html><body>502 Bad Gateway</body></html>", "content_type": "text/html"},
    "HTTP 503 JSON": {"status": 503, "json": {"errcode": 0, "errmsg": "ok"}},
    "HTML with HTTP 200": {"body": "<html>portal</html>", "content_type": "text/html"},
    "truncated JSON": {"body": '{"errcode":0,"errmsg":"ok","parents":[{"parent_us', "content_type": "application/json"},
    "empty body": {"body": "", "content_type": "application/json"},
}


@pytest.mark.parametrize("failure", TRANSIENT_FAILURES.values(), ids=TRANSIENT_FAILURES.keys())
def test_a_transient_failure_is_tried_3_times_then_raised(http, client, sleeps, failure):
    add_token(http)
    http.get(PARENTS_URL, **failure)

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=7)

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert not caught.value.permanent
    assert len(calls_to(http, "school/user/list_parent")) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("failure", TRANSIENT_FAILURES.values(), ids=TRANSIENT_FAILURES.keys())
def test_a_transient_failure_then_success_returns_the_answer(http, client, failure):
    add_token(http)
    http.get(PARENTS_URL, **failure)
    http.get(PARENTS_URL, json=PARENTS)

    assert client.list_parents(department_id=7) == PARENTS["parents"]
    assert len(calls_to(http, "school/user/list_parent")) == 2


def test_minus_1_is_tried_exactly_3_times_with_growing_backoff(http, client, sleeps):
    add_token(http)
    http.get(PARENTS_URL, json={"errcode": -1, "errmsg": "system busy"})

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=7)

    assert caught.value.errcode == -1
    assert len(calls_to(http, "school/user/list_parent")) == 3
    first, second = sleeps
    assert 1.0 <= first <= 1.5
    assert 2.0 <= second <= 2.5
    assert second > first


def test_the_backoff_has_jitter(http):
    waits: list[float] = []
    for _ in range(5):
        cache.clear()
        http.calls.reset()
        add_token(http)
        http.get(PARENTS_URL, json={"errcode": -1, "errmsg": "system busy"})
        with pytest.raises(WeComError):
            make_client(sleep=waits.append).list_parents(department_id=7)

    assert len(set(waits[0::2])) > 1


def test_gettoken_is_retried_on_a_transient_failure_too(http, client):
    http.get(f"{BASE}/gettoken", body=requests.exceptions.ConnectTimeout("connect timed out"))
    add_token(http, "token-1")
    http.get(PARENTS_URL, json=PARENTS)

    assert client.list_parents(department_id=7) == PARENTS["parents"]
    assert len(calls_to(http, "gettoken")) == 2


def test_45009_is_raised_at_once_as_rate_limited(http, client, sleeps):
    add_token(http)
    http.get(PARENTS_URL, json={"errcode": 45009, "errmsg": "api freq out of limit"})

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=7)

    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.retry_after == 60
    assert len(calls_to(http, "school/user/list_parent")) == 1
    assert sleeps == []


@pytest.mark.parametrize("errcode", [40096, 48002, 60011, 84074, 41001, 99999])
def test_a_permanent_error_is_not_retried(http, client, sleeps, errcode):
    add_token(http)
    http.get(PARENTS_URL, json={"errcode": errcode, "errmsg": "no"})

    with pytest.raises(WeComError) as caught:
        client.list_parents(department_id=7)

    assert caught.value.permanent
    assert len(calls_to(http, "school/user/list_parent")) == 1
    assert len(calls_to(http, "gettoken")) == 1
    assert sleeps == []


# -- keep-alive connections and timeouts -----------------------------------------------------


def test_every_call_passes_the_connect_and_read_timeouts(http, client):
    http.get(f"{BASE}/gettoken", body=requests.exceptions.ReadTimeout("read timed out"))
    add_token(http)
    http.get(PARENTS_URL, json=PARENTS)

    client.list_parents(department_id=7)

    assert len(http.calls) == 3
    assert all(call.request.req_kwargs["timeout"] == (2.0, 2.0) for call in http.calls)


def test_the_connect_timeout_is_at_most_5_seconds(http):
    add_token(http)
    http.get(PARENTS_URL, json=PARENTS)

    make_client(timeout=30.0).list_parents(department_id=7)

    assert [call.request.req_kwargs["timeout"] for call in http.calls] == [(5.0, 30.0), (5.0, 30.0)]


class CountingAdapter(requests.adapters.HTTPAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.requests_sent = 0

    def send(self, request, *args, **kwargs):
        self.requests_sent += 1
        assert request.method == "GET"
        return super().send(request, *args, **kwargs)


def test_all_calls_reuse_the_keep_alive_connections_of_the_client(http):
    add_token(http)
    http.get(PARENTS_URL, json=PARENTS)
    pool = requests.Session()
    adapter = CountingAdapter()
    pool.mount("https://", adapter)
    client = make_client(session=pool)

    client.list_parents(department_id=7)
    client.list_parents(department_id=8)

    assert adapter.requests_sent == 3
    assert [call.request.params.get("department_id") for call in calls_to(http, "school/user/list_parent")] == [
        "7",
        "8",
    ]
