"""The callback URL WeCom calls: /wecom/callback/ (docs 91144, 90930).

GET verifies the URL: the decrypted `echostr` goes back as plain text. POST delivers
an encrypted event: it is verified, decrypted, stored once and queued, and WeCom gets
"success" at once (it retries what is not answered within 5 s).

The signature is the authentication, so the view is exempt from CSRF (WeCom cannot
send a token). Whatever is refused gets a 4xx and one log line naming the cause, never
the token, the key or any decrypted text, and nothing is stored. With
WECOM_CALLBACK_TOKEN or WECOM_CALLBACK_AES_KEY unset the URL answers 404: callbacks are off.
"""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from contacts.callbacks.crypto import (
    CallbackCrypto,
    CallbackCryptoError,
    InvalidSignature,
    WrongReceiver,
    crypto_from_settings,
)
from contacts.callbacks.messages import MessageError, parse_envelope, parse_message
from contacts.callbacks.services import accept_event

logger = logging.getLogger("contacts.callbacks")

# WeCom's events are well under 2 KB; anything much larger is not from WeCom.
MAX_BODY_BYTES = 64 * 1024
# WeCom retries within minutes; a signed message a day old or more is a replay (or a wrong clock).
MAX_CLOCK_SKEW_SECONDS = 24 * 3600
MAX_PARAMETER_LENGTH = 1024


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def wecom_callback(request: HttpRequest) -> HttpResponse:
    crypto = crypto_from_settings()
    if crypto is None:
        logger.warning(
            "WeCom callback refused: callbacks are off (set WECOM_CALLBACK_TOKEN and WECOM_CALLBACK_AES_KEY)"
        )
        return _text("callbacks are not configured", status=404)
    try:
        if request.method == "GET":
            return _verify_url(request, crypto)
        return _receive_event(request, crypto)
    except _Refused as refused:
        logger.warning("WeCom callback refused (%s, HTTP %s): %s", request.method, refused.status, refused.reason)
        return _text(refused.reason, status=refused.status)


def _verify_url(request: HttpRequest, crypto: CallbackCrypto) -> HttpResponse:
    signature, timestamp, nonce = _signed_parameters(request)
    # Base64 has no spaces: a space is a "+" that came unencoded and was read as form encoding.
    echostr = _parameter(request, "echostr").replace(" ", "+")
    plain = _decrypt(crypto, signature=signature, timestamp=timestamp, nonce=nonce, encrypted=echostr)
    try:
        text = plain.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(400, "echostr is not text") from None
    logger.info("WeCom callback URL verified")
    return _text(text)


def _receive_event(request: HttpRequest, crypto: CallbackCrypto) -> HttpResponse:
    body = _read_body(request)
    signature, timestamp, nonce = _signed_parameters(request)
    try:
        envelope = parse_envelope(body=body)
    except MessageError as error:
        raise _Refused(400, f"envelope: {error.reason}") from None
    plain = _decrypt(crypto, signature=signature, timestamp=timestamp, nonce=nonce, encrypted=envelope.encrypted)
    try:
        message = parse_message(data=plain)
    except MessageError as error:
        raise _Refused(400, f"message: {error.reason}") from None
    event = accept_event(message=message)
    if event is None:
        logger.info("WeCom callback: a repeated delivery of a stored event, not queued again")
    else:
        logger.info("WeCom callback: event %s (%s/%s) stored and queued", event.pk, event.event, event.change_type)
    return _text("success")


def _read_body(request: HttpRequest) -> bytes:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit():
        raise _Refused(400, "bad Content-Length")
    # Refused on the declared size, before a byte is read.
    if int(declared) > MAX_BODY_BYTES:
        raise _Refused(413, "body too large")
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise _Refused(413, "body too large")
    return body


def _parameter(request: HttpRequest, name: str) -> str:
    value = request.GET.get(name, "")
    if not value:
        raise _Refused(400, f"missing parameter {name}")
    if len(value) > MAX_PARAMETER_LENGTH:
        raise _Refused(400, f"parameter {name} too long")
    return value


def _signed_parameters(request: HttpRequest) -> tuple[str, str, str]:
    signature = _parameter(request, "msg_signature")
    timestamp = _parameter(request, "timestamp")
    nonce = _parameter(request, "nonce")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise _Refused(400, "timestamp is not a number")
    if abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        raise _Refused(403, "timestamp too far from now")
    return signature, timestamp, nonce


def _decrypt(crypto: CallbackCrypto, *, signature: str, timestamp: str, nonce: str, encrypted: str) -> bytes:
    try:
        return crypto.decrypt_verified(msg_signature=signature, timestamp=timestamp, nonce=nonce, encrypted=encrypted)
    except CallbackCryptoError as error:
        status = 403 if isinstance(error, InvalidSignature | WrongReceiver) else 400
        raise _Refused(status, error.reason) from None


def _text(text: str, *, status: int = 200) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
