"""Knowledge-base names: the one rule for a valid name, the one way a list is written."""

from __future__ import annotations

import pytest

from chatkb.errors import InvalidInputError
from chatkb.kb_names import check_name, is_valid_name, split_names


@pytest.mark.parametrize("name", ["hr", "HR-2024", "v1.2_docs", "人事", "a" * 64])
def test_valid_names(name: str) -> None:
    assert is_valid_name(name)
    check_name(name)


@pytest.mark.parametrize("name", ["", ".hidden", "-x", "a/b", "..", "a b", "a" * 65])
def test_invalid_names_are_refused_with_the_rule(name: str) -> None:
    assert not is_valid_name(name)
    with pytest.raises(InvalidInputError, match="up to 64 letters"):
        check_name(name)


def test_a_list_is_split_at_commas_blanks_and_repeats_dropped() -> None:
    assert split_names(" hr, en ,,hr") == ["hr", "en"]
    assert split_names(["hr,en", "zh", " "]) == ["hr", "en", "zh"]
    assert split_names("") == []
