"""`manage.py wecom_sandbox`: loopback only, options passed through, a banner that says what it serves."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from contacts.sandbox import SandboxServer


@pytest.fixture
def no_serving(monkeypatch):
    """The command builds and binds the server, prints, and returns instead of serving forever."""
    started: list[SandboxServer] = []

    def record(self: SandboxServer) -> None:
        started.append(self)

    monkeypatch.setattr(SandboxServer, "serve_forever", record)
    return started


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.com", "::"])  # noqa: S104 - refused
def test_refuses_a_non_loopback_host(host, no_serving):
    with pytest.raises(CommandError, match="loopback"):
        call_command("wecom_sandbox", "--host", host, "--port", "0")
    assert no_serving == []


def test_prints_what_it_serves(no_serving, settings):
    out = StringIO()
    call_command("wecom_sandbox", "--port", "0", "--parents", "50", "--seed", "3", stdout=out)
    server = no_serving[0]
    text = out.getvalue()
    assert server.url in text and server.url.startswith("http://127.0.0.1:")
    assert settings.WECOM_CORP_ID in text
    assert "50 parents" in text and "woAAAA" in text
    assert settings.WECOM_SECRET not in text
    assert server.school.seed == 3 and server.school.parent_count == 50


def test_options_reach_the_server(no_serving):
    call_command(
        "wecom_sandbox",
        "--port",
        "0",
        "--corp-id",
        "wwother",
        "--secret",
        "other-secret",
        "--latency-ms",
        "25",
        "--token-ttl",
        "60",
        "--fault-rate",
        "0.1",
        "--fault-kinds=-1,html502",  # "=": a value starting with "-" would look like an option
        "--fault",
        "woAAAA=-1:2",
        "--fault",
        "wmX=slow",
        "--slow-seconds",
        "3",
        stdout=StringIO(),
    )
    server = no_serving[0]
    assert server.corp_id == "wwother"
    assert server.latency_ms == 25 and server.slow_seconds == 3
    assert server.faults == {"rate": 0.1, "rate_kinds": [-1, "html502"], "faults": {"woAAAA": "-1:2", "wmX": "slow"}}


@pytest.mark.parametrize(
    "arguments",
    [["--fault", "woAAAA=nonsense"], ["--fault", "woAAAA"], ["--fault-rate", "2"], ["--parents", "0"]],
)
def test_bad_options_are_refused(arguments, no_serving):
    with pytest.raises(CommandError):
        call_command("wecom_sandbox", "--port", "0", *arguments, stdout=StringIO())
    assert no_serving == []


def test_needs_a_corp_id_and_secret(no_serving, settings):
    settings.WECOM_CORP_ID = ""
    settings.WECOM_SECRET = ""
    with pytest.raises(CommandError, match="WECOM_CORP_ID"):
        call_command("wecom_sandbox", "--port", "0", stdout=StringIO())
