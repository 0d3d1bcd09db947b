"""Phone numbers are personal data: shown masked unless a person may see them whole."""

import re
from collections.abc import Iterable

_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_CHINA_PREFIXES = ("+86", "0086")


def normalize_phone(text: str) -> str:
    """The digits of a phone number as staff would type them: 139 1234-5678, +86 13912345678 → 13912345678."""
    digits = _PHONE_SEPARATORS.sub("", str(text))
    for prefix in _CHINA_PREFIXES:
        if digits.startswith(prefix) and len(digits) > len(prefix) + 6:
            return digits[len(prefix) :]
    return digits


def mask_phone(phone: str) -> str:
    """13912345678 → 139****5678; short numbers keep only their last two digits."""
    digits = str(phone)
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) > 2:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * len(digits)


def show_phones(phones: Iterable[str] | None, *, reveal: bool) -> str:
    if not phones:
        return ""
    return ", ".join(str(p) if reveal else mask_phone(p) for p in phones)
