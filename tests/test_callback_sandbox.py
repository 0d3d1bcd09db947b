"""The simulator sends WeCom callbacks to the running app, and the app takes them (live server round trips)."""

import pytest
import requests
from django.core.management import CommandError, call_command

from contacts.models import CallbackEvent, CallbackStatus, FollowUser, Guardian, RefreshTrigger
from contacts.sandbox import SandboxServer, build_school
from contacts.sandbox.callbacks import CallbackSender, event_xml
from contacts.services.refresh import refresh_contact
from contacts.wecom.client import get_client
from contacts.wecom.errors import WeComError
from tests.wecom_callbacks import AES_KEY, CORP_ID, TOKEN

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app_url(live_server) -> str:
    return f"{live_server.url}/wecom/callback/"


@pytest.fixture
def simulator(settings, app_url):
    """The simulator, with the app's callback URL, token and key; the app pointed at it."""
    server = SandboxServer(
        school=build_school(parents=30, seed=1),
        corp_id=settings.WECOM_CORP_ID,
        secret=settings.WECOM_SECRET,
        callback_url=app_url,
        callback_token=TOKEN,
        callback_aes_key=AES_KEY,
    ).start()
    settings.WECOM_API_BASE = server.url
    yield server
    server.stop()


def control(server: SandboxServer, path: str, payload: dict) -> requests.Response:
    return requests.post(f"{server.base_url}/sandbox/{path}", json=payload, timeout=30)


def rocky_remark() -> str:
    return FollowUser.objects.get(contact__external_userid="woAAAA", userid="rocky").remark


def test_a_remark_edited_in_wecom_reaches_the_admin(simulator):
    refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND)
    assert rocky_remark() == "李部长"

    answer = control(simulator, "contacts/woAAAA/follow_users/rocky", {"remark": "李主任"}).json()

    assert answer["follow_user"]["remark"] == "李主任"
    assert answer["callback"] == {"status": 200, "body": "success", "accepted": True}
    assert rocky_remark() == "李主任"
    stored = CallbackEvent.objects.get()
    assert (stored.change_type, stored.status) == ("edit_external_contact", CallbackStatus.PROCESSED)


def test_the_control_api_sends_any_event(simulator):
    refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND)

    answer = control(
        simulator, "callbacks/send", {"change_type": "del_follow_user", "external_userid": "woAAAA", "userid": "tommy"}
    ).json()

    assert answer["accepted"] is True
    assert FollowUser.objects.get(contact__external_userid="woAAAA", userid="tommy").ended_at is not None


def test_the_control_api_verifies_the_url(simulator):
    answer = control(simulator, "callbacks/send", {"change_type": "verify"}).json()

    assert answer["status"] == 200
    assert answer["accepted"] is True


def test_the_control_api_refuses_an_unknown_change_type(simulator):
    response = control(simulator, "callbacks/send", {"change_type": "explode"})

    assert response.status_code == 400
    assert not CallbackEvent.objects.exists()


def test_without_a_callback_url_the_control_api_says_so(settings):
    with SandboxServer(school=build_school(parents=5), corp_id=CORP_ID, secret="s") as server:
        response = control(server, "callbacks/send", {"change_type": "verify"})
        edited = control(server, "contacts/woAAAA/follow_users/rocky", {"remark": "x"}).json()

    assert response.status_code == 409
    assert edited["callback"] is None


def test_the_command_sends_an_event_the_app_accepts(simulator, app_url, capsys):
    refresh_contact(external_userid="woAAAA", trigger=RefreshTrigger.COMMAND)
    simulator.school.edit_follow_user("woAAAA", "rocky", remark="李校长")

    call_command("wecom_sandbox_event", "edit_external_contact", url=app_url, external_userid="woAAAA", userid="rocky")

    assert "HTTP 200 success" in capsys.readouterr().out
    assert rocky_remark() == "李校长"


def test_the_command_sends_roster_events(simulator, app_url):
    entry = next(e for e in simulator.school.list_parent(simulator.school.class_ids()[0]))

    call_command("wecom_sandbox_event", "create_parent", url=app_url, userid=entry["parent_userid"])

    assert Guardian.objects.filter(parent_userid=entry["parent_userid"]).exists()


def test_the_command_verifies_the_url(app_url, capsys):
    call_command("wecom_sandbox_event", "verify", url=app_url)

    assert "URL verified." in capsys.readouterr().out


def test_the_command_reports_a_refused_event(app_url):
    with pytest.raises(CommandError, match="did not accept"):
        call_command(
            "wecom_sandbox_event", "del_follow_user", url=app_url, external_userid="woAAAA", userid="rocky", token="x"
        )

    assert not CallbackEvent.objects.exists()


def test_the_command_needs_the_ids_of_the_event(app_url):
    with pytest.raises(CommandError, match="external_userid"):
        call_command("wecom_sandbox_event", "edit_external_contact", url=app_url, userid="rocky")


def test_the_command_says_when_the_app_is_not_there():
    with pytest.raises(CommandError, match="could not be reached"):
        call_command("wecom_sandbox_event", "verify", url="http://127.0.0.1:9/wecom/callback/", timeout=2)


def test_a_sender_with_another_key_is_refused(app_url):
    forger = CallbackSender(
        url=app_url, token=TOKEN, encoding_aes_key="A" * 42 + "E", corp_id=CORP_ID
    )

    delivery = forger.send_event(
        event_xml(corp_id=CORP_ID, change_type="del_follow_user", external_userid="woAAAA", userid="rocky")
    )

    assert delivery.status == 400
    assert not delivery.accepted
    assert not CallbackEvent.objects.exists()


# -- school/user/get in the simulator --------------------------------------------------------------


def test_the_simulator_serves_one_roster_user(sandbox):
    school = sandbox.school
    entry = school.list_parent(school.class_ids()[0])[0]
    client = get_client()

    parent = client.get_school_user(entry["parent_userid"])
    student = client.get_school_user(entry["children"][0]["student_userid"])

    assert parent["user_type"] == 2 and parent["parent"] == entry
    assert student["user_type"] == 1
    assert entry["parent_userid"] in {p["parent_userid"] for p in student["student"]["parents"]}
    with pytest.raises(WeComError) as unknown:
        client.get_school_user("nobody")
    assert unknown.value.errcode == 60111


def test_the_simulator_wants_a_userid(sandbox, settings):
    credentials = {"corpid": settings.WECOM_CORP_ID, "corpsecret": settings.WECOM_SECRET}
    token = requests.get(f"{sandbox.url}/gettoken", params=credentials, timeout=5).json()["access_token"]

    answer = requests.get(f"{sandbox.url}/school/user/get", params={"access_token": token}, timeout=5).json()

    assert answer["errcode"] == 41009


def test_the_simulator_command_needs_the_callback_token_and_key(settings):
    settings.WECOM_CALLBACK_TOKEN = ""

    with pytest.raises(CommandError, match="WECOM_CALLBACK_TOKEN"):
        call_command("wecom_sandbox", port=0, callback_url="http://127.0.0.1:8000/wecom/callback/")
