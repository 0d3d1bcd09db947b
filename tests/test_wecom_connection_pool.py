import threading

import pytest

from contacts.models import CallbackEvent, CallbackStatus
from contacts.wecom.client import WeComClient, get_client
from tests.wecom_callbacks import event, post_event


def test_the_connection_pool_holds_a_connection_for_every_concurrent_refresh(settings):
    settings.WECOM_CONCURRENCY = 24

    client = WeComClient.from_settings()

    adapter = client._session.get_adapter("https://qyapi.weixin.qq.com/cgi-bin")
    assert adapter._pool_maxsize == 24


def test_a_small_concurrency_keeps_the_usual_pool(settings):
    settings.WECOM_CONCURRENCY = 2

    client = WeComClient.from_settings()

    assert client._session.get_adapter("http://127.0.0.1:8001/cgi-bin")._pool_maxsize == 10


def test_the_proxy_of_the_environment_is_used(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.school.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    client = WeComClient(corp_id="ww", secret="s" * 20, api_base="https://qyapi.weixin.qq.com/cgi-bin", timeout=2)

    assert client._session.proxies["https"] == "http://proxy.school.test:3128"


def test_no_proxy_is_honoured(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.school.test:3128")
    monkeypatch.setenv("NO_PROXY", "qyapi.weixin.qq.com")

    client = WeComClient(corp_id="ww", secret="s" * 20, api_base="https://qyapi.weixin.qq.com/cgi-bin", timeout=2)

    assert "https" not in client._session.proxies


def test_a_custom_ca_bundle_of_the_environment_is_used(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/school-ca.pem")

    client = WeComClient(corp_id="ww", secret="s" * 20, api_base="https://qyapi.weixin.qq.com/cgi-bin", timeout=2)

    assert client._session.verify == "/etc/ssl/school-ca.pem"


@pytest.mark.django_db
def test_callback_events_applied_one_after_another_share_one_connection_to_wecom(sandbox, client):
    parents = sandbox.school.external_userids(include_lost=False)[:5]

    for external_userid in parents:
        # Applied as a worker thread applies them: one after another, in this thread.
        post_event(client, event("edit_external_contact", external_userid=external_userid, userid="rocky"))

    assert CallbackEvent.objects.filter(status=CallbackStatus.PROCESSED).count() == len(parents)
    stats = sandbox.stats
    assert stats["calls"]["externalcontact/get"] == len(parents)
    assert stats["connections"] == 1


def test_each_thread_has_a_session_of_its_own_for_all_its_clients():
    here = [get_client()._session, get_client()._session]
    elsewhere = []
    thread = threading.Thread(target=lambda: elsewhere.append(get_client()._session))
    thread.start()
    thread.join()

    assert here[0] is here[1]
    assert elsewhere[0] is not here[0]
