"""The simulator over HTTP, for the tests of what it answers: a school, a running server, a client.

Fixtures of this folder only: other tests have a `school` and an `http` of their own.
"""

import pytest
import requests

from contacts.sandbox import SandboxServer, build_school
from tests.simulator.helpers import CORP_ID, SECRET


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
