"""/wecom/callback/: URL verification, events stored once and applied, and every kind of bad input refused."""

import logging
import time

import pytest
from django.test import Client

from contacts.callbacks.outcomes import outcome_text
from contacts.models import CallbackEvent, CallbackStatus, ContactSnapshot, FollowUser, RefreshTrigger
from tests.admin_factories import seed, with_teacher_remark
from tests.startup import start_app_with
from tests.wecom_callbacks import (
    AES_KEY,
    TOKEN,
    callback_url,
    crypto,
    envelope,
    event,
    pad,
    plaintext,
    post_encrypted,
    post_event,
    raw_encrypt,
    signed_query,
)

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

EDIT = event("edit_external_contact", external_userid="woAAAA", userid="rocky", state="marker-state-7f3a")
BOMB = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>'
    "<xml><MsgType>event</MsgType><Event>&f;</Event></xml>"
)
XXE = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><MsgType>&x;</MsgType></xml>'


def rocky_remark() -> str:
    return FollowUser.objects.get(contact__external_userid="woAAAA", userid="rocky").remark


# -- URL verification -------------------------------------------------------------------------


def test_url_verification_answers_the_decrypted_echostr(client):
    encrypted = crypto().encrypt(b"1616140317555161061")

    response = client.get(callback_url(), {**signed_query(encrypted), "echostr": encrypted})

    assert response.status_code == 200
    assert response.content == b"1616140317555161061"
    assert response["Content-Type"].startswith("text/plain")
    assert not CallbackEvent.objects.exists()


def test_url_verification_survives_an_unencoded_plus(client):
    encrypted = next(e for e in (crypto().encrypt(b"42") for _ in range(200)) if "+" in e)
    query = "&".join(f"{k}={v}" for k, v in {**signed_query(encrypted), "echostr": encrypted}.items())

    response = client.get(f"{callback_url()}?{query}")

    assert response.status_code == 200
    assert response.content == b"42"


def test_url_verification_with_a_forged_signature_is_refused(client):
    encrypted = crypto().encrypt(b"1616140317555161061")

    response = client.get(callback_url(), {**signed_query(encrypted, token="guess"), "echostr": encrypted})

    assert response.status_code == 403
    assert b"1616140317555161061" not in response.content


def test_url_verification_needs_the_echostr(client):
    encrypted = crypto().encrypt(b"1")

    assert client.get(callback_url(), signed_query(encrypted)).status_code == 400


# -- events -----------------------------------------------------------------------------------


def test_an_edit_event_refreshes_the_parent(stored_parent, wecom, client):
    wecom.answers(with_teacher_remark(seed(), "rocky", "李主任"))

    response = post_event(client, EDIT)

    assert response.status_code == 200
    assert response.content == b"success"
    assert rocky_remark() == "李主任"
    stored = CallbackEvent.objects.get()
    assert (stored.event, stored.change_type, stored.external_userid, stored.userid) == (
        "change_external_contact",
        "edit_external_contact",
        "woAAAA",
        "rocky",
    )
    assert stored.status == CallbackStatus.PROCESSED
    assert stored.contact == stored_parent
    assert stored.processed_at is not None
    assert "李部长" in outcome_text(stored) and "李主任" in outcome_text(stored)
    assert stored.payload["State"] == "marker-state-7f3a"
    assert ContactSnapshot.objects.filter(contact=stored_parent).latest("fetched_at").trigger == RefreshTrigger.CALLBACK


def test_a_repeated_delivery_is_processed_once(stored_parent, wecom, client):
    wecom.answers(with_teacher_remark(seed(), "rocky", "李主任"))
    calls_before = wecom.contact_calls()
    encrypted = crypto().encrypt(EDIT.encode())

    first = post_encrypted(client, encrypted)
    same_body_again = post_encrypted(client, encrypted)
    encrypted_anew = post_event(client, EDIT)  # a retry may carry a new random prefix

    assert [r.status_code for r in (first, same_body_again, encrypted_anew)] == [200, 200, 200]
    assert {r.content for r in (first, same_body_again, encrypted_anew)} == {b"success"}
    assert CallbackEvent.objects.count() == 1
    assert wecom.contact_calls() == calls_before + 1


def test_the_request_only_stores_and_queues_the_event(stored_parent, wecom, client, settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default", "callbacks"]}
    }
    from django_tasks import default_task_backend

    calls_before = len(wecom.rsps.calls)
    started = time.monotonic()

    response = post_event(client, EDIT)

    assert response.status_code == 200
    assert time.monotonic() - started < 1
    assert len(wecom.rsps.calls) == calls_before  # no WeCom call in the request
    stored = CallbackEvent.objects.get()
    assert stored.status == CallbackStatus.RECEIVED
    [queued] = default_task_backend.results
    assert queued.task.name == "process_callback_event"
    assert queued.task.queue_name == "callbacks"  # not behind the jobs' chunks
    assert queued.kwargs == {"event_id": stored.pk}
    assert rocky_remark() == "李部长"


def test_no_csrf_token_is_needed(stored_parent, wecom):
    wecom.answers(seed())
    strict = Client(enforce_csrf_checks=True)

    assert post_event(strict, EDIT).status_code == 200


def test_an_event_of_another_kind_is_stored_and_ignored(client):
    message = (
        "<xml><ToUserName><![CDATA[wwtestcorp]]></ToUserName><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[change_contact]]></Event><ChangeType><![CDATA[create_user]]></ChangeType>"
        "<UserID><![CDATA[newteacher]]></UserID></xml>"
    )

    assert post_event(client, message).status_code == 200

    stored = CallbackEvent.objects.get()
    assert stored.status == CallbackStatus.IGNORED
    assert stored.event == "change_contact"


# -- refusals ---------------------------------------------------------------------------------


def bad_signature(client):
    encrypted = crypto().encrypt(EDIT.encode())
    return post_encrypted(client, encrypted, query=signed_query(encrypted, token="not-the-token"))


def wrong_corp_id(client):
    return post_encrypted(client, crypto(receive_id="wwothercorp").encrypt(EDIT.encode()))


def bad_base64(client):
    return post_encrypted(client, "bm90IGJhc2U2NA=!*")


def bad_padding(client):
    body = plaintext(EDIT.encode())
    return post_encrypted(client, raw_encrypt(body + b"\x00" * ((-len(body)) % 32 or 32)))


def inconsistent_padding(client):
    body = plaintext(EDIT.encode())
    padded = pad(body)
    return post_encrypted(client, raw_encrypt(padded[:-2] + bytes([padded[-2] ^ 1]) + padded[-1:]))


def length_beyond_the_data(client):
    return post_encrypted(client, raw_encrypt(pad(plaintext(EDIT.encode(), length=len(EDIT) + 100))))


def malformed_envelope(client):
    encrypted = crypto().encrypt(EDIT.encode())
    return post_encrypted(client, encrypted, body=envelope(encrypted)[:-3])


def envelope_without_encrypt(client):
    encrypted = crypto().encrypt(EDIT.encode())
    return post_encrypted(client, encrypted, body=b"<xml><ToUserName>wwtestcorp</ToUserName></xml>")


def empty_body(client):
    encrypted = crypto().encrypt(EDIT.encode())
    return post_encrypted(client, encrypted, body=b"")


def malformed_message(client):
    return post_event(client, EDIT[:-4])


def entity_bomb_in_the_envelope(client):
    encrypted = crypto().encrypt(EDIT.encode())
    body = BOMB.replace("<Event>&f;</Event>", f"<Encrypt>{encrypted}</Encrypt>").encode()
    return post_encrypted(client, encrypted, body=body)


def entity_bomb_in_the_message(client):
    return post_event(client, BOMB)


def external_entity_in_the_message(client):
    return post_event(client, XXE)


def oversized_body(client):
    encrypted = crypto().encrypt(EDIT.encode())
    padding = b" " * (70 * 1024)
    return post_encrypted(client, encrypted, body=envelope(encrypted).replace(b"</xml>", padding + b"</xml>"))


def oversized_declared_length(client):
    encrypted = crypto().encrypt(EDIT.encode())
    query = "&".join(f"{k}={v}" for k, v in signed_query(encrypted).items())
    return client.generic(
        "POST", f"{callback_url()}?{query}", envelope(encrypted), content_type="text/xml", CONTENT_LENGTH="100000000"
    )


def stale_timestamp(client):
    encrypted = crypto().encrypt(EDIT.encode())
    return post_encrypted(client, encrypted, query=signed_query(encrypted, timestamp=str(int(time.time()) - 3 * 86400)))


def timestamp_not_a_number(client):
    encrypted = crypto().encrypt(EDIT.encode())
    return post_encrypted(client, encrypted, query=signed_query(encrypted, timestamp="yesterday"))


def missing(name):
    def request(client):
        encrypted = crypto().encrypt(EDIT.encode())
        query = signed_query(encrypted)
        query.pop(name)
        return post_encrypted(client, encrypted, query=query)

    request.__name__ = f"missing_{name}"
    return request


REFUSALS = [
    (bad_signature, 403),
    (wrong_corp_id, 403),
    (bad_base64, 400),
    (bad_padding, 400),
    (inconsistent_padding, 400),
    (length_beyond_the_data, 400),
    (malformed_envelope, 400),
    (envelope_without_encrypt, 400),
    (empty_body, 400),
    (malformed_message, 400),
    (entity_bomb_in_the_envelope, 400),
    (entity_bomb_in_the_message, 400),
    (external_entity_in_the_message, 400),
    (oversized_body, 413),
    (oversized_declared_length, 413),
    (stale_timestamp, 403),
    (timestamp_not_a_number, 400),
    (missing("msg_signature"), 400),
    (missing("timestamp"), 400),
    (missing("nonce"), 400),
]


@pytest.mark.parametrize(("send", "status"), REFUSALS, ids=[send.__name__ for send, _ in REFUSALS])
def test_bad_input_is_refused_and_changes_nothing(stored_parent, wecom, client, caplog, send, status):
    wecom.answers(with_teacher_remark(seed(), "rocky", "李主任"))
    calls_before = len(wecom.rsps.calls)

    with caplog.at_level(logging.DEBUG):
        response = send(client)

    assert response.status_code == status
    assert 400 <= response.status_code < 500
    assert not CallbackEvent.objects.exists()
    assert len(wecom.rsps.calls) == calls_before
    assert rocky_remark() == "李部长"
    refusals = [r.getMessage() for r in caplog.records if r.name == "contacts.callbacks"]
    assert len(refusals) == 1 and refusals[0].startswith("WeCom callback refused")
    for secret in (TOKEN, AES_KEY, "marker-state-7f3a", "<ExternalUserID>"):
        assert secret not in caplog.text
        assert secret not in response.content.decode()


def test_the_logs_never_hold_the_token_the_key_or_the_message(stored_parent, wecom, client, caplog):
    wecom.answers(seed())
    echo = crypto().encrypt(b"echo-plaintext-91")

    with caplog.at_level(logging.DEBUG):
        post_event(client, EDIT)
        client.get(callback_url(), {**signed_query(echo), "echostr": echo})
        bad_signature(client)
        wrong_corp_id(client)
        entity_bomb_in_the_message(client)

    logged = caplog.text
    assert "stored and queued" in logged and "refused" in logged
    for secret in (TOKEN, AES_KEY, "marker-state-7f3a", "echo-plaintext-91", EDIT[:40]):
        assert secret not in logged


def test_callbacks_are_off_without_a_token_and_key(client, settings, caplog):
    settings.WECOM_CALLBACK_TOKEN = ""
    settings.WECOM_CALLBACK_AES_KEY = ""

    with caplog.at_level(logging.WARNING):
        response = post_event(client, EDIT)

    assert response.status_code == 404
    assert "WECOM_CALLBACK_TOKEN" in caplog.text
    assert not CallbackEvent.objects.exists()


def test_other_methods_are_not_allowed(client):
    assert client.put(callback_url()).status_code == 405
    assert client.delete(callback_url()).status_code == 405


# -- settings ---------------------------------------------------------------------------------


def test_an_aes_key_of_the_wrong_length_stops_the_app_at_startup():
    started = start_app_with(WECOM_CALLBACK_TOKEN="t", WECOM_CALLBACK_AES_KEY="tooshort")

    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert "43-character EncodingAESKey" in started.stderr


def test_a_token_without_a_key_stops_the_app_at_startup():
    started = start_app_with(WECOM_CALLBACK_TOKEN="t")

    assert started.returncode != 0
    assert "WECOM_CALLBACK_AES_KEY" in started.stderr


def test_the_app_starts_with_a_valid_key_or_none():
    assert start_app_with(WECOM_CALLBACK_TOKEN="t", WECOM_CALLBACK_AES_KEY=AES_KEY).returncode == 0
    assert start_app_with().returncode == 0
