"""What the simulator's own tests share besides their fixtures (in conftest.py): its app and a token."""

CORP_ID = "wwsandboxtest"
SECRET = "sandbox-test-secret"


def get_token(http, server) -> str:
    answer = http.get(f"{server.url}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}, timeout=5).json()
    assert answer["errcode"] == 0
    return answer["access_token"]
