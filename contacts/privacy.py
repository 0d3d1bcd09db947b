"""Phone numbers are personal data: shown masked unless a person may see them whole.

Phones reach the app two ways. WeCom sends some as lists of numbers (remark_mobiles):
`mask_phone` masks each whole. People also type them into text: a teacher's description
"爸爸手机 139 1234 5678", a nickname, a remark, a tag. `mask_phones_in_text` masks every
phone-shaped run of digits in such text, and is the one function used for every text and
raw answer shown to staff without the phone permission.

What counts as a phone in text (digits may be ASCII or full-width, and grouped by spaces,
dashes, dots or parentheses, as people write them):

- a mobile: 11 digits starting with 1 (139 1234 5678, 139-1234-5678);
- a landline with its area code: 10 to 12 digits starting with 0 (010-12345678, 0755 1234 5678);
- any of these after +86, 0086 or 86-, and any number of 9 to 15 digits after a +.

The first three and last four digits of the number stay (139 **** 5678), the rest become *,
and the separators stay where they were. Numbers that are not shaped like a phone are kept:
dates (2026-11-29), times, student numbers, amounts, and a 7 or 8 digit number without an
area code, which cannot be told apart from them.

A masked phone always has at least 9 digits, joined by at most two separators:
`PHONE_RUN_PATTERN` finds every such run, so a database can tell which texts may hold a
phone (it finds more than the masking does, never less).
"""

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_CHINA_PREFIXES = ("+86", "0086")

_DIGITS = "0-9\uff10-\uff19"
# Spaces (also no-break and ideographic), tab, dots, parentheses (also full-width) and dashes.
_SEPARATORS = " \t\u00a0\u3000.()\uff08\uff09\u2010-\u2015-"
_MAX_SEPARATORS = 2
MIN_PHONE_DIGITS = 9

# Written so that Python's re and PostgreSQL's regular expressions read it the same way.
PHONE_RUN_PATTERN = f"[{_DIGITS}]([{_SEPARATORS}]{{0,{_MAX_SEPARATORS}}}[{_DIGITS}]){{{MIN_PHONE_DIGITS - 1},}}"

_RUN = re.compile(f"[+\uff0b]?[{_DIGITS}]+(?:[{_SEPARATORS}]{{1,{_MAX_SEPARATORS}}}[{_DIGITS}]+)*")
_GROUP = re.compile(f"[{_DIGITS}]+")
_ANY_DIGIT = re.compile(f"[{_DIGITS}]")
# Four digits are the part of a mobile its mask hides.
PHONE_SEARCH_MIN_DIGITS = 4
_PHONE_SEARCH = re.compile(
    f"[{_DIGITS}](?:[{_SEPARATORS}]{{0,{_MAX_SEPARATORS}}}[{_DIGITS}]){{{PHONE_SEARCH_MIN_DIGITS - 1},}}"
)
_FULL_WIDTH_DIGITS = str.maketrans("\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19", "0123456789")
_KEPT_AT_START, _KEPT_AT_END = 3, 4
# 0086 and a 12-digit landline.
_MAX_PHONE_DIGITS = 16


def normalize_phone(text: str) -> str:
    """The digits of a phone number as staff would type them: 139 1234-5678, +86 13912345678 → 13912345678."""
    digits = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", str(text)))
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


def shown_text(text: str | None, *, reveal: bool) -> str | None:
    """A text as a reader sees it: whole when `reveal` (they may see phones), else with its phones masked."""
    if not text or reveal:
        return text
    return mask_phones_in_text(text)


def has_digits(text: str) -> bool:
    return _ANY_DIGIT.search(text) is not None


def looks_like_phone_search(term: str) -> bool:
    """Whether a search looks for a phone number, whole or a fragment of one: it holds a run of
    PHONE_SEARCH_MIN_DIGITS digits or more, which may be grouped as in text (139 1234, 0755-1234)."""
    return _PHONE_SEARCH.search(term) is not None


def phone_search_digits(term: str) -> str:
    """The digits a phone search looks for in the stored phones ("+86 139-1234" → "1391234"), or "" when the
    search is something else than a number ("李四 139", "2班")."""
    digits = normalize_phone(term)
    if digits.isascii() and digits.isdigit() and len(digits) >= PHONE_SEARCH_MIN_DIGITS:
        return digits
    return ""


def mask_phones_in_text(text: str) -> str:
    """The text with every phone-shaped run of digits masked: "爸爸 139 1234 5678" → "爸爸 139 **** 5678"."""
    if not text or not has_digits(text):
        return text
    return _RUN.sub(_mask_run, text)


def mask_phones_in_data(value: Any) -> Any:
    """A JSON value (a raw WeCom answer, a callback's content) as it may be shown without the phone permission.

    Every text and number is masked as text is; the lists WeCom names remark_mobiles hold
    nothing but phones, and are masked whole whatever their shape.
    """
    if isinstance(value, dict):
        return {
            mask_phones_in_text(str(key)): (
                [mask_phone(str(phone)) for phone in item]
                if key == "remark_mobiles" and isinstance(item, list)
                else mask_phones_in_data(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_phones_in_data(item) for item in value]
    if isinstance(value, str):
        return mask_phones_in_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        masked = mask_phones_in_text(str(value))
        return value if masked == str(value) else masked
    return value


def _mask_run(match: re.Match) -> str:
    """Mask the phones among the digit groups of one run, the longest first, from the left."""
    run = match.group()
    groups = [(g.start(), g.end(), g.group().translate(_FULL_WIDTH_DIGITS)) for g in _GROUP.finditer(run)]
    plus = run[0] in "+\uff0b"
    masked = list(run)
    first = 0
    while first < len(groups):
        phone = _longest_phone(groups, first, plus=plus and first == 0)
        if phone is None:
            first += 1
            continue
        last, prefix = phone
        positions = [i for start, end, _ in groups[first : last + 1] for i in range(start, end)][prefix:]
        for i in positions[_KEPT_AT_START : len(positions) - _KEPT_AT_END]:
            masked[i] = "*"
        first = last + 1
    return "".join(masked)


def _longest_phone(groups: list[tuple[int, int, str]], first: int, *, plus: bool) -> tuple[int, int] | None:
    """(last group, length of its country prefix) of the longest phone starting at group `first`, if any."""
    candidates = []
    digits = ""
    for last in range(first, len(groups)):
        digits += groups[last][2]
        if len(digits) > _MAX_PHONE_DIGITS:
            break
        candidates.append((last, digits))
    for last, digits in reversed(candidates):
        prefix = _country_prefix_length(digits, plus=plus)
        if prefix is not None:
            return last, prefix
    return None


def _country_prefix_length(digits: str, *, plus: bool) -> int | None:
    """How many leading digits are a country code when `digits` are a phone number; None when they are not one."""
    if plus:
        if digits.startswith("86") and MIN_PHONE_DIGITS <= len(digits) - 2 <= 11:
            return 2
        return 0 if MIN_PHONE_DIGITS <= len(digits) <= 15 else None
    if digits.startswith("0086") and MIN_PHONE_DIGITS <= len(digits) - 4 <= 12:
        return 4
    if digits.startswith("86") and len(digits) == 13 and digits[2] == "1":
        return 2
    if len(digits) == 11 and digits[0] == "1":
        return 0
    if digits[0] == "0" and 10 <= len(digits) <= 12:
        return 0
    return None
