from contacts.wecom.client import WeComClient


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
