"""The access token: cached in the Django cache, reused, refreshed by one caller at a time."""

import hashlib
import json
import threading
import time
import uuid

import pytest
import responses
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache

from contacts.wecom.client import WeComClient
from contacts.wecom.errors import ErrorKind, WeComError

BASE = "https://wecom.test/cgi-bin"
TOKEN = "tok-7f3a9c-token-value"
DEPARTMENTS = {"errcode": 0, "errmsg": "ok", "departments": [{"id": 1, "name": "学校", "type": 5}]}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


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


def token_answer(token: str = TOKEN, **extra) -> dict:
    return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200, **extra}


def calls_to(http: responses.RequestsMock, api: str) -> list:
    return [call for call in http.calls if call.request.url.split("?")[0] == f"{BASE}/{api}"]


class RecordingCache(LocMemCache):
    """A real in-memory cache that remembers the timeouts it was given."""

    def __init__(self) -> None:
        super().__init__(f"wecom-token-test-{uuid.uuid4()}", {})
        self.timeouts: dict[str, object] = {}

    def set(self, key, value, timeout=None, version=None):
        self.timeouts[key] = timeout
        super().set(key, value, timeout=timeout, version=version)


def test_it_fetches_a_token_once_and_reuses_it_across_calls(http):
    http.get(f"{BASE}/gettoken", json=token_answer())
    http.get(f"{BASE}/school/department/list", json=DEPARTMENTS)
    client = make_client()

    for _ in range(3):
        client.list_departments()

    assert len(calls_to(http, "gettoken")) == 1
    department_calls = calls_to(http, "school/department/list")
    assert len(department_calls) == 3
    assert all(call.request.params["access_token"] == TOKEN for call in department_calls)


def test_gettoken_is_called_with_the_corp_id_and_secret(http):
    http.get(f"{BASE}/gettoken", json=token_answer())
    http.get(f"{BASE}/school/department/list", json=DEPARTMENTS)

    make_client().list_departments()

    params = calls_to(http, "gettoken")[0].request.params
    assert params == {"corpid": "wwtestcorp", "corpsecret": "test-app-secret-do-not-leak"}


def test_it_reuses_the_cached_token_across_client_instances(http):
    http.get(f"{BASE}/gettoken", json=token_answer())
    http.get(f"{BASE}/school/department/list", json=DEPARTMENTS)

    WeComClient.from_settings().list_departments()
    WeComClient.from_settings().list_departments()
    make_client().list_departments()

    assert len(calls_to(http, "gettoken")) == 1
    assert len(calls_to(http, "school/department/list")) == 3


def test_the_cache_key_names_the_corp_and_a_hash_of_the_secret_never_the_secret(http):
    http.get(f"{BASE}/gettoken", json=token_answer())
    http.get(f"{BASE}/school/department/list", json=DEPARTMENTS)
    own_cache = LocMemCache(f"wecom-key-test-{uuid.uuid4()}", {})

    make_client(cache=own_cache).list_departments()

    secret_hash = hashlib.sha256(b"test-app-secret-do-not-leak").hexdigest()[:16]
    assert own_cache.get(f"wecom:token:wwtestcorp:{secret_hash}") == TOKEN
    keys = list(own_cache._cache)
    assert keys
    assert not any("test-app-secret" in key for key in keys)


def test_another_app_of_the_same_school_gets_its_own_token(http):
    http.get(f"{BASE}/gettoken", json=token_answer("first-app-token"))
    http.get(f"{BASE}/gettoken", json=token_answer("second-app-token"))
    http.get(f"{BASE}/school/department/list", json=DEPARTMENTS)

    make_client(secret="first-secret").list_departments()
    make_client(secret="second-secret").list_departments()
    make_client(secret="first-secret").list_departments()

    assert len(calls_to(http, "gettoken")) == 2
    used = [call.request.params["access_token"] for call in calls_to(http, "school/department/list")]
    assert used == ["first-app-token", "second-app-token", "first-app-token"]


@pytest.mark.parametrize(
    ("expires_in", "kept_for"),
    [
        (7200, 6900),  # the usual: 300 s safety margin
        (3600, 3300),
        ("3600", 3300),  # a number sent as text
        (360, 60),  # short-lived: never below a minute...
        (100, 50),  # ...or half the lifetime, whichever is shorter
        (1, 1),
        (None, 6900),  # missing or odd: taken as the documented 7200
        ("soon", 6900),
        (-5, 6900),
        (0, 6900),
        (True, 6900),
        (10**12, 6900),
        ([7200], 6900),
    ],
)
def test_the_token_is_kept_for_expires_in_less_a_safety_margin(http, expires_in, kept_for):
    http.get(f"{BASE}/gettoken", json=token_answer(expires_in=expires_in))
    http.get(f"{BASE}/school/department/list", json=DEPARTMENTS)
    recording = RecordingCache()
    client = make_client(cache=recording)

    client.list_departments()

    token_timeouts = [timeout for key, timeout in recording.timeouts.items() if key.startswith("wecom:token:")]
    assert token_timeouts == [kept_for]


def test_a_gettoken_answer_without_expires_in_still_works(http):
    answer = token_answer()
    del answer["expires_in"]
    http.get(f"{BASE}/gettoken", json=answer)
    http.get(f"{BASE}/school/department/list", json=DEPARTMENTS)
    client = make_client()

    client.list_departments()
    client.list_departments()

    assert len(calls_to(http, "gettoken")) == 1


def slow_gettoken(request):
    """gettoken taking a moment, so that every thread arrives while the refresh runs."""
    time.sleep(0.2)
    body = {"errcode": 0, "errmsg": "ok", "access_token": TOKEN, "expires_in": 7200}
    return 200, {"Content-Type": "application/json"}, json.dumps(body)


@pytest.mark.parametrize("shared_client", [True, False], ids=["one-client", "client-per-thread"])
def test_50_threads_with_an_empty_cache_call_gettoken_once(http, shared_client):
    http.add_callback(responses.GET, f"{BASE}/gettoken", callback=slow_gettoken)
    http.get(f"{BASE}/school/department/list", json=DEPARTMENTS)
    one_client = make_client()
    start = threading.Barrier(50)
    results: list[object] = []
    failures: list[BaseException] = []

    def work() -> None:
        client = one_client if shared_client else make_client()
        start.wait()
        try:
            results.append(client.list_departments())
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    assert len(results) == 50
    assert len(calls_to(http, "gettoken")) == 1
    assert len(calls_to(http, "school/department/list")) == 50


def test_a_waiter_takes_over_when_the_lock_holder_died(http):
    http.get(f"{BASE}/gettoken", json=token_answer())
    http.get(f"{BASE}/school/department/list", json=DEPARTMENTS)
    client = make_client()
    # A refresh that never finished: its lock is still there, no token came.
    secret_hash = hashlib.sha256(b"test-app-secret-do-not-leak").hexdigest()[:16]
    assert cache.add(f"wecom:token-lock:wwtestcorp:{secret_hash}", "dead-process", timeout=0.3)

    began = time.monotonic()
    client.list_departments()

    assert time.monotonic() - began >= 0.25
    assert len(calls_to(http, "gettoken")) == 1


def test_a_waiter_gives_up_after_a_bounded_wait(http):
    http.get(f"{BASE}/gettoken", json=token_answer())
    client = make_client()
    client.token_wait = 0.2
    secret_hash = hashlib.sha256(b"test-app-secret-do-not-leak").hexdigest()[:16]
    cache.add(f"wecom:token-lock:wwtestcorp:{secret_hash}", "slow-process", timeout=60)

    with pytest.raises(WeComError) as caught:
        client.list_departments()

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "waiting" in str(caught.value)
    assert calls_to(http, "gettoken") == []


def test_the_lock_outlives_the_slowest_refresh():
    client = make_client(timeout=10.0)

    # 3 tries of 5 s connect + 10 s read, plus the backoff between them.
    assert client.lock_timeout > 3 * 15
    assert client.token_wait > client.lock_timeout


def slow_failing_gettoken(request):
    time.sleep(0.3)
    return 200, {"Content-Type": "application/json"}, '{"errcode":40001,"errmsg":"invalid credential"}'


def test_waiters_share_the_holders_failure_instead_of_calling_gettoken_again(http):
    http.add_callback(responses.GET, f"{BASE}/gettoken", callback=slow_failing_gettoken)
    start = threading.Barrier(20)
    errors: list[BaseException] = []

    def work() -> None:
        client = make_client()
        start.wait()
        try:
            client.list_departments()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(errors) == 20
    assert all(isinstance(error, WeComError) and error.errcode == 40001 for error in errors)
    assert all(error.kind is ErrorKind.CONFIGURATION for error in errors)
    assert len(calls_to(http, "gettoken")) == 1


def test_a_failed_refresh_releases_the_lock_for_the_next_caller(http):
    http.get(f"{BASE}/gettoken", json={"errcode": 40001, "errmsg": "invalid credential"})
    http.get(f"{BASE}/gettoken", json=token_answer())
    http.get(f"{BASE}/school/department/list", json=DEPARTMENTS)
    client = make_client()

    with pytest.raises(WeComError):
        client.list_departments()
    client.list_departments()

    assert len(calls_to(http, "gettoken")) == 2


@pytest.mark.parametrize(
    ("errcode", "kind"),
    [(40001, ErrorKind.CONFIGURATION), (40013, ErrorKind.CONFIGURATION), (60020, ErrorKind.CONFIGURATION)],
)
def test_an_errcode_from_gettoken_is_raised_without_retries(http, errcode, kind):
    http.get(f"{BASE}/gettoken", json={"errcode": errcode, "errmsg": "no"})
    http.get(f"{BASE}/school/department/list", json=DEPARTMENTS)

    with pytest.raises(WeComError) as caught:
        make_client().list_departments()

    assert caught.value.errcode == errcode
    assert caught.value.kind is kind
    assert caught.value.api == "gettoken"
    assert len(calls_to(http, "gettoken")) == 1
    assert calls_to(http, "school/department/list") == []


@pytest.mark.parametrize("answer", [
    {"errcode": 0, "errmsg": "ok", "expires_in": 7200},
    {"errcode": 0, "errmsg": "ok", "access_token": "", "expires_in": 7200},
    {"errcode": 0, "errmsg": "ok", "access_token": 12345, "expires_in": 7200},
])
def test_a_gettoken_answer_without_a_token_string_is_malformed(http, answer):
    http.get(f"{BASE}/gettoken", json=answer)

    with pytest.raises(WeComError) as caught:
        make_client().list_departments()

    assert caught.value.kind is ErrorKind.PERMANENT
    assert "access_token" in str(caught.value)
    assert len(calls_to(http, "gettoken")) == 1


@pytest.mark.parametrize(("corp_id", "secret"), [("", "a-secret"), ("wwcorp", "")])
def test_a_blank_corp_id_or_secret_is_a_configuration_error_without_any_call(http, corp_id, secret):
    with pytest.raises(WeComError) as caught:
        make_client(corp_id=corp_id, secret=secret).list_departments()

    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert "WECOM_SECRET" in caught.value.describe()
    assert len(http.calls) == 0


class CountingCache(LocMemCache):
    """A real in-memory cache that counts the reads of each key."""

    def __init__(self) -> None:
        super().__init__(f"wecom-token-count-{uuid.uuid4()}", {})
        self.reads: dict[str, int] = {}

    def get(self, key, default=None, version=None):
        self.reads[key] = self.reads.get(key, 0) + 1
        return super().get(key, default=default, version=version)


def test_a_client_reads_the_shared_token_once_for_many_calls(http):
    http.get(f"{BASE}/gettoken", json=token_answer())
    http.get(f"{BASE}/school/department/list", json=DEPARTMENTS)
    shared = CountingCache()
    client = make_client(cache=shared)

    for _ in range(20):
        client.list_departments()

    token_reads = sum(count for key, count in shared.reads.items() if key.startswith("wecom:token:"))
    # Two for the first call (before fetching, and again under the lock), none after.
    assert token_reads == 2
    assert len(calls_to(http, "gettoken")) == 1


def test_a_token_wecom_refuses_is_forgotten_by_the_client_too(http):
    http.get(f"{BASE}/gettoken", json=token_answer("old-token-0123456789"))
    http.get(f"{BASE}/school/department/list", json=DEPARTMENTS)
    client = make_client()
    client.list_departments()
    http.replace(responses.GET, f"{BASE}/gettoken", json=token_answer("new-token-0123456789"))
    http.replace(responses.GET, f"{BASE}/school/department/list", json={"errcode": 42001, "errmsg": "expired"})
    http.add(responses.GET, f"{BASE}/school/department/list", json=DEPARTMENTS)

    client.list_departments()

    assert calls_to(http, "school/department/list")[-1].request.params["access_token"] == "new-token-0123456789"
