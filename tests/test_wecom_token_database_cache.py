"""The token lock through the default cache, the database one, that separate processes share.

Each thread has its own database connection, as separate processes would.
"""

import threading
import time

import pytest
import responses
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection

from contacts.wecom.client import WeComClient

API = "https://wecom.test/cgi-bin"
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "shared": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "token_lock_test_cache"},
}


@pytest.fixture
def database_cache(settings, transactional_db):
    settings.CACHES = CACHES
    call_command("createcachetable", "token_lock_test_cache", verbosity=0)
    cache = caches["shared"]
    cache.clear()
    yield cache
    cache.clear()


def slow_token(request):
    time.sleep(0.3)
    return 200, {}, '{"errcode": 0, "errmsg": "ok", "access_token": "DB-CACHED-TOKEN", "expires_in": 7200}'


def test_twenty_workers_sharing_the_database_cache_fetch_one_token(database_cache):
    start = threading.Barrier(20)
    tokens, errors = [], []

    def worker():
        client = WeComClient(corp_id="wwtestcorp", secret="s" * 32, api_base=API, timeout=2, cache=caches["shared"])
        try:
            start.wait(timeout=10)
            tokens.append(client.list_departments())
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.GET, f"{API}/gettoken", callback=slow_token)
        rsps.get(f"{API}/school/department/list", json={"errcode": 0, "errmsg": "ok", "departments": []})
        threads = [threading.Thread(target=worker) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        gettoken_calls = sum("/gettoken" in call.request.url for call in rsps.calls)
        used_tokens = {
            call.request.params.get("access_token") for call in rsps.calls if "/department/" in call.request.url
        }

    assert errors == []
    assert tokens == [[]] * 20
    assert gettoken_calls == 1
    assert used_tokens == {"DB-CACHED-TOKEN"}
