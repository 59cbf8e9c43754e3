from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, given
from hypothesis import strategies as st

from devices.validators import (
    mac_search_digits,
    normalize_hwid,
    normalize_mac,
    normalize_mac_list,
)

CANONICAL = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


@pytest.mark.parametrize(
    "typed",
    [
        "00:0C:29:F2:7A:29",
        "00-0c-29-f2-7a-29",
        "000c.29f2.7a29",
        "000c29f27a29",
        "000C29F27A29",
        "  00:0c:29:f2:7a:29 ",
        "00 : 0c : 29 : f2 : 7a : 29",
        "00-0C-29-f2-7A-29\t",
    ],
)
def test_it_accepts_every_common_mac_notation(typed):
    assert normalize_mac(typed) == "00:0c:29:f2:7a:29"


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "00:0c:29:f2:7a", "00:0c:29:f2:7a:29:11", "zz:0c:29:f2:7a:29", "0x000c29f27a29", "12345", "00 0c 29 f2 7a 29", "+000c29f27a29", "0C:29:F2", "1:2:3", "00:0c-29:f2:7a:29"],
)
def test_it_refuses_what_is_not_a_mac(typed):
    with pytest.raises(ValidationError):
        normalize_mac(typed)


def test_a_refused_mac_message_shows_what_was_typed():
    with pytest.raises(ValidationError) as caught:
        normalize_mac("00:0c:29:zz:7a:29")
    assert "'00:0c:29:zz:7a:29'" in caught.value.messages[0]


@given(st.text())
def test_any_string_either_normalizes_or_raises_validation_error(text):
    try:
        mac = normalize_mac(text)
    except ValidationError:
        return
    assert CANONICAL.match(mac)
    assert normalize_mac(mac) == mac


@given(st.binary(min_size=6, max_size=6), st.sampled_from(["{}:{}:{}:{}:{}:{}", "{}-{}-{}-{}-{}-{}", "{}{}.{}{}.{}{}", "{}{}{}{}{}{}"]), st.booleans())
def test_every_notation_of_one_mac_gives_the_same_canonical_form(octets, pattern, upper):
    assume(not octets[0] & 1 and any(octets))  # a device's own (unicast, non-zero) MAC
    pairs = [f"{b:02x}" for b in octets]
    typed = pattern.format(*pairs)
    typed = typed.upper() if upper else typed
    assert normalize_mac(typed) == ":".join(pairs)


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("ff:ff:ff:ff:ff:ff", "broadcast address"),
        ("FF-FF-FF-FF-FF-FF", "broadcast address"),
        ("01:00:5e:00:00:01", "multicast address"),
        ("0100.5e00.0001", "multicast address"),
        ("33-33-00-00-00-01", "multicast address"),
        ("03:00:00:00:00:00", "multicast address"),
        ("00:00:00:00:00:00", "all-zero address"),
        ("000000000000", "all-zero address"),
    ],
)
def test_it_refuses_broadcast_multicast_and_all_zero_macs_saying_why(typed, why):
    with pytest.raises(ValidationError) as caught:
        normalize_mac(typed)
    (message,) = caught.value.messages
    assert why in message and "give the device's own MAC address" in message


@pytest.mark.parametrize("typed", ["02:00:00:00:00:01", "00:00:00:00:00:01", "fe:ff:ff:ff:ff:ff"])
def test_unicast_macs_next_to_the_special_ones_are_accepted(typed):
    assert normalize_mac(typed) == typed


def test_a_mac_list_keeps_order_and_reports_every_bad_entry():
    assert normalize_mac_list("00-0C-29-F2-7A-29\n000c29f27a30, 000c.29f2.7a31") == [
        "00:0c:29:f2:7a:29",
        "00:0c:29:f2:7a:30",
        "00:0c:29:f2:7a:31",
    ]
    with pytest.raises(ValidationError) as caught:
        normalize_mac_list("bad1 00:0c:29:f2:7a:29 bad2 00-0C-29-F2-7A-29")
    messages = caught.value.messages
    assert len(messages) == 3
    assert "'bad1'" in messages[0] and "'bad2'" in messages[1] and "twice" in messages[2]


@pytest.mark.parametrize("typed", ["1dc0aaaa292ce801f5379042d68bb6cb", "6WXJURV8QAM0I7KC", "HWID_123-x", "a" * 64])
def test_it_accepts_hwids_in_the_documented_styles(typed):
    assert normalize_hwid(f"  {typed} ") == typed


@pytest.mark.parametrize("typed", ["has space", "semi;colon", "ünicode", "a" * 65, "<script>"])
def test_it_refuses_bad_hwids_with_a_clear_message(typed):
    with pytest.raises(ValidationError) as caught:
        normalize_hwid(typed)
    assert "HWID" in caught.value.messages[0]


def test_an_empty_hwid_is_none():
    assert normalize_hwid("  ") is None
    assert normalize_hwid(None) is None


@given(st.text())
def test_any_string_either_is_a_hwid_or_raises_validation_error(text):
    try:
        hwid = normalize_hwid(text)
    except ValidationError:
        return
    assert hwid is None or re.fullmatch(r"[A-Za-z0-9_-]{1,64}", hwid)


@pytest.mark.parametrize(
    "typed, digits",
    [("0C-29-F2", "0c29f2"), ("00:0c:29:f2:7a:29", "000c29f27a29"), ("000c.29f2", "000c29f2"), ("ws-01", None), ("a", None)],
)
def test_search_reads_partial_macs_in_any_notation(typed, digits):
    assert mac_search_digits(typed) == digits
