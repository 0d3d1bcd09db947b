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
