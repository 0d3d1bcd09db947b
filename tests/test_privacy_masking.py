"""The one masking function for phones people typed into text, and what it leaves alone."""

import re

import pytest

from contacts.privacy import (
    PHONE_RUN_PATTERN,
    looks_like_phone_search,
    mask_phones_in_data,
    mask_phones_in_text,
    phone_search_digits,
)

MASKED = [
    pytest.param("13912345678", "139****5678", id="mobile"),
    pytest.param("139 1234 5678", "139 **** 5678", id="mobile with spaces"),
    pytest.param("139-1234-5678", "139-****-5678", id="mobile with dashes"),
    pytest.param("139.1234.5678", "139.****.5678", id="mobile with dots"),
    pytest.param("1391234 5678", "139**** 5678", id="mobile oddly grouped"),
    pytest.param("+86 139 1234 5678", "+86 139 **** 5678", id="+86 and spaces"),
    pytest.param("+8613912345678", "+86139****5678", id="+86 joined"),
    pytest.param("(+86) 139-1234-5678", "(+86) 139-****-5678", id="+86 in parentheses"),
    pytest.param("0086 13912345678", "0086 139****5678", id="0086"),
    pytest.param("86-139-1234-5678", "86-139-****-5678", id="86 without +"),
    pytest.param("010-12345678", "010-****5678", id="Beijing landline"),
    pytest.param("0755 1234 5678", "075* **** 5678", id="Shenzhen landline with spaces"),
    pytest.param("(010) 1234-5678", "(010) ****-5678", id="area code in parentheses"),
    pytest.param("+86 10 1234 5678", "+86 10 1*** 5678", id="landline after +86"),
    pytest.param("+852 9123 4567", "+852 **** 4567", id="Hong Kong"),
    pytest.param("１３９１２３４５６７８", "１３９****５６７８", id="full-width digits"),
    pytest.param("１３９ １２３４ ５６７８", "１３９ **** ５６７８", id="full-width digits with spaces"),
    pytest.param(
        "爸爸手机 139 1234 5678，微信同号", "爸爸手机 139 **** 5678，微信同号", id="the teacher's description"
    ),
    pytest.param("手机13912345678微信", "手机139****5678微信", id="between words"),
    pytest.param("13912345678 13812345678", "139****5678 138****5678", id="two mobiles"),
    pytest.param("13912345678/13812345678", "139****5678/138****5678", id="two mobiles with a slash"),
    pytest.param(
        "2026-11-29 来电 139 1234 5678 09:30", "2026-11-29 来电 139 **** 5678 09:30", id="between a date and a time"
    ),
    pytest.param("2026 13912345678", "2026 139****5678", id="after a number on the same run"),
]

KEPT = [
    pytest.param("2026-11-29", id="date"),
    pytest.param("2026.11.29", id="date with dots"),
    pytest.param("2026年11月29日 09:30", id="date in Chinese and time"),
    pytest.param("12:30-13:45", id="times"),
    pytest.param("学号 20230415", id="student number"),
    pytest.param("学号 2023041512", id="ten-digit student number"),
    pytest.param("学籍号 G110101201001011234", id="student registry number"),
    pytest.param("金额 1,234.56 元", id="amount"),
    pytest.param("三年级2班", id="class"),
    pytest.param("8765 4321", id="local number without area code"),
    pytest.param("createtime 1525779812", id="unix time"),
    pytest.param("3.14159265358979", id="decimal"),
    pytest.param("139****5678", id="already masked"),
    pytest.param("139 **** 5678", id="already masked with spaces"),
    pytest.param("", id="empty"),
    pytest.param("李四", id="no digits"),
]


@pytest.mark.parametrize(("text", "masked"), MASKED)
def test_it_masks_a_phone_written_as(text, masked):
    assert mask_phones_in_text(text) == masked


@pytest.mark.parametrize("text", KEPT)
def test_it_keeps_numbers_that_are_not_phones(text):
    assert mask_phones_in_text(text) == text


@pytest.mark.parametrize(("text", "masked"), MASKED)
def test_masking_twice_changes_nothing_more(text, masked):
    assert mask_phones_in_text(masked) == masked


@pytest.mark.parametrize(("text", "masked"), MASKED)
def test_the_database_pattern_finds_every_text_the_masking_changes(text, masked):
    # Searches for a viewer skip the texts this pattern finds; it must find every one with a phone.
    assert re.search(PHONE_RUN_PATTERN, text)


@pytest.mark.parametrize("text", ["2026-11-29", "12:30", "三年级2班", "学号 20230415", "139 **** 5678"])
def test_the_database_pattern_leaves_texts_whose_digits_are_all_shown(text):
    assert not re.search(PHONE_RUN_PATTERN, text)


def test_it_keeps_the_text_around_a_phone_as_it_is():
    assert mask_phones_in_text("<b>爸爸</b> 139 1234 5678 & 妈妈") == "<b>爸爸</b> 139 **** 5678 & 妈妈"


def test_a_long_run_of_digits_is_masked_quickly():
    text = " ".join(["5"] * 20000)

    assert mask_phones_in_text(text) == text


def test_a_raw_answer_is_masked_in_every_text_and_number():
    raw = {
        "external_contact": {"name": "13700001111", "subscriber_info": {"remark_mobiles": ["139-1234-5678", "12345"]}},
        "follow_user": [
            {
                "userid": "rocky",
                "description": "爸爸手机 139 1234 5678，微信同号",
                "createtime": 1525779812,
                "remark_mobiles": [13900001111],
            }
        ],
        "is_subscribe": True,
        "phone_as_number": 13812345678,
    }

    assert mask_phones_in_data(raw) == {
        "external_contact": {"name": "137****1111", "subscriber_info": {"remark_mobiles": ["139****5678", "***45"]}},
        "follow_user": [
            {
                "userid": "rocky",
                "description": "爸爸手机 139 **** 5678，微信同号",
                "createtime": 1525779812,
                "remark_mobiles": ["139****1111"],
            }
        ],
        "is_subscribe": True,
        "phone_as_number": "138****5678",
    }


@pytest.mark.parametrize(
    ("term", "is_phone_search", "digits"),
    [
        ("13833993737", True, "13833993737"),
        ("138 3399 3737", True, "13833993737"),
        ("138-3399-3737", True, "13833993737"),
        ("+86 138 3399 3737", True, "13833993737"),
        ("０１０－１２３４５６７８", True, "01012345678"),
        ("3737", True, "3737"),
        ("李四 3399", True, ""),
        ("373", False, ""),
        ("2班", False, ""),
        ("李四", False, ""),
    ],
)
def test_a_search_looks_for_a_phone_when_it_holds_four_digits_in_a_row(term, is_phone_search, digits):
    assert looks_like_phone_search(term) is is_phone_search
    assert phone_search_digits(term) == digits
