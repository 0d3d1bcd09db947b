"""The simulator over HTTP, for the tests of what it answers: a school, a running server, a client.

Test modules load the fixtures with `pytest_plugins = ["tests.sandbox_fixtures"]` and import the
constants and helpers before pytest loads it as a plugin, so its asserts cannot be rewritten;
PYTEST_DONT_REWRITE says so and keeps pytest quiet.
"""

import pytest
import requests

from contacts.sandbox import SandboxServer, build_school

CORP_ID = "wwsandboxtest"
SECRET = "sandbox-test-secret"


@pytest.fixture(scope="module")
def school():
    return build_school(parents=200, seed=1)


@pytest.fixture
def server_options() -> dict:
    """More arguments of the SandboxServer; a module that needs some defines its own fixture of this name."""
    return {}


@pytest.fixture
def server(school, server_options):
    with SandboxServer(school=school, corp_id=CORP_ID, secret=SECRET, **server_options) as running:
        yield running


@pytest.fixture
def http():
    with requests.Session() as client:
        yield client


def get_token(http, server) -> str:
    answer = http.get(f"{server.url}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}, timeout=5).json()
    assert answer["errcode"] == 0
    return answer["access_token"]
