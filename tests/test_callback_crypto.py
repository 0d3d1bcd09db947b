"""WeCom's callback crypto: known answers worked out apart from our code, round trips, and refusals."""

import base64
import os

import pytest

from contacts.callbacks.crypto import (
    CallbackCrypto,
    InvalidCiphertext,
    InvalidSignature,
    WrongReceiver,
    aes_key_from,
    compute_signature,
)
from tests.wecom_callbacks import AES_KEY, CORP_ID, KEY_BYTES, TOKEN, crypto, pad, plaintext, raw_encrypt

# -- known answers --------------------------------------------------------------------------
# Computed once with a throwaway script that used only `cryptography`'s AES-CBC and hashlib,
# following the notes' algorithm step by step (never this project's module).

KAV_PREFIX = b"0123456789:;<=>?"
KAV_MESSAGE = (
    b"<xml><ToUserName><![CDATA[wwtestcorp]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
    b"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
    b"<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[edit_external_contact]]></ChangeType>"
    b"<UserID><![CDATA[rocky]]></UserID><ExternalUserID><![CDATA[woAAAA]]></ExternalUserID>"
    b"<State><![CDATA[]]></State></xml>"
)
KAV_CIPHERTEXT = (
    "mk4Sx5Iln5iSuLWLL08IWoAYU5t9/FC4OLsKJjPRLH8t0tUkRVKNYL3X9UKPzcOl317lAngTiulzVNVDmjMagZt7glyNuBmgKKvIlbN+sQ"
    "349c+nI0Ai2RL7rckcT2Gf6e7LIyMcbc06VAByY5G/Xzy9uauQ8Yur8qebohiQ0CQ3s0UjGwgol2cF8ohrrNffCJXwu/PIGgHt7ngXzPLs"
    "CqqmrgtvESsUDjWR9wHuQSu+sAYREhgwUY6bOrWyAVKdPyoYcYnTQRI7PULdaLSBo7x9tH3MlpXpCtRSY78Jj3yyDtVvMCejCQX30Mo4"
    "75DB0OLDkVRcy5NK+BIWL+O3ud2HcDjiQVaC8wn8jXI+r/oydgOUF+3rK22nj5egCec5eui/SxFgiMy+r77YOffocRA7oIGTqWUq14W7"
    "NN/zUB17iBmk35WEQPvAUY36aJj1kxim1MM2NLOjiMbpQbKiiciF5yEOxvCINMVzYIt3xY9NJqbdF51FyVucwCaoVe/Rk0D2cXmpmJc6"
    "Z/qnxsOCbl/NRylDuST/Qx5TE463v3zZjWL7LK1p9s6q9rOK+JKELok2CVNv1FlfkClIUmWKvA=="
)
KAV_TIMESTAMP, KAV_NONCE = "1700000000", "nonce123"
KAV_SIGNATURE = "8c93514c896131fa9ddfa59bfb93b1b45cc7cbbc"

# Non-ASCII: the length field counts bytes, not characters.
KAV2_PREFIX = b"\x00" * 8 + b"\xff" * 8
KAV2_MESSAGE = "李小明-爸爸，请查收通知".encode()
KAV2_CIPHERTEXT = (
    "GN0ALZkLegTStmTPhTdQWvZf9BMAPBv0SMRGfCV/cfL0USQH3ZQJdBbhvfikRXlzwwtNZRen9kvFlg8ua4WkIRXarckpX0n7LGm+6mSUT"
    "dnUWTei6PjKgejVThFpicG3"
)
KAV2_SIGNATURE = "fac8429671aabaa30d28f6ec6ae02597b90f288e"  # timestamp 1700000001, nonce "n"

# Tencent's own published sample (WXBizMsgCrypt's Sample.cs): token, key, corp id, query and Encrypt.
TENCENT_TOKEN = "QDG6eK"
TENCENT_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
TENCENT_CORP_ID = "wx5823bf96d3bd56c7"
TENCENT_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
TENCENT_TIMESTAMP, TENCENT_NONCE = "1409659813", "1372623149"
TENCENT_ENCRYPTED = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYY"
    "vuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR"
    "+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallc"
    "rw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8"
    "Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)


def test_the_key_is_the_base64_of_the_encoding_aes_key():
    assert aes_key_from(AES_KEY) == KEY_BYTES


def test_known_answer_decrypts_to_the_message():
    assert crypto().decrypt(KAV_CIPHERTEXT) == KAV_MESSAGE


def test_known_answer_encrypts_to_the_ciphertext():
    assert crypto().encrypt(KAV_MESSAGE, random_prefix=KAV_PREFIX) == KAV_CIPHERTEXT


def test_known_answer_signature():
    assert crypto().sign(timestamp=KAV_TIMESTAMP, nonce=KAV_NONCE, encrypted=KAV_CIPHERTEXT) == KAV_SIGNATURE
    crypto().verify(msg_signature=KAV_SIGNATURE, timestamp=KAV_TIMESTAMP, nonce=KAV_NONCE, encrypted=KAV_CIPHERTEXT)


def test_known_answer_with_chinese_text():
    assert crypto().encrypt(KAV2_MESSAGE, random_prefix=KAV2_PREFIX) == KAV2_CIPHERTEXT
    assert crypto().decrypt_verified(
        msg_signature=KAV2_SIGNATURE, timestamp="1700000001", nonce="n", encrypted=KAV2_CIPHERTEXT
    ) == KAV2_MESSAGE


def test_tencents_published_sample():
    tencent = CallbackCrypto(token=TENCENT_TOKEN, encoding_aes_key=TENCENT_KEY, receive_id=TENCENT_CORP_ID)

    message = tencent.decrypt_verified(
        msg_signature=TENCENT_SIGNATURE, timestamp=TENCENT_TIMESTAMP, nonce=TENCENT_NONCE, encrypted=TENCENT_ENCRYPTED
    )

    assert message.startswith(b"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>")
    assert b"<Content><![CDATA[hello]]></Content>" in message
    # Its random prefix, read back, makes our encrypt give Tencent's ciphertext exactly.
    assert tencent.encrypt(message, random_prefix=b"0960688932c47ef1") == TENCENT_ENCRYPTED


# -- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 11, 12, 31, 32, 33, 44, 100, 4000])
def test_round_trip_of_every_padding_length(size):
    message = os.urandom(size)
    encrypted = crypto().encrypt(message)

    assert len(base64.b64decode(encrypted)) % 32 == 0
    assert crypto().decrypt(encrypted) == message


def test_the_random_prefix_differs_each_time():
    assert crypto().encrypt(b"same") != crypto().encrypt(b"same")


def test_signature_is_sha1_of_the_sorted_parts():
    # sorted: "1", "a", "b", "c" -> sha1("1abc")
    expected = "61ad43d75ba33f5f8a8956ad2118d0b62f840fa2"
    assert compute_signature(token="b", timestamp="1", nonce="c", encrypted="a") == expected


# -- refusals ---------------------------------------------------------------------------------


def test_a_wrong_signature_is_refused():
    good = crypto().sign(timestamp="1", nonce="n", encrypted="abc")
    for signature in ("", good[:-1] + ("0" if good[-1] != "0" else "1"), good.upper(), good + "0", "签名"):
        with pytest.raises(InvalidSignature):
            crypto().verify(msg_signature=signature, timestamp="1", nonce="n", encrypted="abc")


def test_a_signature_made_with_another_token_is_refused():
    encrypted = crypto().encrypt(b"hello")
    signature = compute_signature(token="another-token", timestamp="1", nonce="n", encrypted=encrypted)

    with pytest.raises(InvalidSignature):
        crypto().decrypt_verified(msg_signature=signature, timestamp="1", nonce="n", encrypted=encrypted)


def test_another_corp_id_is_refused():
    encrypted = crypto(receive_id="wwothercorp").encrypt(b"<xml/>")

    with pytest.raises(WrongReceiver):
        crypto().decrypt(encrypted)


@pytest.mark.parametrize("text", ["", "not base64!", "YWJj", "YWJjZA=", "YW Jj", "中文", "A" * 43])
def test_bad_base64_is_refused(text):
    with pytest.raises(InvalidCiphertext):
        crypto().decrypt(text)


def test_a_ciphertext_not_made_of_whole_blocks_is_refused():
    with pytest.raises(InvalidCiphertext, match="AES blocks"):
        crypto().decrypt(base64.b64encode(os.urandom(40)).decode())


@pytest.mark.parametrize(
    "tail",
    [
        b"\x00",  # padding byte 0
        b"\x21" * 33,  # 33 > 32
        b"\x05\x05\x05\x04\x05",  # inconsistent bytes
        b"\xff",  # far too large
    ],
)
def test_bad_padding_is_refused(tail):
    body = plaintext(b"<xml/>")
    filler = (-(len(body) + len(tail))) % 32
    with pytest.raises(InvalidCiphertext, match="padding"):
        crypto().decrypt(raw_encrypt(body + b"x" * filler + tail))


def test_a_length_field_beyond_the_data_is_refused():
    with pytest.raises(InvalidCiphertext, match="length field"):
        crypto().decrypt(raw_encrypt(pad(plaintext(b"<xml/>", length=5000))))


def test_a_plaintext_shorter_than_its_header_is_refused():
    with pytest.raises(InvalidCiphertext, match="too short"):
        crypto().decrypt(raw_encrypt(pad(b"R" * 10)))


def test_random_bytes_never_decrypt():
    for _ in range(50):
        with pytest.raises(InvalidCiphertext):
            crypto(receive_id="x" * 200).decrypt(base64.b64encode(os.urandom(64)).decode())


@pytest.mark.parametrize("key", ["", "short", AES_KEY + "A", AES_KEY[:-1] + "=", AES_KEY[:-1] + "中"])
def test_an_encoding_aes_key_of_the_wrong_form_is_refused(key):
    with pytest.raises(ValueError, match="43"):
        aes_key_from(key)


def test_the_crypto_never_shows_its_secrets():
    shown = repr(crypto())
    assert TOKEN not in shown
    assert AES_KEY not in shown
    assert CORP_ID in shown
