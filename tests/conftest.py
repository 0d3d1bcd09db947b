import copy
import json
from pathlib import Path

import pytest
import responses
from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from responses import matchers

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _default_language():
    # A request in English leaves English active in the thread; every test starts in the site's language.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _empty_cache():
    # The access token lives in the cache; no test may see another's token.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def seed_answer() -> dict:
    """The seed document's example answer for woAAAA, its JSON mistakes fixed."""
    return copy.deepcopy(json.loads((DATA / "seed_example.json").read_text(encoding="utf-8")))


API = "https://wecom.test/cgi-bin"
TOKEN = "TEST-ACCESS-TOKEN-0123456789"


class FakeWeCom:
    """WeCom faked at the HTTP edge: tests say what each call answers."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.rsps = rsps

    def _contact_url(self, external_userid: str) -> dict:
        return {
            "url": f"{API}/externalcontact/get",
            "match": [matchers.query_param_matcher({"external_userid": external_userid}, strict_match=False)],
        }

    def answers(self, answer: dict) -> None:
        self.rsps.get(**self._contact_url(answer["external_contact"]["external_userid"]), json=answer)

    def fails(self, external_userid: str, errcode: int) -> None:
        self.rsps.get(**self._contact_url(external_userid), json={"errcode": errcode, "errmsg": "simulated"})

    def sends(self, external_userid: str, body, *, status: int = 200, content_type: str = "text/html") -> None:
        self.rsps.get(**self._contact_url(external_userid), body=body, status=status, content_type=content_type)

    def contact_calls(self) -> int:
        return sum("/externalcontact/get" in call.request.url for call in self.rsps.calls)


@pytest.fixture
def wecom():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(
            f"{API}/gettoken",
            json={"errcode": 0, "errmsg": "ok", "access_token": TOKEN, "expires_in": 7200},
        )
        yield FakeWeCom(rsps)


@pytest.fixture
def sandbox(settings):
    """The WeCom simulator on a free loopback port, with the app pointed at it."""
    from contacts.sandbox.school import build_school
    from contacts.sandbox.server import SandboxServer

    server = SandboxServer(
        school=build_school(parents=30, seed=1),
        corp_id=settings.WECOM_CORP_ID,
        secret=settings.WECOM_SECRET,
        agent_id=settings.WECOM_AGENT_ID,
    ).start()
    settings.WECOM_API_BASE = server.url
    settings.WECOM_LOGIN_BASE = settings.WECOM_OAUTH_BASE = server.base_url
    yield server
    server.stop()


@pytest.fixture
def browser():
    """A headless Chromium for the browser tests (tests/browser.py), closed afterwards."""
    from tests.browser import start_chromium

    chromium = start_chromium()
    yield chromium
    chromium.quit()


@pytest.fixture
def kept_tasks(settings) -> list:
    """Tasks are kept, not run: the results of what was queued (`result.task.run_after` says for when)."""
    from contacts import tasks

    queues = settings.TASKS["default"]["QUEUES"]
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": queues}}
    backend = tasks.process_callback_event.get_backend()
    backend.clear()
    return backend.results
