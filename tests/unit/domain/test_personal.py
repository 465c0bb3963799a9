"""Masking rules for personal data, and which fields are personal."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain import personal
from gateway.domain.personal import (
    PERSONAL_FIELDS,
    mask_caller,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_strings,
    mask_text,
)


def test_the_personal_fields_are_read_from_the_schema_marks() -> None:
    assert PERSONAL_FIELDS == ("name", "phone", "id_number")


def test_a_mobile_number_keeps_its_first_three_and_last_four_digits() -> None:
    assert mask_phone("13812345678") == "138****5678"


def test_a_landline_and_an_international_number_keep_the_same_ends() -> None:
    assert mask_phone("020-12345678") == "020*****5678"
    assert mask_phone("+8613812345678") == "+86*******5678"


def test_a_short_number_keeps_only_its_last_two_digits() -> None:
    assert mask_phone("12345") == "***45"
    assert mask_phone("110") == "*10"


def test_a_name_keeps_its_first_character() -> None:
    assert mask_name("陈女士") == "陈**"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("王") == "*"


def test_an_id_number_keeps_its_first_three_and_last_four_characters() -> None:
    assert mask_id_number("44010619900101123X") == "440***********123X"


def test_a_caller_is_masked_field_by_field_and_keeps_its_confidential_flag() -> None:
    caller = {"name": "陈女士", "phone": "13812345678", "id_number": None, "confidential": True}
    assert mask_caller(caller) == {
        "name": "陈**",
        "phone": "138****5678",
        "id_number": None,
        "confidential": True,
    }
    assert caller["phone"] == "13812345678"  # the original is left alone
    assert mask_caller(None) is None


def test_numbers_in_free_text_are_masked() -> None:
    text = "来电人13812345678（身份证44010619900101123X，座机020-87654321）+86 13900001111"
    assert mask_text(text) == (
        "来电人138****5678（身份证440***********123X，座机020*****4321）+86********1111"
    )


def test_ids_digests_and_timestamps_are_left_alone() -> None:
    text = (
        "wo_019a2b3c4d5e13812345678abc msg_13812345678f digest 0123456789abcdef13812345678 "
        "at 1764000000.123 took 1764000000123 ms on 2026-11-24"
    )
    assert mask_text(text) == text


def test_every_string_in_nested_data_is_masked_and_numbers_stay_numbers() -> None:
    data = {"reason": "请回电13812345678", "list": ["44010619900101123X", 13812345678], "n": 1}
    assert mask_strings(data) == {
        "reason": "请回电138****5678",
        "list": ["440***********123X", 13812345678],
        "n": 1,
    }


def _masked_the_long_way(text: str) -> str:
    """mask_text without its shortcut for texts with no seven digits in a row."""
    text = personal.ID_NUMBER.sub(lambda m: personal.mask_id_number(m.group()), text)
    text = personal.MOBILE.sub(lambda m: personal.mask_phone(m.group()), text)
    return personal.LANDLINE.sub(lambda m: personal.mask_phone(m.group()), text)


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=6),
            st.from_regex(r"\+?(86)?[ \-]?1[3-9][0-9]{9}", fullmatch=True),
            st.from_regex(r"0[1-9][0-9]{1,2}-[0-9]{6,8}", fullmatch=True),
            st.from_regex(r"[1-9][0-9]{16}[0-9Xx]", fullmatch=True),
            st.text(alphabet="0123456789-xX+ 号", max_size=20),
        ),
        max_size=5,
    ).map("".join)
)
def test_the_shortcut_masks_what_the_three_patterns_mask(text: str) -> None:
    assert mask_text(text) == _masked_the_long_way(text)
