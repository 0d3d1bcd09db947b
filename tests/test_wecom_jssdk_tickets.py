"""The JS-SDK's two tickets: fetched with the access token, kept in the shared cache, one fetch at a time."""

import hashlib
import os
import threading
import time
import uuid

import pytest
import redis
import responses
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from contacts.sharedcache import SharedCacheUnavailable
from contacts.wecom.errors import ErrorKind, WeComError
from tests.test_wecom_token import RecordingCache, calls_to, make_client

BASE = "https://wecom.test/cgi-bin"
TOKEN = "tok-7f3a9c-token-value"
JSAPI_TICKET = "bxLdikRXVbTPdHSM05e5u5sUoXNKd8-41ZO3MhKoyN5OfkWITDGgnr2fwJ0m9E8NYzWKVZvdVtaUgWvsdshFKA"
AGENT_TICKET = "agent-ticket-0c5b9e7d2f"
APP = f"wwtestcorp:{hashlib.sha256(b'test-app-secret-do-not-leak').hexdigest()[:16]}"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def ticket_answer(ticket: str, **extra) -> dict:
    return {"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": 7200, **extra}


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{BASE}/gettoken", json={"errcode": 0, "errmsg": "ok", "access_token": TOKEN, "expires_in": 7200})
        yield mock


def with_tickets(http: responses.RequestsMock) -> responses.RequestsMock:
    http.get(f"{BASE}/get_jsapi_ticket", json=ticket_answer(JSAPI_TICKET))
    http.get(f"{BASE}/ticket/get", json=ticket_answer(AGENT_TICKET))
    return http


def at_once(threads: int, work) -> None:
    """`work()` in `threads` threads started together."""
    start = threading.Barrier(threads)

    def run() -> None:
        start.wait()
        work()

    running = [threading.Thread(target=run) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join(timeout=30)


def test_the_jsapi_ticket_comes_from_get_jsapi_ticket_with_the_access_token(http):
    with_tickets(http)

    assert make_client().get_jsapi_ticket() == JSAPI_TICKET

    (call,) = calls_to(http, "get_jsapi_ticket")
    assert call.request.params == {"access_token": TOKEN}


def test_the_agent_config_ticket_comes_from_ticket_get_of_type_agent_config(http):
    with_tickets(http)

    assert make_client().get_agent_config_ticket() == AGENT_TICKET

    (call,) = calls_to(http, "ticket/get")
    assert call.request.params == {"access_token": TOKEN, "type": "agent_config"}


def test_each_ticket_is_fetched_once_and_kept_for_its_lifetime_less_a_margin(http):
    with_tickets(http)
    cache = RecordingCache()
    client = make_client(cache=cache)

    for _ in range(5):
        assert client.get_jsapi_ticket() == JSAPI_TICKET
        assert client.get_agent_config_ticket() == AGENT_TICKET

    assert len(calls_to(http, "get_jsapi_ticket")) == 1
    assert len(calls_to(http, "ticket/get")) == 1
    assert cache.timeouts[f"wecom:jsapi-ticket:{APP}"] == 7200 - 300
    assert cache.timeouts[f"wecom:agent-ticket:{APP}"] == 7200 - 300


def test_the_tickets_are_kept_apart_from_each_other_and_from_the_token(http):
    with_tickets(http)
    cache = LocMemCache(f"tickets-keys-{uuid.uuid4()}", {})
    client = make_client(cache=cache)

    client.get_jsapi_ticket()
    client.get_agent_config_ticket()

    assert cache.get(f"wecom:token:{APP}") == TOKEN
    assert cache.get(f"wecom:jsapi-ticket:{APP}") == JSAPI_TICKET
    assert cache.get(f"wecom:agent-ticket:{APP}") == AGENT_TICKET
    assert not any("test-app-secret" in key for key in cache._cache)


def test_processes_sharing_the_cache_share_the_tickets(http):
    with_tickets(http)
    # Local-memory caches of the same name share their data, like processes sharing Redis.
    name = f"tickets-shared-{uuid.uuid4()}"

    tickets = [make_client(cache=LocMemCache(name, {})).get_jsapi_ticket() for _ in range(3)]

    assert tickets == [JSAPI_TICKET] * 3
    assert len(calls_to(http, "get_jsapi_ticket")) == 1
    assert len(calls_to(http, "gettoken")) == 1


def slowly(body: str, seconds: float = 0.2):
    """A WeCom answer that takes `seconds`, for `responses`' callbacks."""

    def answer(request):
        time.sleep(seconds)
        return 200, {"Content-Type": "application/json"}, body

    return answer


def test_concurrent_callers_wait_for_one_fetch(http):
    body = '{"errcode":0,"errmsg":"ok","ticket":"T-1","expires_in":7200}'
    http.add_callback(responses.GET, f"{BASE}/ticket/get", callback=slowly(body))
    name = f"tickets-concurrent-{uuid.uuid4()}"
    results: list[str] = []

    at_once(10, lambda: results.append(make_client(cache=LocMemCache(name, {})).get_agent_config_ticket()))

    assert results == ["T-1"] * 10
    assert len(calls_to(http, "ticket/get")) == 1


def test_waiters_share_the_holders_failure_instead_of_asking_again(http):
    body = '{"errcode":48002,"errmsg":"api forbidden"}'
    http.add_callback(responses.GET, f"{BASE}/get_jsapi_ticket", callback=slowly(body, 0.3))
    name = f"tickets-failure-{uuid.uuid4()}"
    errors: list[WeComError] = []

    def work() -> None:
        try:
            make_client(cache=LocMemCache(name, {})).get_jsapi_ticket()
        except WeComError as error:
            errors.append(error)

    at_once(8, work)

    assert len(errors) == 8
    assert {error.errcode for error in errors} == {48002}
    assert len(calls_to(http, "get_jsapi_ticket")) == 1


def test_an_expired_token_is_replaced_and_the_ticket_fetched_again_once(http):
    http.get(f"{BASE}/get_jsapi_ticket", json={"errcode": 42001, "errmsg": "access_token expired"})
    http.get(f"{BASE}/get_jsapi_ticket", json=ticket_answer(JSAPI_TICKET))

    assert make_client().get_jsapi_ticket() == JSAPI_TICKET

    assert len(calls_to(http, "gettoken")) == 2
    assert len(calls_to(http, "get_jsapi_ticket")) == 2


def test_a_refusal_is_a_wecom_error_with_its_errcode_and_nothing_is_cached(http):
    http.get(f"{BASE}/ticket/get", json={"errcode": 60020, "errmsg": "not allow to access from your ip"})
    cache = LocMemCache(f"tickets-refused-{uuid.uuid4()}", {})

    with pytest.raises(WeComError) as caught:
        make_client(cache=cache).get_agent_config_ticket()

    assert caught.value.errcode == 60020
    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert cache.get(f"wecom:agent-ticket:{APP}") is None


@pytest.mark.parametrize(
    "answer",
    [
        {"errcode": 0, "errmsg": "ok", "expires_in": 7200},
        {"errcode": 0, "errmsg": "ok", "ticket": "", "expires_in": 7200},
        {"errcode": 0, "errmsg": "ok", "ticket": 12345, "expires_in": 7200},
    ],
)
def test_an_answer_without_a_ticket_string_is_malformed(http, answer):
    http.get(f"{BASE}/get_jsapi_ticket", json=answer)

    with pytest.raises(WeComError) as caught:
        make_client().get_jsapi_ticket()

    assert "no ticket" in str(caught.value)


def test_an_unreachable_wecom_is_a_transient_wecom_error(http):
    import requests

    http.get(f"{BASE}/get_jsapi_ticket", body=requests.ConnectionError("refused"))

    with pytest.raises(WeComError) as caught:
        make_client().get_jsapi_ticket()

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert len(calls_to(http, "get_jsapi_ticket")) == 3


def test_a_cache_that_cannot_be_reached_is_the_shared_cache_error_and_wecom_is_not_asked(http):
    with_tickets(http)
    down = RedisCache(UNREACHABLE_REDIS, {})

    with pytest.raises(SharedCacheUnavailable):
        make_client(cache=down).get_agent_config_ticket()

    assert len(http.calls) == 0


def test_the_ticket_lock_outlives_a_fetch_that_first_waits_for_the_token():
    client = make_client(timeout=10.0)

    assert client.ticket_lock_timeout > client.token_wait + client.lock_timeout
    assert client.ticket_wait > client.ticket_lock_timeout


# -- a real Redis -----------------------------------------------------------------------------------


@pytest.fixture
def redis_url():
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"no Redis at {url} (TEST_REDIS_URL)")
        pytest.skip(f"no Redis at {url} (TEST_REDIS_URL)")
    prefix = f"test-tickets-{uuid.uuid4().hex}"
    yield url, prefix
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


def test_clients_on_a_real_redis_fetch_each_ticket_once(http, redis_url):
    with_tickets(http)
    url, prefix = redis_url
    clients = [make_client(cache=RedisCache(url, {"KEY_PREFIX": prefix})) for _ in range(3)]

    for client in clients:
        assert client.get_jsapi_ticket() == JSAPI_TICKET
        assert client.get_agent_config_ticket() == AGENT_TICKET

    assert len(calls_to(http, "get_jsapi_ticket")) == 1
    assert len(calls_to(http, "ticket/get")) == 1
