"""Phone numbers are personal data: shown masked unless a person may see them whole."""

from collections.abc import Iterable


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
