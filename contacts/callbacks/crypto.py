"""The signature and encryption of WeCom callbacks (docs 91144, 90968), as WXBizMsgCrypt does them.

- signature: SHA-1 hex of the sorted concatenation of the token, timestamp, nonce and
  the encrypted text;
- key: base64-decode(EncodingAESKey + "="), 43 characters giving 32 bytes; AES-256-CBC
  with the first 16 bytes of the key as IV, PKCS#7 padding to a multiple of 32 bytes
  (WeCom's block, not AES's 16);
- plaintext: 16 random bytes, the message length as 4 bytes big-endian, the message,
  then the receiveid (the corp id for an app of the school itself).

Only the AES primitive comes from `cryptography`; the padding is WeCom's own, so it is
checked here by hand. Nothing here logs, and no error carries the key, the token or
any decrypted byte: an error's `reason` is a fixed phrase that is safe to log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings

ENCODING_AES_KEY_LENGTH = 43
PAD_BLOCK = 32
AES_BLOCK = 16
RANDOM_PREFIX_LENGTH = 16
_LENGTH_FIELD = struct.Struct(">I")
_HEADER = RANDOM_PREFIX_LENGTH + _LENGTH_FIELD.size
_ENCODING_AES_KEY = re.compile(rf"[A-Za-z0-9+/]{{{ENCODING_AES_KEY_LENGTH}}}")


class CallbackCryptoError(ValueError):
    """A callback that cannot be trusted or read; `reason` says why, without secrets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidSignature(CallbackCryptoError):
    pass


class InvalidCiphertext(CallbackCryptoError):
    pass


class WrongReceiver(CallbackCryptoError):
    pass


def aes_key_from(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of an EncodingAESKey; ValueError when it is not one."""
    if not _ENCODING_AES_KEY.fullmatch(encoding_aes_key or ""):
        raise ValueError(f"an EncodingAESKey is {ENCODING_AES_KEY_LENGTH} letters and digits")
    return base64.b64decode(encoding_aes_key + "=", validate=True)


def compute_signature(*, token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    joined = "".join(sorted((token, timestamp, nonce, encrypted)))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()  # noqa: S324 - WeCom's protocol fixes SHA-1


class CallbackCrypto:
    """Sign, verify, encrypt and decrypt the callbacks of one WeCom app."""

    def __init__(self, *, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if not token or not receive_id:
            raise ValueError("a callback token and a receive id are needed")
        self._token = token
        self._key = aes_key_from(encoding_aes_key)
        self.receive_id = receive_id

    def __repr__(self) -> str:
        return f"CallbackCrypto(receive_id={self.receive_id!r})"

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:AES_BLOCK]))

    def sign(self, *, timestamp: str, nonce: str, encrypted: str) -> str:
        return compute_signature(token=self._token, timestamp=timestamp, nonce=nonce, encrypted=encrypted)

    def verify(self, *, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = self.sign(timestamp=timestamp, nonce=nonce, encrypted=encrypted)
        # Constant time, so that the answer's timing says nothing about how much of a forged signature matched.
        if not hmac.compare_digest(expected.encode("ascii"), (msg_signature or "").encode("utf-8")):
            raise InvalidSignature("signature does not match")

    def encrypt(self, message: bytes, *, random_prefix: bytes | None = None) -> str:
        """The base64 ciphertext of `message` for this app; `random_prefix` only for known-answer tests."""
        prefix = os.urandom(RANDOM_PREFIX_LENGTH) if random_prefix is None else random_prefix
        if len(prefix) != RANDOM_PREFIX_LENGTH:
            raise ValueError(f"the random prefix is {RANDOM_PREFIX_LENGTH} bytes")
        plain = prefix + _LENGTH_FIELD.pack(len(message)) + message + self.receive_id.encode("utf-8")
        pad = PAD_BLOCK - len(plain) % PAD_BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside `encrypted`, once its padding, length and receiveid hold up.

        Call it only on a text whose signature was verified: the errors differ by cause.
        """
        try:
            data = base64.b64decode((encrypted or "").encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as error:
            raise InvalidCiphertext("not base64") from error
        if not data or len(data) % AES_BLOCK:
            raise InvalidCiphertext("ciphertext is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()

        pad = plain[-1]
        if not 1 <= pad <= PAD_BLOCK or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
            raise InvalidCiphertext("bad padding")
        content = plain[:-pad]
        if len(content) < _HEADER:
            raise InvalidCiphertext("plaintext too short")
        (length,) = _LENGTH_FIELD.unpack_from(content, RANDOM_PREFIX_LENGTH)
        if _HEADER + length > len(content):
            raise InvalidCiphertext("length field beyond the data")
        message = content[_HEADER : _HEADER + length]
        if not hmac.compare_digest(content[_HEADER + length :], self.receive_id.encode("utf-8")):
            raise WrongReceiver("receiveid is not this corp id")
        return message

    def decrypt_verified(self, *, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> bytes:
        """Verify, then decrypt: nothing is decrypted for a sender who does not know the token."""
        self.verify(msg_signature=msg_signature, timestamp=timestamp, nonce=nonce, encrypted=encrypted)
        return self.decrypt(encrypted)


def crypto_from_settings() -> CallbackCrypto | None:
    """The app's callback crypto, or None while WECOM_CALLBACK_TOKEN / WECOM_CALLBACK_AES_KEY are unset."""
    token = getattr(settings, "WECOM_CALLBACK_TOKEN", "")
    encoding_aes_key = getattr(settings, "WECOM_CALLBACK_AES_KEY", "")
    if not (token and encoding_aes_key and settings.WECOM_CORP_ID):
        return None
    return CallbackCrypto(token=token, encoding_aes_key=encoding_aes_key, receive_id=settings.WECOM_CORP_ID)
