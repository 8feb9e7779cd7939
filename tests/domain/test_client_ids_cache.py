"""A client order id is remembered per order key (client_ids.tagged_client_order_id): the
very id the key's hash gives, and never one key's id for another key (lessons B2, B4)."""

from __future__ import annotations

from runner.domain.client_ids import read_tags, tagged_client_order_id


def test_a_remembered_id_is_the_hashed_one_and_keys_differing_in_type_stay_apart() -> None:
    plain = tagged_client_order_id.__wrapped__  # the uncached function
    first = tagged_client_order_id("s", "s-1", True, 0, "open", "entry", 1)
    assert first == plain("s", "s-1", True, 0, "open", "entry", 1)
    assert tagged_client_order_id("s", "s-1", True, 0, "open", "entry", 1) == first
    # 1 == True in a dict key, but the reason text of the id differs ("1" / "True")
    as_bool = tagged_client_order_id("s", "s-1", True, 0, "open", "entry", True)
    assert as_bool == plain("s", "s-1", True, 0, "open", "entry", True)
    assert as_bool != first
    closing = tagged_client_order_id("s", "s-1", False, 0, "open", "entry", 1)
    assert read_tags(closing).opening is False
    assert read_tags(first).opening is True
