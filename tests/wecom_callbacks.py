"""Signed, encrypted WeCom callbacks for the callback tests, built as WeCom builds them.

The token, key and corp id are those of schoolcontacts/test_settings.py. `raw_encrypt`
uses the AES primitive alone, so tests can craft plaintexts our encrypt would never make
(bad padding, a lying length field, another receiveid).
"""

from __future__ import annotations

import base64
import struct
import time
from urllib.parse import urlencode

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.test import TestCase
from django.urls import reverse

from contacts.callbacks.crypto import CallbackCrypto, compute_signature
from contacts.sandbox.callbacks import event_xml

TOKEN = "test-callback-token"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP_ID = "wwtestcorp"
# The same key, decoded by hand: base64(key + "=") is these 32 bytes.
KEY_BYTES = bytes.fromhex("916c4f115d94103cb15a998f74a0b71787603c398ebdf297d471a71140d2d5a4")


def callback_url() -> str:
    return reverse("wecom_callback")


def crypto(*, receive_id: str = CORP_ID) -> CallbackCrypto:
    return CallbackCrypto(token=TOKEN, encoding_aes_key=AES_KEY, receive_id=receive_id)


def event(change_type: str, **fields: str) -> str:
    return event_xml(corp_id=CORP_ID, change_type=change_type, **fields)


def raw_encrypt(plain: bytes) -> str:
    """AES-256-CBC of `plain` (a whole number of blocks) with the test key, no padding added."""
    encryptor = Cipher(algorithms.AES(KEY_BYTES), modes.CBC(KEY_BYTES[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def plaintext(message: bytes, receive_id: bytes = CORP_ID.encode(), *, length: int | None = None) -> bytes:
    """WeCom's plaintext layout, unpadded; `length` overrides the length field."""
    return b"R" * 16 + struct.pack(">I", len(message) if length is None else length) + message + receive_id


def pad(data: bytes) -> bytes:
    n = 32 - len(data) % 32
    return data + bytes([n]) * n


def signed_query(
    encrypted: str, *, timestamp: str | None = None, nonce: str = "1372623149", token: str = TOKEN
) -> dict:
    timestamp = timestamp or str(int(time.time()))
    signature = compute_signature(token=token, timestamp=timestamp, nonce=nonce, encrypted=encrypted)
    return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}


def envelope(encrypted: str) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    ).encode()


def post_encrypted(client, encrypted: str, *, query: dict | None = None, body: bytes | None = None):
    """POST an already encrypted text, signed unless `query` says otherwise.

    What the request queues once its transaction commits runs as the request returns, as it
    would in production: a test's own transaction never commits.
    """
    params = signed_query(encrypted) if query is None else query
    url = f"{callback_url()}?{urlencode(params)}"
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url, data=envelope(encrypted) if body is None else body, content_type="text/xml")


def post_event(client, xml: str | bytes):
    """POST one event as WeCom does: encrypted with the test key, signed with the test token."""
    message = xml.encode() if isinstance(xml, str) else xml
    return post_encrypted(client, crypto().encrypt(message))
