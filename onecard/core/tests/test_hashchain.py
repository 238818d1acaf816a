"""The canonical form behind the hash chains: different records never read alike, equal ones always do."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from onecard.core import hashchain

UTC_NOON = datetime.datetime(2026, 12, 7, 12, 0, 0, 123456, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (None, ""),  # empty is not missing
        (1, "1"),  # a number is not its text
        (True, 1),  # a flag is not a number
        (0, False),
        ({"a": 1}, '{"a":1}'),  # JSON is not its text
        ([], None),
    ],
)
def test_values_of_different_types_never_read_alike(one, other):
    assert hashchain.encode(one) != hashchain.encode(other)


def test_a_separator_inside_a_text_cannot_forge_the_next_field():
    # given two records that would read alike if fields were only joined by separators
    memo_with_field = [("memo", "a\x1ebusiness_ref=s1:x"), ("business_ref", "")]
    plain = [("memo", "a"), ("business_ref", "x")]
    # then their canonical forms and digests differ
    assert hashchain.canonical(memo_with_field) != hashchain.canonical(plain)
    assert hashchain.digest(memo_with_field) != hashchain.digest(plain)


def test_the_same_instant_in_any_time_zone_reads_alike_and_a_microsecond_counts():
    shanghai = UTC_NOON.astimezone(ZoneInfo("Asia/Shanghai"))
    assert hashchain.encode(shanghai) == hashchain.encode(UTC_NOON) == "t2026-12-07T12:00:00.123456+00:00"
    assert hashchain.encode(UTC_NOON + datetime.timedelta(microseconds=1)) != hashchain.encode(UTC_NOON)
    with pytest.raises(ValueError):
        hashchain.encode(UTC_NOON.replace(tzinfo=None))


def test_json_reads_as_the_database_gives_it_back():
    # key order and whole floats (jsonb turns 1e20 into an integer) do not change the text
    assert hashchain.encode({"b": 1.0, "a": [2, 1e20]}) == hashchain.encode({"a": [2, 10**20], "b": 1})
    assert hashchain.encode({"a": 1.5}) != hashchain.encode({"a": 1})


def test_an_address_reads_alike_however_it_is_spelled():
    assert hashchain.ip_value("2001:DB8::1") == hashchain.ip_value("2001:db8:0:0:0:0:0:1")
    assert hashchain.ip_value("10.0.0.1") != hashchain.ip_value("10.0.0.2")
    assert hashchain.ip_value("") is hashchain.ip_value(None) is None
    assert hashchain.ip_value("not an address") == "not an address"


def test_changed_fields_names_exactly_the_fields_that_differ():
    # given the field hashes of a record
    before = [("kind", "charge"), ("node_id", 3), ("memo", "")]
    stored = hashchain.field_hashes(before)
    assert len(stored) == 3 * hashchain.FIELD_HASH_LENGTH
    # when two of its fields change, then those two are named, in order
    after = [("kind", "refund"), ("node_id", 3), ("memo", None)]
    assert hashchain.changed_fields(after, stored) == ["kind", "memo"]
    assert hashchain.changed_fields(before, stored) == []
    # and stored hashes of the wrong length name every field
    assert hashchain.changed_fields(before, stored[:-1]) == ["kind", "node_id", "memo"]


def test_a_link_depends_on_every_part_and_their_order():
    base = hashchain.link(hashchain.GENESIS_HASH, 7, "a|b", 3)
    assert base == hashchain.link(hashchain.GENESIS_HASH, 7, "a|b", 3)
    assert (
        len(
            {
                base,
                hashchain.link(hashchain.GENESIS_HASH, 7, "a", "b", 3),
                hashchain.link(7, hashchain.GENESIS_HASH, "a|b", 3),
            }
        )
        == 3
    )
